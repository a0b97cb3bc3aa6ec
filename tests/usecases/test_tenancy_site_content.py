"""Support contacts, Partner Zone and Resources: the portal's example content until an
operator publishes its own; each change is announced naming what it touched."""

from __future__ import annotations

import pytest

from contracts.errors import PermissionDenied
from contracts.site_content import PublishedLink, SiteContent, SupportPhone
from services.tenancy.usecases import site_content
from tests.usecases.tenancy_world import World, admin_of, build_world, operator


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def read(world: World, caller=None):
    uow = world.db.unit_of_work(caller or admin_of(world.distributor))
    return site_content.get_site_content(uow, uow.context)


def publish(world: World, content: SiteContent, caller=None):
    uow = world.db.unit_of_work(caller or operator())
    return site_content.update_site_content(uow, uow.context, content)


def test_everyone_reads_the_portals_example_content_until_an_operator_publishes(world):
    shown = read(world)

    assert shown.version == 0 and shown.updated_at is None
    assert [link.title for link in shown.resources] == ["About", "Knowledge Base", "Security", "Privacy"]
    assert {phone.region for phone in shown.support_phones} == {"USA", "Australia", "UK"}
    assert shown.partner_zone and shown.support_emails


def test_an_operator_publishes_and_the_change_names_the_sections_it_touched(world):
    before = read(world)
    changed = SiteContent(**{**before.model_dump(exclude={"version", "updated_at"}),
                             "support_phones": [SupportPhone(region="Canada", phone="+1 (555) 010-0142")],
                             "partner_zone": [PublishedLink(title="Deal registration",
                                                            url="https://portal.example/deals")]})

    first = publish(world, changed)
    again = publish(world, changed)  # the same document: no new version, nothing announced

    assert first.version == 1 and again.version == 1
    assert [p.region for p in read(world).support_phones] == ["Canada"]
    events = world.db.events("site_content_changed")
    assert len(events) == 1
    assert events[0]["payload"]["sections"] == ["support_phones", "partner_zone"]
    assert events[0]["payload"]["version"] == 1


def test_only_an_operator_publishes(world):
    with pytest.raises(PermissionDenied):
        publish(world, SiteContent(), caller=admin_of(world.distributor))
    assert read(world).version == 0
