"""The hash chain of a tenant's trail. Pure: no nameko, no SQLAlchemy.

Each entry's ``hash`` is SHA-256 over a canonical serialisation of its fields, its place in
the chain (``seq``) and the previous entry's hash (``prev_hash``): editing an entry changes
its hash; deleting one leaves a gap in ``seq`` and a ``prev_hash`` that points nowhere.

The canonical form is JSON with sorted keys, no whitespace, UTF-8; UUIDs as lower-case
strings, the time as ISO 8601 UTC with microseconds, absent values as null. It is part of
the trail's contract: changing it needs a new ``version`` in the serialisation.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.audit.domain.entries import AuditFields

CANONICAL_VERSION = 1
GENESIS_HASH = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value if value is None or isinstance(value, int | str) else str(value)


def canonical(fields: AuditFields, seq: int, prev_hash: str) -> bytes:
    document = {name: _plain(getattr(fields, name)) for name in fields.__dataclass_fields__}
    document.update(v=CANONICAL_VERSION, seq=seq, prev_hash=prev_hash)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(fields: AuditFields, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(fields, seq, prev_hash)).hexdigest()


@dataclass(frozen=True)
class Link:
    """An entry as stored: its fields and its place in the chain."""

    fields: AuditFields
    seq: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Anchor:
    """Where a chain starts (the genesis, or the last entry a retention purge removed) and ends."""

    anchor_seq: int
    anchor_hash: str
    head_seq: int
    head_hash: str


@dataclass(frozen=True)
class Break:
    seq: int
    event_id: uuid.UUID | None
    problem: str
    message: str


def first_break(links: Iterable[Link], anchor: Anchor) -> Break | None:
    """The first place where the stored links (in ``seq`` order) stop being one unbroken chain
    from the anchor to the head, or None when every link holds."""
    expected_seq, expected_prev = anchor.anchor_seq + 1, anchor.anchor_hash
    for link in links:
        event_id = link.fields.event_id
        if link.seq != expected_seq:
            return Break(expected_seq, event_id, "missing_entries",
                         f"entries {expected_seq}..{link.seq - 1} are missing before entry {link.seq}")
        if link.prev_hash != expected_prev:
            return Break(link.seq, event_id, "prev_hash_mismatch",
                         f"entry {link.seq} does not follow the entry before it")
        if link_hash(link.fields, link.seq, link.prev_hash) != link.hash:
            return Break(link.seq, event_id, "hash_mismatch", f"entry {link.seq} was changed after it was written")
        expected_seq, expected_prev = link.seq + 1, link.hash
    if expected_seq - 1 != anchor.head_seq or expected_prev != anchor.head_hash:
        return Break(expected_seq, None, "missing_tail",
                     f"the chain ends at entry {expected_seq - 1} but its head is entry {anchor.head_seq}")
    return None
