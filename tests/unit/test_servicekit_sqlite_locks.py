"""The kit's SQLite engine: a wait for another connection's write lock never stops the eventlet hub."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import eventlet
import sqlalchemy as sa

from servicekit.db import make_engine


def test_a_writer_waiting_for_the_lock_lets_every_other_green_thread_run(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path}/locks.db")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    ticks: list[float] = []
    waited: list[float] = []

    def ticker() -> None:
        for _ in range(30):
            ticks.append(time.monotonic())
            eventlet.sleep(0.05)

    def holder() -> None:  # keeps the write lock for a second, as a slow transaction would
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
            eventlet.sleep(1.0)

    def waiter() -> None:
        eventlet.sleep(0.1)
        started = time.monotonic()
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (2)"))
        waited.append(time.monotonic() - started)

    for thread in [eventlet.spawn(f) for f in (ticker, holder, waiter)]:
        thread.wait()

    longest_pause = max(later - earlier for earlier, later in itertools.pairwise(ticks))
    assert longest_pause < 0.3, f"the hub stood still for {longest_pause:.2f} s"
    assert 0.5 < waited[0] < 3  # it waited for the holder's commit, then wrote
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
