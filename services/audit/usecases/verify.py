"""Verification of the hash chains: the first broken link of each tenant's trail.

Also a command, run against the audit database directly (no broker needed)::

    python -m services.audit.usecases.verify [--tenant ID ...] [--database-url URL] [--json]

It exits 0 when every chain holds, 1 when a chain is broken (each break printed), 2 on bad
arguments. The database is ``--database-url``, else ``AUDIT_DATABASE_URL``, else the SQLite
file of ``make run``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from contracts.audit import ChainBreak, VerifyReport
from contracts.context import Caller
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.audit.adapters.chain_store import heads_of, stored_links
from services.audit.adapters.entry_queries import subtree_tenants
from services.audit.domain.access import authorise_reader
from services.audit.domain.chain import Anchor, Link, first_break


def verify_chains(session: Session, tenant_ids: Iterable[uuid.UUID] | None = None) -> VerifyReport:
    """The first break of every chain: a link that does not hold, or a head without its entries."""
    wanted = list(tenant_ids) if tenant_ids is not None else None
    heads = heads_of(session, wanted)
    breaks: list[ChainBreak] = []
    checked: set[uuid.UUID] = set()

    def check(tenant_id: uuid.UUID, links: Iterator[Link]) -> None:
        checked.add(tenant_id)
        head = heads.get(tenant_id)
        if head is None:
            breaks.append(ChainBreak(tenant_id=tenant_id, seq=0, problem="missing_head",
                                     message="entries exist but the chain's head is gone"))
            return
        found = first_break(links, Anchor(head.anchor_seq, head.anchor_hash, head.seq, head.last_hash))
        if found is not None:
            breaks.append(ChainBreak(tenant_id=tenant_id, seq=found.seq, entry_id=found.event_id,
                                     problem=found.problem, message=found.message))

    counter = [0]
    for tenant_id, group in itertools.groupby(stored_links(session, wanted), key=lambda pair: pair[0]):
        check(tenant_id, counted(group, counter))
    for tenant_id in heads.keys() - checked:  # a head whose every entry is gone (or purged to the anchor)
        check(tenant_id, iter(()))
    breaks.sort(key=lambda b: str(b.tenant_id))
    return VerifyReport(tenants_checked=len(checked), entries_checked=counter[0], breaks=breaks)


def counted(group: Iterator[tuple[uuid.UUID, Link]], counter: list[int]) -> Iterator[Link]:
    for _, link in group:
        counter[0] += 1
        yield link


def verify_for(session: Session, caller: Caller, tenant_id: uuid.UUID | None = None) -> VerifyReport:
    """The ``verify`` RPC: the chains of the caller's subtree (all of them for operators),
    or of one tenant in it."""
    authorise_reader(caller)
    scope = subtree_tenants(session, caller)
    if tenant_id is not None:
        scope = [tenant_id] if scope is None or tenant_id in scope else []
    return verify_chains(session, scope)


def verify_trail(uow: UnitOfWork, ctx: CallContext, tenant_id: uuid.UUID | None = None) -> VerifyReport:
    """Read only: the transaction is given back before the report leaves."""
    report = verify_for(uow.session, ctx.caller, tenant_id)
    uow.rollback()
    return report


def main(argv: list[str] | None = None) -> int:
    from servicekit.db import make_engine
    from servicekit.settings import database_url_for, normalise_database_url

    parser = argparse.ArgumentParser(prog="python -m services.audit.usecases.verify",
                                     description="Check the audit trail's hash chains; report the first break of each.")
    parser.add_argument("--tenant", action="append", type=uuid.UUID, help="only this tenant's chain (repeatable)")
    parser.add_argument("--database-url", help="default: AUDIT_DATABASE_URL, else var/audit.db")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    url = normalise_database_url(args.database_url) if args.database_url else database_url_for("audit")
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            report = verify_chains(session, args.tenant)
    finally:
        engine.dispose()
    print(render(report, as_json=args.json))
    return 0 if report.ok else 1


def render(report: VerifyReport, as_json: bool = False) -> str:
    if as_json:
        import json

        document: dict[str, Any] = {**report.to_wire(), "ok": report.ok}
        return json.dumps(document, indent=2)
    lines = [f"checked {report.entries_checked} entries in {report.tenants_checked} chains: "
             + ("every chain holds" if report.ok else f"{len(report.breaks)} broken")]
    lines += [f"BROKEN tenant {b.tenant_id} at entry {b.seq} ({b.problem}): {b.message}"
              + (f" [event {b.entry_id}]" if b.entry_id else "") for b in report.breaks]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

