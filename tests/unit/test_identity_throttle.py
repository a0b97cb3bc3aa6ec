from datetime import UTC, datetime, timedelta

from services.identity.throttle import (
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
