"""Billing at scale: a billing run over 100,000 accounts on PostgreSQL (time, peak memory).

    .venv/bin/python bench/billing_bench.py [--scale 1.0] [--output bench/results-billing.json]

1. A fresh PostgreSQL database (``TEST_POSTGRES_URL``, default the local server) is
   migrated and seeded with ``COPY``, as billing's projection of tenancy would have left
   it: at ``--scale 1`` 100 distributors with 10 partners each and 100,000 customer
   accounts (90 % monthly, 10 % annual, 2 % direct; 5 % subscribed and 2 % removed inside
   the month), one or two backup tasks each (~150,000), and each task's protected seats
   observed on two days (the last day of the month before, and one day of the month).
   Ten distributors pay by card (``tok_visa``), the others by invoice.
2. **fill**: the daily clock's snapshot fill, day by day for the month (carrying each
   task's seats forward): what the timer would have done over the month.
3. **run**: ``run_billing`` as of the 1st of this month, in this process on that database:
   per distributor the consolidated bill of its monthly accounts (peak daily seats per
   service, prorated by days), one invoice per annual account, the card charges through
   the local test processor, every bill with its ``invoice_issued`` outbox row.
4. **rerun**: the same run again, which must issue nothing (idempotency at scale).
5. The bills are summed per kind (recorded in the results), and the run must have written
   exactly one line per account it reports billed.

Peak memory is the process's maximum resident set size (``ru_maxrss``) after each phase.
The database is dropped afterwards. Figures are for one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import sessionmaker  # noqa: E402

from contracts.context import Caller  # noqa: E402
from servicekit.context import CallContext  # noqa: E402
from servicekit.db import UnitOfWork, make_engine  # noqa: E402
from servicekit.migrations import upgrade  # noqa: E402
from servicekit.settings import normalise_database_url  # noqa: E402
from services.billing.adapters.price_book_file import load_price_book  # noqa: E402
from services.billing.adapters.processor import LocalTestProcessor  # noqa: E402
from services.billing.domain.billing_plan import days_of  # noqa: E402
from services.billing.domain.periods import month_ended_before  # noqa: E402
from services.billing.usecases import billing_run as runs  # noqa: E402
from services.billing.usecases import projection  # noqa: E402
from tests.support.fixtures import DEFAULT_POSTGRES, fresh_databases  # noqa: E402

SERVICES = ("exchange", "onedrive", "sharepoint", "teams", "gmail", "google_drive", "salesforce", "dropbox", "box")
MIGRATIONS = ROOT / "services" / "billing" / "adapters" / "migrations"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def seed(url: str, scale: float, period_start: date, period_end: date, rng: random.Random) -> dict[str, int]:
    distributors = [uuid.uuid4() for _ in range(max(1, round(100 * scale)))]
    partners = {d: [uuid.uuid4() for _ in range(10)] for d in distributors}
    accounts_total = round(100_000 * scale)
    now = datetime.now(UTC)
    before = period_start - timedelta(days=1)
    counts = {"distributors": len(distributors), "partners": 10 * len(distributors), "accounts": accounts_total,
              "monthly": 0, "annual": 0, "tasks": 0, "snapshots": 0}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY billing_owners (id, kind, parent_id, name, updated_at) FROM STDIN") as copy:
            for index, distributor in enumerate(distributors):
                copy.write_row((distributor, "distributor", None, f"Distributor {index}", now))
                for number, partner in enumerate(partners[distributor]):
                    copy.write_row((partner, "partner", distributor, f"Partner {index}-{number}", now))
        with cursor.copy("COPY billing_profiles (distributor_id, method, currency) FROM STDIN") as copy:
            for index, distributor in enumerate(distributors):
                copy.write_row((distributor, "credit_card" if index % 10 == 0 else "invoice", "USD"))
        with cursor.copy("COPY cards (id, distributor_id, processor, processor_token, brand, last4, exp_month, "
                         "exp_year, fingerprint, active, created_at) FROM STDIN") as copy:
            for index, distributor in enumerate(distributors):
                if index % 10 == 0:
                    copy.write_row((uuid.uuid4(), distributor, "local_test", "tok_visa", "Visa", "4242", 12, 2034,
                                    f"fp{index}", True, now))
        accounts_copy = ("COPY billing_accounts (id, name, email, owner_id, owner_kind, partner_id, distributor_id, "
                         "status, plan, subscribed_at, subscribed_on, removed_at, removed_on, seats, updated_at) "
                         "FROM STDIN")
        tasks: list[tuple[Any, ...]] = []
        snapshots: list[tuple[Any, ...]] = []
        with cursor.copy(accounts_copy) as copy:
            for number in range(accounts_total):
                distributor = distributors[number % len(distributors)]
                direct = rng.random() < 0.02
                partner = None if direct else rng.choice(partners[distributor])
                annual = rng.random() < 0.10
                if annual:
                    subscribed = period_end - timedelta(days=rng.randrange(0, 360))
                    removed = None
                else:
                    roll = rng.random()
                    subscribed = (period_start + timedelta(days=rng.randrange(1, 28)) if roll < 0.05
                                  else period_start - timedelta(days=rng.randrange(1, 400)))
                    removed = period_start + timedelta(days=rng.randrange(0, 25)) if 0.05 <= roll < 0.07 else None
                counts["annual" if annual else "monthly"] += 1
                account = uuid.uuid4()
                service_count = 1 if rng.random() < 0.5 else 2
                total = 0
                for service in rng.sample(SERVICES, service_count):
                    task, seats = uuid.uuid4(), rng.randrange(1, 200)
                    total += seats
                    tasks.append((task, account, service, seats))
                    snapshots.append((task, before, account, max(1, seats - rng.randrange(0, 10)), False))
                    snapshots.append((task, period_start + timedelta(days=rng.randrange(0, 28)), account, seats, False))
                at = datetime.combine(subscribed, datetime.min.time(), tzinfo=UTC)
                removed_at = datetime.combine(removed, datetime.min.time(), tzinfo=UTC) if removed else None
                copy.write_row((account, f"Account {number:06d}", f"it{number}@customer.example",
                                distributor if direct else partner, "distributor" if direct else "partner", partner,
                                distributor, "removed" if removed else "subscribed", "annual" if annual else "monthly",
                                at, subscribed, removed_at, removed, total, now))
        with cursor.copy("COPY billing_tasks (id, account_id, service, seats) FROM STDIN") as copy:
            for row in tasks:
                copy.write_row(row)
        with cursor.copy("COPY usage_snapshots (task_id, day, account_id, seats, carried) FROM STDIN") as copy:
            for row in snapshots:
                copy.write_row(row)
        connection.commit()
        counts["tasks"], counts["snapshots"] = len(tasks), len(snapshots)
        connection.execute("ANALYZE")
    return counts


def count_snapshots(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM usage_snapshots").fetchone()
    return int(row[0]) if row else 0


def bill_totals(url: str) -> dict[str, str]:
    """The bills made, per kind, and their lines."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT kind, count(*), sum(total) FROM invoices GROUP BY kind ORDER BY kind").fetchall()
        lines = connection.execute("SELECT count(*), sum(amount) FROM invoice_lines").fetchone()
    assert lines is not None
    return {"by_kind": {kind: {"invoices": n, "total": str(total)} for kind, n, total in rows},
            "lines": lines[0], "lines_total": str(lines[1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results-billing.json")
    args = parser.parse_args()
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    rng = random.Random(20261201)
    as_of = datetime.now(UTC).date().replace(day=1)
    period = month_ended_before(as_of)
    results: dict[str, Any] = {"benchmark": "billing run", "scale": args.scale, "as_of": as_of.isoformat(),
                               "period": [period.start.isoformat(), period.end.isoformat()],
                               "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform()}}
    with tempfile.TemporaryDirectory() as scratch, fresh_databases(admin_url, scratch) as make_database:
        url = make_database("billing")
        engine = make_engine(normalise_database_url(url))
        upgrade(engine, MIGRATIONS, "billing")
        started = time.perf_counter()
        results["data"] = seed(url, args.scale, period.start, period.end, rng)
        results["seed_seconds"] = round(time.perf_counter() - started, 1)
        factory = sessionmaker(bind=engine, expire_on_commit=False)

        def uow() -> UnitOfWork:
            return UnitOfWork(factory, "billing", CallContext("billing", Caller(is_system=True), "bench"))

        book = load_price_book()
        processor = LocalTestProcessor(Path(scratch) / "processor.db")

        rows_before = count_snapshots(url)
        started = time.perf_counter()
        for day in days_of(period):
            projection.fill_snapshots(uow(), day)
        fill_seconds = time.perf_counter() - started
        added = count_snapshots(url) - rows_before
        results["fill"] = {"days": period.days, "rows_added": added, "seconds": round(fill_seconds, 2),
                           "seconds_per_day": round(fill_seconds / period.days, 3), "peak_rss_mb": peak_rss_mb()}
        print(f"fill: {results['fill']}", flush=True)

        started = time.perf_counter()
        reply = runs.run_billing(uow(), as_of, book, processor)
        run_seconds = time.perf_counter() - started
        results["run"] = {"seconds": round(run_seconds, 2), "accounts_per_second": round(reply.accounts_billed /
                                                                                           run_seconds),
                          "consolidated_invoices": reply.consolidated_invoices,
                          "annual_invoices": reply.annual_invoices, "accounts_billed": reply.accounts_billed,
                          "charges_succeeded": reply.charges_succeeded, "charges_failed": reply.charges_failed,
                          "peak_rss_mb": peak_rss_mb()}
        print(f"run: {results['run']}", flush=True)
        # Every seeded distributor has chosen its method (billing_profiles above): none may be skipped.
        assert not reply.distributors_skipped, f"distributors skipped: {reply.distributors_skipped}"

        started = time.perf_counter()
        again = runs.run_billing(uow(), as_of, book, processor)
        results["rerun"] = {"seconds": round(time.perf_counter() - started, 2),
                            "consolidated_invoices": again.consolidated_invoices,
                            "annual_invoices": again.annual_invoices, "already_billed": again.already_billed,
                            "peak_rss_mb": peak_rss_mb()}
        print(f"rerun: {results['rerun']}", flush=True)
        assert again.consolidated_invoices == again.annual_invoices == 0, "the rerun billed again"
        results["bills"] = bill_totals(url)
        assert results["bills"]["lines"] == reply.accounts_billed
        engine.dispose()
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
