"""The security audit at scale: filtered search latency and a full CSV export through the real RPC.

    .venv/bin/python bench/audit_bench.py [--entries 1000000] [--calls 50] [--output bench/results-audit.json]

1. A fresh PostgreSQL database (``TEST_POSTGRES_URL``, default the local server) is migrated
   and seeded with bulk ``COPY``, not through events: a tree of 10 distributors, 500 partners
   and ~5,000 customer accounts, and ``--entries`` audit entries spread over the last 365
   days in time order (as the service writes them), each a real link of its tenant's hash
   chain (the chains verify). Chain heads and the tenant projection are written to match.
2. The audit service runs in this process (nameko, eventlet) on that database and a vhost of
   its own; a standalone RPC proxy calls ``search`` as an operator, a distributor's, a
   partner's and an account's administrator, each query ``--calls`` times (p50/p95/p99 ms).
3. Export: every entry the caller sees, paged through ``export_page`` (5,000 rows per call)
   exactly as the gateway streams it, chunks counted and dropped. Wall time, rows/s, and
   the memory the export needed: tracemalloc's peak of Python allocations during the
   export, and the growth of the process's peak RSS (service and caller share the process).
4. ``verify`` over all chains (the CLI's code path), timed.

The database is dropped afterwards (``--keep-db`` keeps it). Figures are for one machine.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rpc_roundtrip import broker_version, measure  # noqa: E402

from contracts.audit import MAX_EXPORT_PAGE, Activity, AuditStatus  # noqa: E402
from contracts.context import CALLER_KEY, OPERATOR_TENANT_ID, Caller  # noqa: E402
from servicekit.logging import configure_logging  # noqa: E402
from services.audit.domain.access import child_path, root_path  # noqa: E402
from services.audit.domain.chain import GENESIS_HASH, link_hash  # noqa: E402
from services.audit.domain.entries import AuditFields  # noqa: E402
from tests.support.fixtures import DEFAULT_POSTGRES, fresh_databases, fresh_vhost  # noqa: E402

configure_logging("bench", level="WARNING")

NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = 365
ACTIVITIES = ((Activity.SIGN_IN, 55), (Activity.SIGN_OUT, 15), (Activity.NOTIFICATION, 8),
              (Activity.SECURITY_SETTINGS_CHANGED, 5), (Activity.USER_MANAGEMENT, 5), (Activity.SETTINGS_CHANGED, 3),
              (Activity.ACCOUNT_CREATED, 2), (Activity.SUBSCRIBED_TO_PLAN, 2), (Activity.ACCOUNT_ACCESSED, 1.5),
              (Activity.PERMISSIONS_CHANGED, 1), (Activity.BILLING_DETAILS_CHANGED, 1), (Activity.TRIAL_CANCELED, 0.5),
              (Activity.ACCOUNT_REMOVED, 0.3), (Activity.ACCOUNT_RENAMED, 0.2))
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
WORDS = ("North", "Blue", "Cloud", "Harbor", "Summit", "River", "Granite", "Cedar", "Atlas", "Nova", "Maple", "Orion")
ENTRY_COLUMNS = ("event_id, tenant_id, tenant_path, seq, occurred_at, recorded_at, activity, status, account_id, "
                 "account_name, performed_by, actor_user_id, ip, user_agent, description, source, event_type, "
                 "correlation_id, prev_hash, hash")


@dataclass
class Tenant:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str
    name: str
    path: str
    weight: float
    accounts: list[Tenant] = field(default_factory=list)
    seq: int = 0
    last_hash: str = GENESIS_HASH


@dataclass
class Tree:
    tenants: list[Tenant]
    distributors: list[Tenant]
    partners: list[Tenant]
    accounts: list[Tenant]

    @classmethod
    def build(cls, rng: random.Random, distributors: int = 10, partners: int = 50, accounts: int = 10,
              direct: int = 20) -> Tree:
        root = Tenant(OPERATOR_TENANT_ID, None, "operator", "Operator", root_path(), 0.5)
        tree = cls([root], [], [], [])

        def add(parent: Tenant, kind: str, weight: float) -> Tenant:
            tenant_id = uuid.uuid4()
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {kind.capitalize()} {len(tree.tenants)}"
            tenant = Tenant(tenant_id, parent.id, kind, name, child_path(parent.path, tenant_id), weight)
            tree.tenants.append(tenant)
            getattr(tree, f"{kind}s").append(tenant)
            return tenant

        for _ in range(distributors):
            distributor = add(root, "distributor", 15.0)
            for _ in range(direct):
                distributor.accounts.append(add(distributor, "account", 0.1))
            for _ in range(partners):
                partner = add(distributor, "partner", 0.7)
                partner.accounts.extend(add(partner, "account", 0.09) for _ in range(accounts))
        return tree


def entries(tree: Tree, count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """``count`` entries in time order over the last year, each chained to its tenant's previous one."""
    at = NOW - timedelta(days=DAYS)
    gap = DAYS * 86400 / count
    cumulative = list(itertools.accumulate(t.weight for t in tree.tenants))
    activities, activity_weights = zip(*ACTIVITIES, strict=True)
    for _ in range(count):
        at += timedelta(seconds=rng.expovariate(1 / gap))
        tenant = rng.choices(tree.tenants, cum_weights=cumulative)[0]
        activity = rng.choices(activities, activity_weights)[0]
        failed = activity is Activity.SIGN_IN and rng.random() < 0.06
        ip = f"198.{rng.randint(18, 19)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        account = tenant if tenant.kind == "account" else (
            rng.choice(tenant.accounts) if tenant.accounts and rng.random() < 0.3 else None)
        browser = rng.choice(BROWSERS)
        description = (f"Native sign in ({'Failed: wrong email or password' if failed else 'OK'}) {browser} "
                       f"from ip {ip}" if activity is Activity.SIGN_IN else f"{activity.value.replace('_', ' ')}")
        fields = AuditFields(
            event_id=uuid.uuid4(), tenant_id=tenant.id, occurred_at=at, activity=activity,
            status=AuditStatus.FAILED if failed else AuditStatus.COMPLETED, description=description,
            source="identity", event_type="signed_in" if activity is Activity.SIGN_IN else activity.value,
            account_id=account.id if account else None, account_name=account.name if account else None,
            performed_by=f"user{rng.randint(0, 4)}@t{tenant.id.hex[:8]}.example",
            actor_user_id=None, ip=ip, user_agent=f"Mozilla/5.0 {browser}", correlation_id=str(uuid.uuid4()),
        )
        tenant.seq += 1
        digest = link_hash(fields, tenant.seq, tenant.last_hash)
        yield (fields.event_id, tenant.id, tenant.path, tenant.seq, at, at, activity.value, fields.status.value,
               fields.account_id, fields.account_name, fields.performed_by, None, ip, fields.user_agent, description,
               fields.source, fields.event_type, fields.correlation_id, tenant.last_hash, digest)
        tenant.last_hash = digest


