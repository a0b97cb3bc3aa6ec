"""Idempotency-key claims: who may run a keyed create, and when a dead instance's claim is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.errors import RequestInProgress
from servicekit.context import REDELIVERED_KEY, context_from_data
from servicekit.request_keys import ABANDONED_AFTER, RequestKeys, request_keys_table
from servicekit.rpc_queues import Rpc

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SCOPE, KEY, DIGEST = "create_account:t:u", "key-1", "d" * 64


@pytest.fixture
def keys() -> RequestKeys:
    metadata = sa.MetaData()
    table = request_keys_table(metadata)
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    return RequestKeys(Session(engine), table)


def test_a_second_request_while_the_first_runs_is_told_it_is_in_progress(keys: RequestKeys) -> None:
    assert keys.claim(SCOPE, KEY, DIGEST, NOW) is None

    with pytest.raises(RequestInProgress):
        keys.claim(SCOPE, KEY, DIGEST, NOW + timedelta(seconds=2))


def test_the_redelivery_of_a_request_whose_instance_died_takes_its_claim_over_at_once(keys: RequestKeys) -> None:
    assert keys.claim(SCOPE, KEY, DIGEST, NOW) is None  # the instance that was killed

    assert keys.claim(SCOPE, KEY, DIGEST, NOW + timedelta(seconds=2), redelivered=True) is None


def test_a_claim_left_without_an_answer_is_taken_over_once_abandoned(keys: RequestKeys) -> None:
    keys.claim(SCOPE, KEY, DIGEST, NOW)

    assert keys.claim(SCOPE, KEY, DIGEST, NOW + ABANDONED_AFTER + timedelta(seconds=1)) is None


def test_an_answered_key_answers_again_even_to_a_redelivery(keys: RequestKeys) -> None:
    keys.claim(SCOPE, KEY, DIGEST, NOW)
    keys.answer(SCOPE, KEY, {"id": "a-1"})

    assert keys.claim(SCOPE, KEY, DIGEST, NOW, redelivered=True) == {"id": "a-1"}


def message(redelivered: bool, headers: dict[str, object] | None = None) -> SimpleNamespace:
    return SimpleNamespace(headers=headers or {}, delivery_info={"redelivered": redelivered})


def test_only_the_broker_marks_a_request_as_redelivered_never_a_callers_header() -> None:
    entrypoint = Rpc.__new__(Rpc)  # unpacking headers needs no container

    first = entrypoint.unpack_message_headers(message(False, {f"nameko.{REDELIVERED_KEY}": True}))
    again = entrypoint.unpack_message_headers(message(True, {"nameko.correlation_id": "c-1"}))

    assert context_from_data("tenancy", first).redelivered is False
    assert context_from_data("tenancy", again).redelivered is True
