"""The hash chain: canonical hashing and finding the first broken link (services/audit/domain/chain.py)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone

from contracts.audit import Activity, AuditStatus
from services.audit.domain.chain import GENESIS_HASH, Anchor, Link, canonical, first_break, link_hash
from services.audit.domain.entries import AuditFields

TENANT = uuid.uuid4()
T0 = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)


def fields(n: int) -> AuditFields:
    return AuditFields(event_id=uuid.uuid4(), tenant_id=TENANT, occurred_at=T0 + timedelta(minutes=n),
                       activity=Activity.SIGN_IN, status=AuditStatus.COMPLETED, description=f"entry {n}",
                       source="identity", event_type="signed_in", performed_by="d@x.example", ip="203.0.113.7")


def chain(count: int, anchor_seq: int = 0, anchor_hash: str = GENESIS_HASH) -> list[Link]:
    links, prev = [], anchor_hash
    for seq in range(anchor_seq + 1, anchor_seq + count + 1):
        f = fields(seq)
        digest = link_hash(f, seq, prev)
        links.append(Link(f, seq, prev, digest))
        prev = digest
    return links


def anchored(links: list[Link], anchor_seq: int = 0, anchor_hash: str = GENESIS_HASH) -> Anchor:
    return Anchor(anchor_seq, anchor_hash, links[-1].seq if links else anchor_seq,
                  links[-1].hash if links else anchor_hash)


def test_an_untouched_chain_has_no_break():
    links = chain(5)

    assert first_break(links, anchored(links)) is None


def test_the_hash_covers_every_field_the_place_and_the_previous_hash():
    f = fields(1)
    digest = link_hash(f, 1, GENESIS_HASH)

    assert link_hash(dataclasses.replace(f, description="entry one"), 1, GENESIS_HASH) != digest
    assert link_hash(dataclasses.replace(f, ip=None), 1, GENESIS_HASH) != digest
    assert link_hash(dataclasses.replace(f, occurred_at=f.occurred_at + timedelta(microseconds=1)), 1,
                     GENESIS_HASH) != digest
    assert link_hash(f, 2, GENESIS_HASH) != digest
    assert link_hash(f, 1, "f" * 64) != digest


def test_the_canonical_form_is_stable_json_in_utc():
    f = fields(1)
    elsewhere = dataclasses.replace(f, occurred_at=f.occurred_at.astimezone(timezone(timedelta(hours=-5))))

    text = canonical(f, 1, GENESIS_HASH).decode()
    assert canonical(elsewhere, 1, GENESIS_HASH) == canonical(f, 1, GENESIS_HASH)
    assert '"occurred_at":"2026-11-26T10:01:00.123456Z"' in text
    assert '"activity":"sign_in"' in text and '"account_id":null' in text and '"v":1' in text


def test_an_edited_entry_is_the_first_break():
    links = chain(5)
    links[2] = dataclasses.replace(links[2], fields=dataclasses.replace(links[2].fields, description="nothing here"))

    found = first_break(links, anchored(links))

    assert found is not None
    assert (found.seq, found.problem, found.event_id) == (3, "hash_mismatch", links[2].fields.event_id)


def test_an_entry_rehashed_after_an_edit_breaks_the_next_link():
    links = chain(5)
    edited = dataclasses.replace(links[1].fields, description="rewritten")
    links[1] = Link(edited, 2, links[1].prev_hash, link_hash(edited, 2, links[1].prev_hash))

    found = first_break(links, anchored(chain(5)))

    assert found is not None and (found.seq, found.problem) == (3, "prev_hash_mismatch")


def test_a_deleted_entry_shows_as_missing():
    links = chain(5)
    head = anchored(links)
    del links[1]

    found = first_break(links, head)

    assert found is not None and (found.seq, found.problem) == (2, "missing_entries")


def test_deleted_newest_entries_show_against_the_head():
    links = chain(5)
    head = anchored(links)

    found = first_break(links[:3], head)

    assert found is not None and (found.seq, found.problem) == (4, "missing_tail")


def test_a_purged_chain_verifies_from_its_anchor():
    whole = chain(6)
    anchor_seq, anchor_hash = 3, whole[2].hash
    kept = whole[3:]

    assert first_break(kept, anchored(kept, anchor_seq, anchor_hash)) is None
    assert first_break(kept[1:], anchored(kept, anchor_seq, anchor_hash)) is not None


def test_an_empty_chain_at_its_anchor_holds():
    assert first_break([], Anchor(0, GENESIS_HASH, 0, GENESIS_HASH)) is None
    assert first_break([], Anchor(0, GENESIS_HASH, 2, "a" * 64)) is not None