def copy(conn: psycopg.Connection[Any], table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    written = itertools.count()
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as writer:
        for row, _ in zip(rows, written, strict=False):  # counts the rows written
            writer.write_row(row)
    return next(written)


def seed(url: str, tree: Tree, count: int, rng: random.Random) -> dict[str, Any]:
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        copy(conn, "audit_tenants", "id, parent_id, kind, name, path",
             ((t.id, t.parent_id, t.kind, t.name, t.path) for t in tree.tenants[1:]))  # the root is migrated
        written = copy(conn, "audit_entries", ENTRY_COLUMNS, entries(tree, count, rng))
        copy(conn, "audit_chain_heads", "tenant_id, seq, last_hash, anchor_seq, anchor_hash, updated_at",
             ((t.id, t.seq, t.last_hash, 0, GENESIS_HASH, NOW) for t in tree.tenants if t.seq))
        conn.commit()
    copied = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        finished = time.perf_counter()
        size, version = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database())), "
                                     "current_setting('server_version')").fetchone() or (None, None)
    return {"entries": written, "copy_s": round(copied - started, 1), "total_s": round(finished - started, 1),
            "database_size": size, "postgresql": version}


# ---- the measurements --------------------------------------------------------------------------------------------


def admin_of(tenant_id: uuid.UUID) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant_id, role="administrator", email="bench@audit.example")


