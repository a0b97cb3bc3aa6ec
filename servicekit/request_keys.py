"""Idempotency keys for create requests: a retried create gives the first answer again.

A client that sends ``Idempotency-Key`` with a create (partner, account, user) may retry
after a timeout or a 503 without risking a second object. The owning service keeps, per
caller and operation, the key, a hash of the request and the answer:

- the first request with a key *claims* it (a committed row without an answer), runs
  the create, then stores the answer with the key;
- the same key with the same request answers the stored answer, and creates nothing;
- the same key with another request is refused (422 ``idempotency_key_reused``);
- while the first request still runs, a retry is told so (409 ``request_in_progress``);
- a create that fails frees the key, so a corrected retry may use it again.

The claim commits on its own before the create starts, so no write transaction stays open
across the create's remote calls. Keys are kept for 24 hours. A claim left without an
answer by a process that died mid-create is taken over after ``ABANDONED_AFTER``, or at
once by the redelivery of that very request (the broker gives an unanswered request to
another instance when the first one dies): the client behind a proxy then gets its answer
instead of a 409. The object's unique email still refuses a second copy should the first
instance have committed the create just before it died (409).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.errors import IdempotencyKeyReused, RequestInProgress, ValidationFailed
from servicekit.types import UtcDateTime

T = TypeVar("T")

KEEP_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255


def request_keys_table(metadata: sa.MetaData) -> sa.Table:
    """The table, in a service's own metadata (only services with keyed creates have it)."""
    return sa.Table(
        "request_keys",
        metadata,
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False, index=True),
    )


def request_hash(request: Any) -> str:
    """The same request in any key order hashes the same."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed.for_field("Idempotency-Key", "must be 1 to 255 printable characters")
    return key


class RequestKeys:
    """Claim, answer and release keys, each in a short transaction of its own on ``session``
    (the worker's unit of work; the create's own transaction comes between them)."""

    def __init__(self, session: Session, table: sa.Table) -> None:
        self._session = session
        self._table = table

    def claim(self, scope: str, key: str, digest: str, now: datetime,
              redelivered: bool = False) -> dict[str, Any] | None:
        """None when this request may run; the stored answer when it ran before.
        ``redelivered``: the broker says the instance that claimed it first is gone."""
        table, session = self._table, self._session
        session.execute(table.delete().where(table.c.created_at < now - KEEP_FOR))
        session.commit()
        try:
            session.execute(table.insert().values(scope=scope, key=key, request_hash=digest,
                                                  answer=None, created_at=now))
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
        row = session.execute(
            sa.select(table.c.request_hash, table.c.answer, table.c.created_at)
            .where(table.c.scope == scope, table.c.key == key)
        ).first()
        if row is None:  # released in between: the caller may simply retry
            session.rollback()
            raise RequestInProgress("the first request with this Idempotency-Key has just failed; retry")
        if row.request_hash != digest:
            session.rollback()
            raise IdempotencyKeyReused(
                "Idempotency-Key: already used with a different request",
                {"fields": [{"field": "Idempotency-Key", "reason": "already used with a different request"}]},
            )
        if row.answer is not None:
            session.rollback()
            return dict(row.answer)
        if row.created_at > now - ABANDONED_AFTER and not redelivered:
            session.rollback()
            raise RequestInProgress("a request with this Idempotency-Key is still being handled; retry shortly")
        # Abandoned by a process that died mid-create (long ago, or this is its redelivery): take it over.
        session.execute(table.update().where(table.c.scope == scope, table.c.key == key).values(created_at=now))
        session.commit()
        return None

    def answer(self, scope: str, key: str, answer: dict[str, Any]) -> None:
        table = self._table
        self._session.execute(table.update().where(table.c.scope == scope, table.c.key == key)
                              .values(answer=answer))
        self._session.commit()

    def release(self, scope: str, key: str) -> None:
        table = self._table
        self._session.rollback()
        self._session.execute(table.delete().where(table.c.scope == scope, table.c.key == key,
                                                   table.c.answer.is_(None)))
        self._session.commit()


def keyed_create(operation: str, table: sa.Table
                 ) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorate an RPC entrypoint ``create_*(self, request)`` of a service whose unit of
    work is ``self.db``; it then also takes ``idempotency_key``.

    The key is scoped to the caller (user and tenant) and the operation: two users may
    use the same key for different things.
    """

    def decorate(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(fn)
        def wrapper(self: Any, request: Any, idempotency_key: str | None = None) -> dict[str, Any]:
            if idempotency_key is None:
                return fn(self, request)
            key = check_key(idempotency_key)
            caller = self.context.caller
            scope = f"{operation}:{caller.tenant_id}:{caller.user_id}"
            store = RequestKeys(self.db.session, table)
            stored = store.claim(scope, key, request_hash(request), datetime.now(UTC),
                                 redelivered=self.context.redelivered)
            if stored is not None:
                return stored
            try:
                answer = fn(self, request)
            except BaseException:
                store.release(scope, key)
                raise
            store.answer(scope, key, answer)
            return answer

        # nameko checks a call's arguments against inspect.signature, which would follow
        # __wrapped__ to the undecorated method and refuse ``idempotency_key``.
        del wrapper.__wrapped__
        return wrapper

    return decorate
