from datetime import UTC, datetime, timedelta

from services.identity.domain.throttle import (
    FREE_FAILURES,
    FREE_FAILURES_PER_IP,
    MAX_BACKOFF_SECONDS,
    Throttle,
    backoff_seconds,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_first_failures_cost_nothing():
    assert [backoff_seconds(n) for n in range(FREE_FAILURES + 1)] == [0] * (FREE_FAILURES + 1)


def test_each_further_failure_doubles_the_wait():
    waits = [backoff_seconds(FREE_FAILURES + n) for n in range(1, 6)]

    assert waits == [1, 2, 4, 8, 16]


def test_the_wait_is_capped_at_fifteen_minutes():
    assert backoff_seconds(FREE_FAILURES + 11) == MAX_BACKOFF_SECONDS == 900
    assert backoff_seconds(10_000) == 900


def test_an_ip_gets_more_free_failures_than_an_account():
    assert backoff_seconds(20, free=FREE_FAILURES_PER_IP) == 0
    assert backoff_seconds(21, free=FREE_FAILURES_PER_IP) == 1
    assert backoff_seconds(21) > 0


def test_a_key_without_failures_may_try_now():
    assert Throttle(failures=0, last_failure_at=None).retry_after(NOW) == 0
    assert Throttle(failures=FREE_FAILURES, last_failure_at=NOW).retry_after(NOW) == 0


def test_retry_after_counts_down_from_the_last_failure_in_whole_seconds():
    throttle = Throttle(failures=FREE_FAILURES + 4, last_failure_at=NOW)  # 8 s

    assert throttle.retry_after(NOW) == 8
    assert throttle.retry_after(NOW + timedelta(seconds=2.5)) == 6  # rounded up, never 0 too early
    assert throttle.retry_after(NOW + timedelta(seconds=7.9)) == 1
    assert throttle.retry_after(NOW + timedelta(seconds=8)) == 0
    assert throttle.retry_after(NOW + timedelta(hours=1)) == 0


def test_a_per_ip_throttle_uses_its_own_allowance():
    throttle = Throttle(failures=21, last_failure_at=NOW)

    assert throttle.retry_after(NOW, free=FREE_FAILURES_PER_IP) == 1
    assert throttle.retry_after(NOW) == 900


def test_a_naive_last_failure_time_is_read_as_utc():
    throttle = Throttle(failures=FREE_FAILURES + 1, last_failure_at=NOW.replace(tzinfo=None))

    assert throttle.retry_after(NOW) == 1


# ---- the policy: which counts a sign-in waits for, and which a failure adds to --------------

def keys_for(known_address: bool = False, ip: str = "198.51.100.7"):
    from services.identity.domain.throttle import sign_in_keys

    return sign_in_keys("owner@example.com", ip, known_address=known_address)


def test_a_failure_counts_against_the_account_at_the_address_the_address_and_the_account():
    from services.identity.domain.throttle import PER_ACCOUNT, PER_ACCOUNT_AT_ADDRESS, PER_ADDRESS

    keys = keys_for()

    assert sorted(keys.counted.values(), key=lambda limit: limit.free) == [
        PER_ACCOUNT_AT_ADDRESS, PER_ACCOUNT, PER_ADDRESS]
    assert len(set(keys.counted)) == 3
    assert keys.held == keys.counted  # a new address waits for all three


def test_the_account_at_one_address_gets_five_free_tries_then_doubles_to_fifteen_minutes():
    from services.identity.domain.throttle import PER_ACCOUNT_AT_ADDRESS

    assert (PER_ACCOUNT_AT_ADDRESS.free, PER_ACCOUNT_AT_ADDRESS.max_wait) == (5, 900)
    assert [PER_ACCOUNT_AT_ADDRESS.wait_after(n) for n in (5, 6, 7, 8, 100)] == [0, 1, 2, 4, 900]


def test_the_account_wide_ceiling_slows_guessing_but_never_waits_more_than_a_minute():
    from services.identity.domain.throttle import PER_ACCOUNT

    assert PER_ACCOUNT.free == 10
    assert [PER_ACCOUNT.wait_after(n) for n in (10, 11, 12, 16, 17, 10_000)] == [0, 1, 2, 32, 60, 60]


def test_an_address_that_signed_in_to_the_account_before_is_not_held_by_the_account_ceiling():
    new, known = keys_for(known_address=False), keys_for(known_address=True)

    assert known.counted == new.counted  # its failures still count everywhere
    assert set(new.held) - set(known.held) == {next(k for k in new.counted if k.startswith("email:"))}


def test_guessing_at_one_account_from_one_address_leaves_other_addresses_alone():
    from services.identity.domain.throttle import wait_seconds

    store = FakeThrottleStore()
    stranger, owner = keys_for(ip="203.0.113.66"), keys_for(ip="198.51.100.7")
    for _ in range(6):
        store.fail(stranger, NOW)

    assert wait_seconds(store.rows, stranger, NOW) == 1
    assert wait_seconds(store.rows, owner, NOW) == 0


def test_a_day_of_guessing_from_ever_new_addresses_checks_few_guesses_and_never_holds_a_known_address():
    from services.identity.domain.throttle import wait_seconds

    store = FakeThrottleStore()
    home = keys_for(known_address=True, ip="198.51.100.7")
    now, guesses, longest_wait = NOW, 0, 0
    for n in range(100_000):  # a botnet: each guess from a new address, as soon as it is allowed
        guess = keys_for(ip=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
        wait = wait_seconds(store.rows, guess, now)
        longest_wait = max(longest_wait, wait)
        if wait:
            now += timedelta(seconds=wait)
            continue
        store.fail(guess, now)
        guesses += 1
        assert wait_seconds(store.rows, home, now) == 0  # the owner at home is never held
        if now - NOW >= timedelta(days=1):
            break

    assert longest_wait == 60
    assert guesses <= 10 + 24 * 60 + 6  # about one guess a minute after the free ones


class FakeThrottleStore:
    """The failure counts as identity's table keeps them (one row per key)."""

    def __init__(self) -> None:
        self.rows: dict[str, Throttle] = {}

    def fail(self, keys, now: datetime) -> None:
        for key in keys.counted:
            row = self.rows.get(key) or Throttle(failures=0, last_failure_at=None)
            self.rows[key] = Throttle(failures=row.failures + 1, last_failure_at=now)