def searches(tree: Tree, rng: random.Random, proxy: Callable[[Caller], Any]) -> list[tuple[str, Callable[[], Any]]]:
    operator = proxy(admin_of(OPERATOR_TENANT_ID))
    distributor = tree.distributors[0]
    as_distributor = proxy(admin_of(distributor.id))
    partner = rng.choice([p for p in tree.partners if p.parent_id == distributor.id])
    as_partner = proxy(admin_of(partner.id))
    as_account = proxy(admin_of(rng.choice(partner.accounts).id))
    performer = f"user1@t{partner.id.hex[:8]}.example"
    month_ago = NOW - timedelta(days=30)
    deep_cursor = [None]

    def deep_page() -> Any:
        return as_distributor.search({"cursor": deep_cursor[0]})

    page = None
    for _ in range(40):  # the cursor of page 41 (1,000 entries deep)
        page = as_distributor.search({"cursor": page["next_cursor"] if page else None})
    deep_cursor[0] = page["next_cursor"] if page else None

    def query(**filters: Any) -> dict[str, Any]:
        return {"filters": {key: value.isoformat() if isinstance(value, datetime) else value
                            for key, value in filters.items()}}

    return [
        ("operator: newest page (everything)", lambda: operator.search({})),
        ("operator: one day a month ago", lambda: operator.search(query(date_from=month_ago,
                                                                        date_to=month_ago + timedelta(days=1)))),
        ("operator: by performer", lambda: operator.search(query(performed_by=performer))),
        ("distributor: newest page", lambda: as_distributor.search({})),
        ("distributor: failed sign-ins, 30 days", lambda: as_distributor.search(query(
            activity=["sign_in"], status="failed", date_from=month_ago))),
        ("distributor: permissions changed (rare)", lambda: as_distributor.search(query(
            activity=["permissions_changed"]))),
        ("distributor: two activities, 90 days", lambda: as_distributor.search(query(
            activity=["billing_details_changed", "account_removed"], date_from=NOW - timedelta(days=90)))),
        ("distributor: by performer", lambda: as_distributor.search(query(performed_by=performer))),
        ("distributor: by account id", lambda: as_distributor.search(query(account=str(partner.accounts[0].id)))),
        ("distributor: account name contains", lambda: as_distributor.search(query(account="cedar"))),
        ("distributor: cursor 1,000 deep", deep_page),
        ("distributor: page 40 by number", lambda: as_distributor.search({"page": 40})),
        ("partner: newest page", lambda: as_partner.search({})),
        ("partner: failed sign-ins", lambda: as_partner.search(query(activity=["sign_in"], status="failed"))),
        ("account: newest page", lambda: as_account.search({})),
    ]


