"""The gateway's session cache forgets what identity revokes, and never re-learns a
revoked session from a check that was already under way."""

from __future__ import annotations

import time
import uuid

from contracts.identity import Principal
from gateway.auth import SessionCache
from tests.unit.test_gateway_auth import principal


def cached(user_id: uuid.UUID | None = None) -> Principal:
    wire = principal()
    if user_id is not None:
        wire["user"]["id"] = str(user_id)
    return Principal.from_wire(wire)


def test_revoking_a_user_drops_every_cached_session_of_that_user_only():
    cache = SessionCache()
    laptop, someone_else = cached(), cached()
    phone = cached(laptop.user.id)
    for key, entry in (("laptop", laptop), ("phone", phone), ("other", someone_else)):
        cache.put((key, "198.51.100.7"), entry, checked_since=time.monotonic())

    cache.revoke(laptop.user.id)

    assert cache.get(("laptop", "198.51.100.7")) is None
    assert cache.get(("phone", "198.51.100.7")) is None
    assert cache.get(("other", "198.51.100.7")) == someone_else


def test_revoking_one_session_keeps_the_users_other_sessions():
    cache = SessionCache()
    laptop = cached()
    phone = cached(laptop.user.id)
    cache.put(("laptop", None), laptop, checked_since=time.monotonic())
    cache.put(("phone", None), phone, checked_since=time.monotonic())

    cache.revoke(laptop.user.id, [laptop.session_id])

    assert cache.get(("laptop", None)) is None
    assert cache.get(("phone", None)) == phone


def test_a_check_that_began_before_a_revocation_is_not_cached():
    cache = SessionCache()
    entry = cached()
    began = time.monotonic()  # identity said "valid" ...
    cache.revoke(entry.user.id)  # ... but the revocation overtook the answer

    cache.put(("token", None), entry, checked_since=began)
    cache.put(("later", None), entry, checked_since=time.monotonic())

    assert cache.get(("token", None)) is None
    assert cache.get(("later", None)) == entry


def test_clearing_forgets_everything_and_checks_under_way_are_not_cached():
    cache = SessionCache()
    entry = cached()
    began = time.monotonic()
    cache.put(("token", None), entry, checked_since=began)

    cache.clear()
    cache.put(("racing", None), entry, checked_since=began)

    assert cache.get(("token", None)) is None
    assert cache.get(("racing", None)) is None


def test_an_entry_expires_after_its_ttl_even_without_a_revocation():
    cache = SessionCache(ttl=0.05)
    entry = cached()
    cache.put(("token", None), entry, checked_since=time.monotonic())

    time.sleep(0.1)

    assert cache.get(("token", None)) is None
