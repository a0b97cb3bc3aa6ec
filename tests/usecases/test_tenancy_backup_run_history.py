"""Runs of a subtree within a period, as notify's reports read them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.errors import NotFound
from contracts.tenancy import RunListQuery
from services.tenancy.usecases.backup_run_history import list_backup_runs
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, run


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def query(tenant_id, hours_from=-1, hours_to=24, **paging) -> RunListQuery:
    return RunListQuery(tenant_id=tenant_id, finished_from=NOW + timedelta(hours=hours_from),
                        finished_to=NOW + timedelta(hours=hours_to), **paging)


def test_runs_of_a_partner_within_the_period_come_oldest_first_with_task_and_account(world):
    contoso, fabrikam = world.add_partner("Contoso"), world.add_partner("Fabrikam")
    alpine, litware = world.add_account("Alpine", contoso), world.add_account("Litware", fabrikam)
    alpine_task, litware_task = world.add_task(alpine, name="Mail"), world.add_task(litware)
    world.ingest(run(alpine_task, "partial", hours=2), run(alpine_task, hours=1), run(litware_task, hours=1),
                 run(alpine_task, hours=30))

    uow = world.uow()
    page = list_backup_runs(uow, uow.context, query(contoso.id))

    assert [(r.status, r.account_name, r.task_name) for r in page.items] == [
        ("success", "Alpine", "Mail"), ("partial", "Alpine", "Mail")]
    assert page.total == 2 and page.items[0].owner_id == contoso.id


def test_runs_are_paged_and_another_partners_runs_do_not_exist_for_a_partner(world):
    contoso, fabrikam = world.add_partner("Contoso"), world.add_partner("Fabrikam")
    task = world.add_task(world.add_account("Alpine", contoso))
    world.ingest(*(run(task, hours=h) for h in range(5)))

    uow = world.uow()
    second = list_backup_runs(uow, uow.context, query(contoso.id, page=2, page_size=2))
    assert (len(second.items), second.total) == (2, 5)
    uow = world.uow(admin_of(fabrikam, kind="partner"))
    with pytest.raises(NotFound):
        list_backup_runs(uow, uow.context, query(contoso.id))