def export(proxy: Any) -> dict[str, Any]:
    """Every visible entry through export_page, the way the gateway streams it."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    export_id, cursor, rows, size, calls = str(uuid.uuid4()), None, 0, 0, 0
    while True:
        page = proxy.export_page({"export_id": export_id, "cursor": cursor, "limit": MAX_EXPORT_PAGE})
        rows, size, calls = rows + page["rows"], size + len(page["csv"].encode()), calls + 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "csv_mb": round(size / 2**20, 1), "calls": calls, "seconds": round(elapsed, 1),
            "rows_per_s": round(rows / elapsed), "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "peak_rss_growth_mb": round((rss_after - rss_before) / 1024, 1), "peak_rss_mb": round(rss_after / 1024, 1)}


def verify_all(url: str) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from servicekit.db import make_engine
    from servicekit.settings import normalise_database_url
    from services.audit.usecases.verify import verify_chains

    engine = make_engine(normalise_database_url(url), pool_size=1)
    started = time.perf_counter()
    with Session(engine) as session:
        report = verify_chains(session)
    engine.dispose()
    elapsed = time.perf_counter() - started
    return {"ok": report.ok, "chains": report.tenants_checked, "entries": report.entries_checked,
            "seconds": round(elapsed, 1), "entries_per_s": round(report.entries_checked / elapsed)}


@contextlib.contextmanager
def audit_service(amqp_uri: str) -> Iterator[Callable[[Caller], Any]]:
    """The audit service in this process; yields a factory of RPC proxies calling it as a given caller."""
    from nameko.runners import ServiceRunner
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.audit.entrypoints import AuditService

    configure_logging("bench", level="WARNING")  # the service's import configured its own logging
    config = {"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10}
    runner = ServiceRunner(config)
    runner.add_service(AuditService)
    runner.start()
    opened: list[Any] = []

    def proxy(caller: Caller) -> Any:
        opened.append(ClusterRpcProxy(config, context_data={CALLER_KEY: caller.to_wire()}, timeout=300))
        return opened[-1].start().audit

    try:
        yield proxy
    finally:
        for each in opened:
            each.stop()
        runner.stop()


def run(count: int, calls: int, keep_db: bool) -> dict[str, Any]:
    from services.audit.adapters.database import migrate_as_owner

    load_before = os.getloadavg()[0]
    rng = random.Random(2026)
    tree = Tree.build(rng)
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    with tempfile.TemporaryDirectory() as tmp, fresh_databases(admin_url, tmp) as new_database:
        url = new_database("audit_bench")
        os.environ["AUDIT_DATABASE_URL"] = url
        os.environ.setdefault("PORTAL_VAR_DIR", str(ROOT / "var" / "bench"))
        migrate_as_owner(ROOT / "services" / "audit" / "adapters" / "migrations", url)
        seeding = seed(url, tree, count, rng)
        print(f"seeded {seeding}", flush=True)
        with fresh_vhost("portal_bench") as amqp_uri, audit_service(amqp_uri) as proxy:
            results = [measure(label, call, calls, warmup=min(5, calls)) for label, call in searches(tree, rng, proxy)]
            print("searches done; exporting", flush=True)
            exports = {"operator (everything)": export(proxy(admin_of(OPERATOR_TENANT_ID))),
                       "distributor": export(proxy(admin_of(tree.distributors[0].id)))}
            version = broker_version(amqp_uri)
        verified = verify_all(url)
        if keep_db:
            input(f"kept database {url}: press Enter to drop it ")
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
               "rabbitmq": version, "postgresql": seeding["postgresql"],
               "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    data = {"entries": seeding["entries"], "tenants": len(tree.tenants), "distributors": len(tree.distributors),
            "partners": len(tree.partners), "accounts": len(tree.accounts),
            "database_size": seeding["database_size"], "seed_copy_s": seeding["copy_s"],
            "seed_total_s": seeding["total_s"]}
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine, "data": data,
            "setup": "audit service in this process (nameko, max_workers 10), one RPC caller, page_size 25, "
                     "PostgreSQL and RabbitMQ on loopback; every search reply includes the total (counted to 10,000)",
            "searches": results, "exports": exports, "verify": verified}


def markdown(report: dict[str, Any]) -> str:
    """The figures as the tables of docs/benchmarks.md."""
    data, machine = report["data"], report["machine"]
    lines = [f"{data['entries']:,} entries, {data['tenants']:,} tenants ({data['distributors']} distributors, "
             f"{data['partners']} partners, {data['accounts']:,} accounts), database {data['database_size']}; "
             f"{machine['cpus']} CPUs, PostgreSQL {machine['postgresql']}, RabbitMQ {machine['rabbitmq']}; "
             f"{report['searches'][0]['calls']} calls per search; load average {machine['load_average'][0]} "
             f"before, {machine['load_average'][1]} after.", "",
             "| search (page of 25 + total) | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|"]
    lines += [f"| {r['name']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} |"
              for r in report["searches"]]
    lines += ["", "| export (5,000 rows per RPC) | rows | CSV MB | seconds | rows/s | tracemalloc peak MB "
              "| peak RSS growth MB |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {r['rows']:,} | {r['csv_mb']} | {r['seconds']} | {r['rows_per_s']:,} | "
              f"{r['tracemalloc_peak_mb']} | {r['peak_rss_growth_mb']} |" for name, r in report["exports"].items()]
    check = report["verify"]
    lines += ["", f"verify: {check['entries']:,} entries in {check['chains']:,} chains in {check['seconds']} s "
              f"({check['entries_per_s']:,}/s), every chain {'holds' if check['ok'] else 'BROKEN'}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=50, help="calls per search")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results-audit.json")
    parser.add_argument("--keep-db", action="store_true", help="wait for Enter before dropping the database")
    args = parser.parse_args(argv)
    report = run(args.entries, args.calls, args.keep_db)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{markdown(report)}\n\n(figures in {args.output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
