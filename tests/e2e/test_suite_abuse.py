"""Abuse limits end to end: sign-in throttling under bursts, oversized and deeply nested bodies.

Bursts are sent in parallel (8 at a time), the way a password-guessing tool would; each
client address is a distinct ``X-Forwarded-For`` (the suite trusts 127.0.0.1 as its proxy).
How many guesses identity really checked is read from its throttle table: a burst may also
be answered 503 where a queued sign-in outlived the gateway's RPC deadline (an error, not a
hang; identity still counts it when it gets to it).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from servicekit.settings import normalise_database_url
from services.identity.adapters.models import SignInThrottle
from services.identity.domain.throttle import PER_ACCOUNT, PER_ADDRESS, Limit, Throttle
from tests.e2e.identity_client import Client, new_distributor_admin, unique_ip
from tests.e2e.matrix_world import PASSWORD
from tests.support.fixtures import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BURST = 60
PARALLEL = 8


def guesses_allowed(free: int, seconds: float) -> int:
    """What the throttle may check in a burst of ``seconds``: the free tries, the attempts
    already in flight when the last free one failed, and one try per back-off that ran out
    during the burst (1, 2, 4 … s: at most log2(seconds + 1) + 1 of them). More would mean
    parallel attempts slipped through together when a back-off ended."""
    return free + PARALLEL + math.floor(math.log2(seconds + 1)) + 1


def burst(attempts: list[tuple[str, str, str]], base_url: str) -> tuple[Counter[int], float]:
    started = time.monotonic()
    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = Counter(pool.map(lambda a: attempt(base_url, *a), attempts))
    return statuses, time.monotonic() - started
FIGURES: dict[str, Any] = {}


def attempt(base_url: str, email: str, password: str, ip: str) -> int:
    return Client(base_url, ip=ip).sign_in(email, password).status_code


def back_off_left(suite: Any, key: str, limit: Limit) -> int:
    """Seconds the key's back-off still runs, by identity's own rule on its stored count."""
    engine = sa.create_engine(normalise_database_url(suite.env["IDENTITY_DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.select(SignInThrottle.failures, SignInThrottle.last_failure_at)
                                     .where(SignInThrottle.key == key)).one()
    finally:
        engine.dispose()
    return Throttle(row.failures, row.last_failure_at).retry_after(datetime.now(UTC), limit.free, limit.max_wait)


def checked_guesses(suite: Any, key: str, at_least: int) -> int:
    """The failures identity counted for ``key``, once the queued attempts are through."""
    engine = sa.create_engine(normalise_database_url(suite.env["IDENTITY_DATABASE_URL"]))
    try:
        def count() -> int:
            with engine.connect() as connection:
                value = connection.execute(sa.select(SignInThrottle.failures).where(SignInThrottle.key == key)).scalar()
            return int(value or 0)

        seen: list[int] = []

        def settled() -> bool:  # the same count twice, a second apart
            seen.append(count())
            return len(seen) > 1 and seen[-1] == seen[-2] and seen[-1] >= at_least

        wait_for(settled, timeout=60, interval=1, message=f"the sign-in count of {key} to settle")
        return seen[-1]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def victim(suite) -> tuple[str, str]:
    """A distributor administrator of its own, so the bursts lock nobody else out."""
    return new_distributor_admin(suite, "Abuse", "abuse.example", PASSWORD), PASSWORD


def test_a_burst_from_one_address_is_throttled_and_the_address_stays_locked(suite):
    ip = unique_ip("198.19")
    emails = [f"guess-{n}-{uuid.uuid4().hex[:6]}@abuse.example" for n in range(BURST)]

    statuses, seconds = burst([(email, "guess", ip) for email in emails], suite.base_url)

    checked = checked_guesses(suite, f"ip:{ip}", statuses[401])
    allowed = guesses_allowed(PER_ADDRESS.free, seconds)
    FIGURES["one_ip"] = {**dict(statuses), "checked": checked, "allowed": allowed}
    print("abuse (one address):", FIGURES["one_ip"])
    assert set(statuses) <= {401, 429, 503}, statuses
    assert PER_ADDRESS.free <= checked <= allowed, (checked, allowed, statuses)
    assert statuses[429] >= BURST - allowed - statuses[503], statuses
    # Still locked afterwards (the back-off has as many seconds to run as the burst took), for
    # any account; another address is not.
    if back_off_left(suite, f"ip:{ip}", PER_ADDRESS) >= 2:
        assert attempt(suite.base_url, f"next-{uuid.uuid4().hex[:6]}@abuse.example", "guess", ip) == 429
    assert attempt(suite.base_url, f"next-{uuid.uuid4().hex[:6]}@abuse.example", "guess", unique_ip()) == 401


def test_a_burst_from_many_addresses_at_one_account_is_throttled_and_the_owner_still_gets_in(suite, victim):
    email, password = victim
    home = Client(suite.base_url)
    assert home.sign_in(email, password).status_code == 200  # the owner's usual address
    addresses = [unique_ip("198.18") for _ in range(BURST)]

    statuses, seconds = burst([(email, "a wrong guess", ip) for ip in addresses], suite.base_url)

    checked = checked_guesses(suite, f"email:{email.lower()}", statuses[401])
    allowed = guesses_allowed(PER_ACCOUNT.free, seconds)
    FIGURES["one_account"] = {**dict(statuses), "checked": checked, "allowed": allowed}
    print("abuse (one account):", FIGURES["one_account"])
    assert set(statuses) <= {401, 429, 503}, statuses
    assert PER_ACCOUNT.free <= checked <= allowed, (checked, allowed, statuses)
    assert statuses[429] >= BURST - allowed - statuses[503], statuses
    # A fresh address waits while the account-wide back-off runs, never longer than its cap;
    # the owner at an address the account signed in from before is not held by it at all.
    if back_off_left(suite, f"email:{email.lower()}", PER_ACCOUNT) >= 2:
        held = Client(suite.base_url).sign_in(email, password)
        assert held.status_code == 429 and 1 <= int(held.headers["Retry-After"]) <= PER_ACCOUNT.max_wait
    assert Client(suite.base_url, ip=home.ip).sign_in(email, password).status_code == 200


def test_an_oversized_body_is_413_before_any_service_is_asked(suite):
    body = b'{"email": "a@b.example", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    response = requests.post(suite.base_url + "/api/v1/auth/sign-in", data=body, timeout=30,
                             headers={"content-type": "application/json", "X-Forwarded-For": unique_ip()})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_streamed_oversized_body_without_length_is_cut_off_with_413(suite):
    def chunks() -> Any:
        yield b'{"email": "a@b.example", "password": "'
        for _ in range(64):
            yield b"x" * 65536  # 4 MiB in all
        yield b'"}'

    response = requests.post(suite.base_url + "/api/v1/auth/sign-in", data=chunks(), timeout=30,
                             headers={"content-type": "application/json", "X-Forwarded-For": unique_ip()})

    assert response.status_code == 413


def test_deeply_nested_json_is_422_naming_the_body_and_the_gateway_keeps_answering(suite):
    body = '{"email": "a@b.example", "password": "x", "totp_code": ' + "[" * 50_000 + "]" * 50_000 + "}"

    response = requests.post(suite.base_url + "/api/v1/auth/sign-in", data=body, timeout=30,
                             headers={"content-type": "application/json", "X-Forwarded-For": unique_ip()})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body"
    assert suite.get("/healthz").status_code == 200
