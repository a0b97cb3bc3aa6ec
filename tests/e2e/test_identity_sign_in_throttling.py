"""Sign-in throttling end to end (docs/http-api.md, "Sign-in throttling"): guessing stays
throttled, and a stranger who knows an email cannot keep its owner out.

Every client address is a distinct ``X-Forwarded-For`` (the suite trusts 127.0.0.1 as its
proxy). The policy's numbers: 5 free failures per (account, address), 20 per address,
10 per account from all addresses together, whose wait never exceeds 60 s and does not
hold an address the account has signed in from before.
"""

from __future__ import annotations

import pytest

from tests.e2e.identity_client import Client, error_code
from tests.e2e.test_identity_journeys import STRONG, confirmed_user

pytestmark = pytest.mark.e2e

PER_ACCOUNT_AT_ADDRESS = 5
PER_ACCOUNT = 10
ACCOUNT_MAX_WAIT = 60


def test_wrong_passwords_from_one_address_throttle_that_address_but_not_the_owner(suite, admin, mail):
    user, _ = confirmed_user(suite, admin, mail)
    stranger = Client(suite.base_url)
    for _ in range(PER_ACCOUNT_AT_ADDRESS + 1):
        assert stranger.sign_in(user["email"], "a wrong guess").status_code == 401

    guessing = stranger.sign_in(user["email"], STRONG)  # even the right password waits there
    owner = Client(suite.base_url).sign_in(user["email"], STRONG)  # from the owner's own address

    assert guessing.status_code == 429 and int(guessing.headers["Retry-After"]) >= 1
    assert owner.status_code == 200, owner.text


def test_guessing_from_many_addresses_is_slowed_and_the_owner_still_gets_in(suite, admin, mail):
    user, home = confirmed_user(suite, admin, mail)  # signed in once from "home"
    for _ in range(PER_ACCOUNT + 1):
        assert Client(suite.base_url).sign_in(user["email"], "a wrong guess").status_code == 401

    guess = Client(suite.base_url).sign_in(user["email"], "another guess")
    owner_elsewhere = Client(suite.base_url).sign_in(user["email"], STRONG)
    owner_at_home = Client(suite.base_url, ip=home.ip).sign_in(user["email"], STRONG)

    assert guess.status_code == 429 and error_code(guess) == "throttled"
    assert 1 <= int(guess.headers["Retry-After"]) <= ACCOUNT_MAX_WAIT
    # A new address waits too, but never longer than the ceiling's cap ...
    assert owner_elsewhere.status_code == 429
    assert int(owner_elsewhere.headers["Retry-After"]) <= ACCOUNT_MAX_WAIT
    # ... and an address the account has signed in from before is not held at all.
    assert owner_at_home.status_code == 200, owner_at_home.text
