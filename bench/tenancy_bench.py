"""Tenancy at scale: list latency and run-ingest throughput through the real RPC.

    .venv/bin/python bench/tenancy_bench.py [--scale 1.0] [--calls 200] [--output bench/results-tenancy.json]

1. A fresh PostgreSQL database (``TEST_POSTGRES_URL``, default the local server) is
   migrated and seeded with bulk ``COPY``, not through the API: at ``--scale 1`` one
   distributor, 1,000 partners, 100,000 accounts (2 % of them direct), ~200,000 backup
   tasks and 1,000,000 runs. Latest runs and roll-ups are then derived once in SQL, as
   the service would have left them.
2. The tenancy service runs as its own process (``nameko run``, as ``make run`` starts it;
   ``--in-process`` runs it in this one) on that database and a vhost of its own; standalone
   RPC proxies call it as the distributor's administrator, as a partner's administrator,
   and as the backup engine. The kit's ``health`` RPC (one trivial query) is measured too:
   the floor every call pays.
3. Each list query is called ``--calls`` times in a row (p50/p95/p99 in ms).
4. Ingest: batches of new runs for random existing tasks (each newer than the task's
   latest, so every run moves roll-ups), sequentially and from 4 concurrent callers.
   A batch's reply comes after its commit, so runs/s is end to end: accepted → task,
   account and owner roll-ups updated (and one ``backup_runs_recorded`` outbox event per
   batch written, decision 0009).
5. A sample of accounts is recomputed from all their runs and compared with the
   incrementally maintained roll-ups.

The database is dropped afterwards (``--keep-db`` keeps it). Figures are for one machine.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import psycopg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rpc_roundtrip import broker_version, measure  # noqa: E402

from contracts.context import CALLER_KEY, OPERATOR_TENANT_ID, Caller  # noqa: E402
from servicekit.db import make_engine  # noqa: E402
from servicekit.migrations import upgrade  # noqa: E402
from servicekit.settings import normalise_database_url  # noqa: E402
from tests.support.fixtures import DEFAULT_POSTGRES, fresh_vhost  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
SERVICES = ("exchange", "onedrive", "sharepoint", "teams", "gmail", "google_drive", "salesforce", "dropbox", "box")
WORDS = ("North", "Blue", "Cloud", "Harbor", "Summit", "River", "Granite", "Cedar", "Atlas", "Nova", "Pioneer",
         "Vertex", "Maple", "Orion", "Delta", "Echo")


# ---- seeding ---------------------------------------------------------------------------------------------------


class Seed:
    def __init__(self, partners: int, accounts: int, runs: int, rng: random.Random) -> None:
        self.partners, self.accounts, self.runs, self.rng = partners, accounts, runs, rng
        self.distributor = uuid.uuid4()
        self.partner_ids: list[uuid.UUID] = []
        self.account_ids: list[uuid.UUID] = []
        self.task_ids: list[uuid.UUID] = []

    def tenants(self) -> Iterator[tuple[Any, ...]]:
        root_path = f"/{OPERATOR_TENANT_ID}/"
        created = NOW - timedelta(days=400)
        yield (OPERATOR_TENANT_ID, None, "operator", "Operator", None, None, None, None, None, root_path, 0, created,
               "trial_expiring")
        d_path = f"{root_path}{self.distributor}/"
        yield (self.distributor, OPERATOR_TENANT_ID, "distributor", "Bench Distribution", "d@bench.example",
               "d@bench.example", None, "US", "us-east-1", d_path, 1, created, "trial_auto_monthly")
        paths = {}
        for index in range(self.partners):
            partner = uuid.uuid4()
            self.partner_ids.append(partner)
            paths[partner] = f"{d_path}{partner}/"
            name = f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)} IT {index:04d}"
            email = f"partner{index}@msp{index % 50}.example"
            yield (partner, self.distributor, "partner", name, email, email, f"P-B{index:05d}", "US", "us-east-1",
                   paths[partner], 2, created, "trial_expiring")
        direct = max(1, self.accounts // 50)
        self.owner_of: dict[uuid.UUID, uuid.UUID] = {}
        for index in range(self.accounts):
            account = uuid.uuid4()
            owner = self.distributor if index < direct else self.rng.choice(self.partner_ids)
            self.owner_of[account] = owner
            self.account_ids.append(account)
            path = f"{d_path if owner == self.distributor else paths[owner]}{account}/"
            name = f"{self.rng.choice(WORDS)} {self.rng.choice(WORDS)} Customer {index:06d}"
            email = f"it{index}@customer{index}.example"
            yield (account, owner, "account", name, email, email, None, "US", "us-east-1", path,
                   2 if owner == self.distributor else 3, created, "trial_expiring")

    def account_rows(self) -> Iterator[tuple[Any, ...]]:
        for account in self.account_ids:
            roll = self.rng.random()
            if roll < 0.3:  # trials: started up to 20 days ago; those past day 14 are expired
                started = NOW - timedelta(days=self.rng.uniform(0, 20))
                ends = started + timedelta(days=14)
                status = "trial" if ends > NOW else "trial_expired"
                yield (account, self.owner_of[account], "trial_expiring", status, None, None, started, ends, None,
                       ends if status == "trial_expired" else None, started)
            else:
                plan = "monthly" if roll < 0.7 else "annual"
                since = NOW - timedelta(days=self.rng.uniform(20, 400))
                yield (account, self.owner_of[account], f"subscribe_{plan}", "subscribed", plan, None, None, None,
                       since, None, since)

    def task_rows(self) -> Iterator[tuple[Any, ...]]:
        for account in self.account_ids:
            for service in self.rng.sample(SERVICES, self.rng.choices((0, 1, 2, 3), (5, 25, 35, 35))[0]):
                task = uuid.uuid4()
                self.task_ids.append(task)
                yield (task, account, service, service.replace("_", " ").title(), "active", NOW - timedelta(days=30),
                       NOW - timedelta(days=30))

    def run_rows(self) -> Iterator[tuple[Any, ...]]:
        per_task, extra = divmod(self.runs, len(self.task_ids))
        for index, task in enumerate(self.task_ids):
            size = self.rng.randint(1, 500) * 2**28
            seats = self.rng.randint(1, 300)
            count = per_task + (1 if index < extra else 0)
            for day in range(count, 0, -1):
                started = NOW - timedelta(days=day, hours=self.rng.uniform(0, 3))
                status = self.rng.choices(("success", "partial", "failure"), (90, 6, 4))[0]
                size += self.rng.randint(0, 4) * 2**26
                yield (uuid.uuid4(), task, status, started, started + timedelta(minutes=self.rng.randint(5, 90)),
                       size, seats, started + timedelta(hours=2))


DERIVE_SQL = (
    # Latest run per task (by finished_at, then run id), as ingest keeps it.
    """UPDATE backup_tasks t SET runs = l.runs, last_run_id = l.run_id, last_status = l.status,
           last_started_at = l.started_at, last_finished_at = l.finished_at,
           last_size_bytes = l.size_bytes, last_seats = l.seats
       FROM (SELECT DISTINCT ON (task_id) task_id, run_id, status, started_at, finished_at, size_bytes, seats,
                    count(*) OVER (PARTITION BY task_id) AS runs
             FROM backup_runs ORDER BY task_id, finished_at DESC, run_id DESC) l
       WHERE t.id = l.task_id""",
    """UPDATE accounts a SET tasks = s.tasks, size_bytes = s.size, seats = s.seats, tasks_success = s.ok,
           tasks_partial = s.partial, tasks_failure = s.failed,
           backup_status = CASE WHEN s.ok + s.partial + s.failed = 0 THEN 'no_backup'
                                WHEN s.ok = s.ok + s.partial + s.failed THEN 'successful'
                                WHEN s.failed = s.ok + s.partial + s.failed THEN 'failed'
                                ELSE 'partially_failed' END
       FROM (SELECT account_id, count(*) AS tasks, coalesce(sum(last_size_bytes), 0) AS size,
                    coalesce(sum(last_seats), 0) AS seats,
                    count(*) FILTER (WHERE last_status = 'success') AS ok,
                    count(*) FILTER (WHERE last_status = 'partial') AS partial,
                    count(*) FILTER (WHERE last_status = 'failure') AS failed
             FROM backup_tasks GROUP BY account_id) s
       WHERE a.id = s.account_id""",
    """INSERT INTO owner_rollups (owner_id, kind, path, accounts, tasks, size_bytes, seats, backup_no_backup,
                                 backup_successful, backup_partially_failed, backup_failed)
       SELECT t.id, t.kind, t.path, count(a.id), coalesce(sum(a.tasks), 0), coalesce(sum(a.size_bytes), 0),
              coalesce(sum(a.seats), 0),
              count(a.id) FILTER (WHERE a.backup_status = 'no_backup'),
              count(a.id) FILTER (WHERE a.backup_status = 'successful'),
              count(a.id) FILTER (WHERE a.backup_status = 'partially_failed'),
              count(a.id) FILTER (WHERE a.backup_status = 'failed')
       FROM tenants t LEFT JOIN accounts a ON a.owner_id = t.id AND a.status <> 'removed'
       WHERE t.kind IN ('distributor', 'partner') GROUP BY t.id, t.kind, t.path""",
    """UPDATE owner_rollups r SET partners_below = s.partners
       FROM (SELECT d.id, count(p.id) AS partners FROM tenants d
             JOIN tenants p ON p.kind = 'partner' AND p.path LIKE d.path || '%'
             WHERE d.kind = 'distributor' GROUP BY d.id) s
       WHERE r.owner_id = s.id""",
)


def copy(conn: psycopg.Connection[Any], table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as writer:
        for row in rows:
            writer.write_row(row)
            count += 1
    return count


def seed(url: str, seed_data: Seed) -> dict[str, Any]:
    started = time.perf_counter()
    counts = {}
    with psycopg.connect(url) as conn:
        counts["tenants"] = copy(conn, "tenants", "id, parent_id, kind, name, email, email_normalised, code, country, "
                                 "data_center, path, depth, created_at, default_subscription", seed_data.tenants())
        counts["accounts"] = copy(conn, "accounts", "id, owner_id, subscription, status, plan, auto_subscribe, "
                                  "trial_started_at, trial_ends_at, subscribed_at, expired_at, created_at",
                                  seed_data.account_rows())
        counts["tasks"] = copy(conn, "backup_tasks", "id, account_id, service, name, state, created_at, "
                               "activated_at", seed_data.task_rows())
        counts["runs"] = copy(conn, "backup_runs", "run_id, task_id, status, started_at, finished_at, size_bytes, "
                              "seats, recorded_at", seed_data.run_rows())
        copied = time.perf_counter()
        for statement in DERIVE_SQL:
            conn.execute(statement)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {**counts, "copy_s": round(copied - started, 1), "total_s": round(time.perf_counter() - started, 1)}


# ---- the measurements ----------------------------------------------------------------------------------------------


def proxy_for(stack: list[Any], config: dict[str, Any], caller: Caller) -> Any:
    from nameko.standalone.rpc import ClusterRpcProxy

    proxy = ClusterRpcProxy(config, context_data={CALLER_KEY: caller.to_wire()}, timeout=60)
    stack.append(proxy)
    return proxy.start().tenancy


def queries(seed_data: Seed, rng: random.Random, admin: Any, partner_admin: Callable[[uuid.UUID], Any]
            ) -> list[tuple[str, Callable[[], Any]]]:
    partner = rng.choice(seed_data.partner_ids)
    as_partner = partner_admin(partner)
    pages = max(1, len(seed_data.partner_ids) // 25)
    return [
        ("partners: page 1 by name", lambda: admin.list_partners({})),
        ("partners: search 'north'", lambda: admin.list_partners({"search": "north"})),
        ("partners: task status failures", lambda: admin.list_partners({"task_status": "failures"})),
        ("partners: by size, last page", lambda: admin.list_partners({"sort": "-size", "page": pages})),
        ("accounts of a random partner", lambda: admin.list_accounts({"partner_id": str(rng.choice(
            seed_data.partner_ids))})),
        ("accounts of a partner: expiring trials", lambda: admin.list_accounts({
            "partner_id": str(rng.choice(seed_data.partner_ids)), "account_status": "trial_expiring"})),
        ("accounts as the partner's admin", lambda: as_partner.list_accounts({})),
        ("direct accounts: page 1", lambda: admin.list_accounts({})),
        ("direct accounts: search + failed", lambda: admin.list_accounts({"search": "cedar",
                                                                           "backup_status": "failed"})),
        ("direct accounts: page 40 by size", lambda: admin.list_accounts({"sort": "-size", "page": 40})),
        ("one account with its tasks", lambda: admin.get_account(str(rng.choice(seed_data.account_ids)))),
    ]


def new_runs(seed_data: Seed, rng: random.Random, count: int, clock: list[datetime]) -> list[dict[str, Any]]:
    runs = []
    for _ in range(count):
        clock[0] += timedelta(milliseconds=1)  # always newer than anything recorded: every run moves roll-ups
        finished = clock[0]
        runs.append({"run_id": str(uuid.uuid4()), "task_id": str(rng.choice(seed_data.task_ids)),
                     "status": rng.choices(("success", "partial", "failure"), (90, 6, 4))[0],
                     "started_at": (finished - timedelta(minutes=30)).isoformat(),
                     "finished_at": finished.isoformat(), "size_bytes": rng.randint(1, 10**12),
                     "seats": rng.randint(1, 300)})
    return runs


def outbox_backlog(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()
    return int(row[0]) if row else 0


def drained(url: str, timeout: float = 600) -> float:
    """Seconds until the outbox relay has published every event."""
    started = time.perf_counter()
    while outbox_backlog(url) and time.perf_counter() - started < timeout:
        eventlet.sleep(0.2)
    return time.perf_counter() - started


def ingest(engine: Callable[[], Any], seed_data: Seed, rng: random.Random, total: int, batch: int,
           callers: int, url: str, clock: list[datetime]) -> dict[str, Any]:
    drained(url)  # the previous measurement's events are out: each phase starts alike
    batches = [new_runs(seed_data, rng, batch, clock) for _ in range(max(1, total // batch))]
    latencies: list[float] = []
    accepted = [0]

    def worker(mine: list[list[dict[str, Any]]]) -> None:
        proxy = engine()
        for runs in mine:
            before = time.perf_counter()
            reply = proxy.ingest_backup_runs(runs)
            latencies.append((time.perf_counter() - before) * 1000)
            accepted[0] += reply["accepted"]

    started = time.perf_counter()
    pool = eventlet.GreenPool(callers)
    for index in range(callers):
        pool.spawn(worker, batches[index::callers])
    pool.waitall()
    elapsed = time.perf_counter() - started
    published_after = drained(url)
    latencies.sort()
    return {
        "name": f"ingest {batch}-run batches, {callers} caller(s)",
        "runs": accepted[0],
        "runs_per_s": round(accepted[0] / elapsed, 1),
        "batch_p50_ms": round(latencies[len(latencies) // 2], 1),
        "batch_p95_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1),
        # One backup_runs_recorded event per batch: how long the relay still needed after the last reply.
        "events_published_s_after": round(published_after, 1),
        "events_per_s_overall": round(accepted[0] / (elapsed + published_after), 1),
    }


def verify(url: str, sample: list[uuid.UUID]) -> bool:
    """Roll-ups kept by deltas equal a recomputation from every run of the sampled accounts."""
    sql = """
        WITH latest AS (
            SELECT DISTINCT ON (r.task_id) t.account_id, r.status, r.size_bytes, r.seats
            FROM backup_runs r JOIN backup_tasks t ON t.id = r.task_id
            WHERE t.account_id = ANY(%(ids)s) ORDER BY r.task_id, r.finished_at DESC, r.run_id DESC)
        SELECT a.id, a.size_bytes, a.seats, coalesce(sum(l.size_bytes), 0), coalesce(sum(l.seats), 0)
        FROM accounts a LEFT JOIN latest l ON l.account_id = a.id WHERE a.id = ANY(%(ids)s) GROUP BY a.id"""
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql, {"ids": sample}).fetchall()
        owners = conn.execute("""
            SELECT count(*) FROM owner_rollups o JOIN (
                SELECT owner_id, sum(size_bytes) AS size, count(*) AS n FROM accounts
                WHERE status <> 'removed' GROUP BY owner_id) s ON s.owner_id = o.owner_id
            WHERE o.size_bytes <> s.size OR o.accounts <> s.n""").fetchone()
    return all(row[1] == row[3] and row[2] == row[4] for row in rows) and owners is not None and owners[0] == 0


@contextlib.contextmanager
def tenancy_service(config: dict[str, Any], url: str, in_process: bool) -> Iterator[None]:
    env = {"TENANCY_DATABASE_URL": url, "AMQP_URI": config["AMQP_URI"],
           "PORTAL_VAR_DIR": str(ROOT / "var" / "bench"), "PORTAL_LOG_LEVEL": "WARNING"}
    if in_process:
        from nameko.runners import ServiceRunner

        os.environ.update(env)
        from services.tenancy.entrypoints import TenancyService

        runner = ServiceRunner(config)
        runner.add_service(TenancyService)
        runner.start()
        try:
            yield
        finally:
            runner.stop()
        return
    log = (ROOT / "var" / "bench").resolve()
    log.mkdir(parents=True, exist_ok=True)
    with (log / "tenancy-bench-service.log").open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own nameko, as supervisord runs it
            [str(Path(sys.executable).parent / "nameko"), "run", "--config", str(ROOT / "config" / "nameko.yaml"),
             "services.tenancy.entrypoints:TenancyService"],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_up(proxy: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            proxy.health()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            eventlet.sleep(0.5)


def fresh_database(admin_url: str) -> tuple[str, str]:
    name = f"portal_bench_tenancy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return name, urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def run(scale: float, calls: int, ingest_runs: int, keep_db: bool, in_process: bool) -> dict[str, Any]:
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    load_before = os.getloadavg()
    rng = random.Random(2026)
    seed_data = Seed(max(1, round(1000 * scale)), max(50, round(100_000 * scale)), max(100, round(1_000_000 * scale)),
                     rng)
    name, url = fresh_database(admin_url)
    try:
        engine = make_engine(normalise_database_url(url))
        upgrade(engine, ROOT / "services" / "tenancy" / "adapters" / "migrations", "tenancy")
        engine.dispose()
        seeding = seed(url, seed_data)
        print(f"seeded {seeding}", flush=True)
        with psycopg.connect(url) as conn:
            db_size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
            pg_version = conn.execute("SHOW server_version").fetchone()
        with fresh_vhost("portal_bench") as amqp_uri:
            config = {"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10}
            proxies: list[Any] = []
            with tenancy_service(config, url, in_process):
                admin = proxy_for(proxies, config, Caller(user_id=uuid.uuid4(), tenant_id=seed_data.distributor,
                                                          tenant_kind="distributor", role="administrator"))
                wait_until_up(admin)

                def partner_admin(partner: uuid.UUID) -> Any:
                    return proxy_for(proxies, config, Caller(user_id=uuid.uuid4(), tenant_id=partner,
                                                             tenant_kind="partner", role="administrator"))

                lists = [measure(label, call, calls, warmup=min(20, calls))
                         for label, call in [("floor: the kit's health RPC", admin.health),
                                             *queries(seed_data, rng, admin, partner_admin)]]
                engine_caller = Caller(engine_key_id=uuid.uuid4())
                clock = [NOW + timedelta(days=1)]  # new runs are newer than anything recorded

                def as_engine() -> Any:
                    return proxy_for(proxies, config, engine_caller)

                ingests = [
                    ingest(as_engine, seed_data, rng, ingest_runs, 500, 1, url, clock),
                    ingest(as_engine, seed_data, rng, ingest_runs // 10, 50, 1, url, clock),
                    ingest(as_engine, seed_data, rng, ingest_runs, 500, 4, url, clock),
                ]
                for proxy in proxies:
                    proxy.stop()
            version = broker_version(amqp_uri)
        verified = verify(url, rng.sample(seed_data.account_ids, min(500, len(seed_data.account_ids))))
    finally:
        if not keep_db:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "rabbitmq": version, "postgresql": pg_version[0] if pg_version else None,
                    # Other work on the machine skews every figure: the 1-minute load before and after.
                    "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]},
        "scale": scale,
        "data": {"partners": len(seed_data.partner_ids), "accounts": len(seed_data.account_ids),
                 "direct_accounts": max(1, len(seed_data.account_ids) // 50), "tasks": len(seed_data.task_ids),
                 "runs": seeding["runs"], "database_size": db_size[0] if db_size else None,
                 "seed_copy_s": seeding["copy_s"], "seed_total_s": seeding["total_s"]},
        "setup": f"tenancy service {'in the benchmark process' if in_process else 'as its own nameko process'} "
                 "(max_workers 10, outbox relay on), one RPC caller unless said, PostgreSQL and RabbitMQ on "
                 "loopback, all on this machine",
        "lists": lists,
        "ingest": ingests,
        "roll_ups_verified": verified,
    }


def print_report(report: dict[str, Any]) -> None:
    columns = ("p50_ms", "p95_ms", "p99_ms", "calls_per_s")
    print(f"\n{'query':<42}" + "".join(f"{column:>12}" for column in columns))
    for row in report["lists"]:
        print(f"{row['name']:<42}" + "".join(f"{row[column]:>12}" for column in columns))
    print()
    for row in report["ingest"]:
        print(f"{row['name']:<42} {row['runs_per_s']:>10} runs/s  batch p50 {row['batch_p50_ms']} ms, "
              f"p95 {row['batch_p95_ms']} ms")
    print(f"\ndata: {report['data']}\nroll-ups verified: {report['roll_ups_verified']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000 partners, 100,000 accounts, 1M runs")
    parser.add_argument("--calls", type=int, default=200, help="calls per list query")
    parser.add_argument("--ingest-runs", type=int, default=20_000, help="runs per ingest measurement")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results-tenancy.json")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--in-process", action="store_true", help="run the service in the benchmark's process")
    args = parser.parse_args(argv)
    report = run(args.scale, args.calls, args.ingest_runs, args.keep_db, args.in_process)
    previous = json.loads(args.output.read_text()) if args.output.exists() else {}
    runs = {str(r["scale"]): r for r in previous.get("runs", []) if r.get("scale") != args.scale}
    runs[str(args.scale)] = report
    args.output.write_text(json.dumps({"runs": sorted(runs.values(), key=lambda r: r["scale"])}, indent=2) + "\n")
    print_report(report)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
