"""Sign-in throttling on the real sign-in use case and a real database (docs/http-api.md,
"Sign-in throttling"): guessing stays throttled, and the owner of the account gets in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from contracts.errors import InvalidCredentials, Throttled
from contracts.identity import SignInRequest
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.usecases import authentication as auth
from services.identity.usecases.bootstrap import ensure_demo_administrator
from tests.usecases.test_identity_sign_in import ADMIN_EMAIL, ADMIN_PASSWORD, SETTINGS, TENANT

START = datetime.now(UTC).replace(microsecond=0)
HOME = "198.51.100.7"
STRANGER = "203.0.113.66"


@pytest.fixture
def admin(identity_db) -> None:
    """The account's owner, who has never signed in yet."""
    ensure_demo_administrator(identity_db.unit_of_work(), TENANT, ADMIN_EMAIL, SecretStr(ADMIN_PASSWORD))


def at(ip: str) -> auth.Request:
    return auth.Request(ip=ip, user_agent="pytest")


def attempt(db, ip: str, password: str, now: datetime, email: str = ADMIN_EMAIL):
    return auth.sign_in(db.unit_of_work(), SignInRequest(email=email, password=password), at(ip), SETTINGS,
                        load_secret_box(), now=now)


def guess_from_new_addresses(db, count: int, now: datetime) -> None:
    for n in range(count):
        with pytest.raises(InvalidCredentials):
            attempt(db, f"192.0.2.{n + 1}", "a wrong guess", now)


def test_a_stranger_guessing_from_one_address_is_held_there_and_the_owner_signs_in_elsewhere(identity_db, admin):
    for _ in range(6):
        with pytest.raises(InvalidCredentials):
            attempt(identity_db, STRANGER, "a wrong guess", START)

    with pytest.raises(Throttled) as held:
        attempt(identity_db, STRANGER, ADMIN_PASSWORD, START)  # even the right password waits there
    assert held.value.details["retry_after"] >= 1
    assert attempt(identity_db, HOME, ADMIN_PASSWORD, START).token  # the owner, at another address


def test_guessing_from_many_addresses_is_slowed_but_never_holds_a_new_address_more_than_a_minute(identity_db, admin):
    guess_from_new_addresses(identity_db, 10, START)  # the account-wide free tries
    now, checked, waits = START, 0, []
    for n in range(30):  # then one guess from yet another address whenever allowed
        try:
            attempt(identity_db, f"192.0.2.{100 + n}", "a wrong guess", now)
        except Throttled as throttled:
            waits.append(throttled.details["retry_after"])
            now += timedelta(seconds=throttled.details["retry_after"])
        except InvalidCredentials:
            checked += 1

    assert checked < 20 and max(waits) == 60  # 1, 2, 4 … 32, 60, 60 …
    assert now - START > timedelta(minutes=8)
    owner = attempt(identity_db, HOME, ADMIN_PASSWORD, now + timedelta(seconds=60))  # a new address, after the wait
    assert owner.token


def test_the_owner_signs_in_at_once_from_an_address_used_before_while_guessing_goes_on(identity_db, admin):
    assert attempt(identity_db, HOME, ADMIN_PASSWORD, START - timedelta(days=30)).token
    guess_from_new_addresses(identity_db, 11, START)

    with pytest.raises(Throttled) as elsewhere:
        attempt(identity_db, "198.51.100.200", ADMIN_PASSWORD, START)  # the owner on a new network waits
    at_home = attempt(identity_db, HOME, ADMIN_PASSWORD, START)

    assert 1 <= elsewhere.value.details["retry_after"] <= 60
    assert at_home.token
    with pytest.raises(Throttled):  # and the owner's success gave the guessers no new free tries
        attempt(identity_db, "192.0.2.250", "a wrong guess", START)


def test_an_address_used_only_long_ago_counts_as_new(identity_db, admin):
    assert attempt(identity_db, HOME, ADMIN_PASSWORD, START - timedelta(days=120)).token
    guess_from_new_addresses(identity_db, 11, START)

    with pytest.raises(Throttled):
        attempt(identity_db, HOME, ADMIN_PASSWORD, START)


def test_guessing_from_a_known_address_is_still_held_at_that_address(identity_db, admin):
    assert attempt(identity_db, HOME, ADMIN_PASSWORD, START).token  # e.g. a shared office address
    for _ in range(6):
        with pytest.raises(InvalidCredentials):
            attempt(identity_db, HOME, "a wrong guess", START)

    with pytest.raises(Throttled):
        attempt(identity_db, HOME, "another guess", START)
