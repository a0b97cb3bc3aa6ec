"""How notify reads paged lists from other services: ``paged()`` and the readers built on it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
import pytest

from servicekit.rpc_deadline import RpcTimeout, TimedServiceProxy
from services.notify.adapters import upstream
from services.notify.adapters.upstream import PAGE_SIZE, TenancyRpc, paged


class PagedList:
    """A list RPC over ``total`` numbered items, answering pages the way the services do."""

    def __init__(self, total: int, items: list[Any] | None = None) -> None:
        self.items = items if items is not None else list(range(total))
        self.total = total
        self.queries: list[dict[str, Any]] = []

    def __call__(self, query: dict[str, Any]) -> dict[str, Any]:
        self.queries.append(query)
        page, size = query["page"], query["page_size"]
        return {"items": self.items[(page - 1) * size:page * size], "page": page, "page_size": size,
                "total": self.total}


@pytest.mark.parametrize(("total", "pages"), [
    (0, 1), (1, 1), (PAGE_SIZE, 1), (PAGE_SIZE + 1, 2), (2 * PAGE_SIZE, 2), (2 * PAGE_SIZE + 37, 3),
])
def test_every_item_comes_once_in_order_and_the_last_page_ends_the_fetching(total, pages):
    fetch = PagedList(total)

    items = list(paged(fetch, {"distributor_id": "d-1"}))

    assert items == list(range(total))  # none skipped, none repeated
    assert [q["page"] for q in fetch.queries] == list(range(1, pages + 1))  # no page asked twice or after the end
    assert all(q["page_size"] == PAGE_SIZE and q["distributor_id"] == "d-1" for q in fetch.queries)


def test_an_empty_page_ends_the_fetching_even_when_the_total_promised_more():
    fetch = PagedList(total=5 * PAGE_SIZE, items=list(range(PAGE_SIZE + 3)))  # rows removed meanwhile

    items = list(paged(fetch, {}))

    assert items == list(range(PAGE_SIZE + 3))
    assert [q["page"] for q in fetch.queries] == [1, 2, 3]


def test_pages_are_fetched_only_as_far_as_the_caller_reads():
    fetch = PagedList(3 * PAGE_SIZE)

    reader = paged(fetch, {})
    first = [next(reader) for _ in range(PAGE_SIZE + 1)]

    assert first == list(range(PAGE_SIZE + 1)) and [q["page"] for q in fetch.queries] == [1, 2]


class FakeTenancyRpc:
    """tenancy's list RPCs as nameko's proxy shows them, over numbered rows."""

    def __init__(self, runs: int) -> None:
        start = datetime(2026, 11, 25, 1, tzinfo=UTC)
        owner = uuid.uuid4()
        self.list_backup_runs = PagedList(runs, [
            {"run_id": str(uuid.UUID(int=n + 1)), "task_id": str(uuid.uuid4()), "task_name": "Mail",
             "service": "exchange", "account_id": str(uuid.uuid4()), "account_name": f"Account {n}",
             "owner_id": str(owner), "status": "success", "started_at": (start + timedelta(seconds=n)).isoformat(),
             "finished_at": (start + timedelta(seconds=n + 1)).isoformat(), "size_bytes": n, "seats": 1}
            for n in range(runs)
        ])


def test_the_runs_of_a_period_are_read_across_pages_with_the_period_in_every_query():
    tenancy = FakeTenancyRpc(runs=2 * PAGE_SIZE + 1)
    start, end = datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)
    tenant = uuid.uuid4()

    runs = list(TenancyRpc(tenancy).runs(tenant, start, end))

    assert [r.run_id.int for r in runs] == list(range(1, 2 * PAGE_SIZE + 2))
    queries = tenancy.list_backup_runs.queries
    assert [q["page"] for q in queries] == [1, 2, 3]
    assert {(q["tenant_id"], q["finished_from"], q["finished_to"]) for q in queries} == {
        (str(tenant), start.isoformat(), end.isoformat())}


def test_a_runaway_list_stops_at_the_page_limit(monkeypatch):
    monkeypatch.setattr(upstream, "MAX_PAGES", 4)

    def endless(query: dict[str, Any]) -> dict[str, Any]:
        return {"items": [query["page"]], "total": 10**9}

    assert list(paged(endless, {})) == [1, 2, 3, 4]


class SlowService:
    """A nameko ServiceProxy stand-in whose replies take ``seconds``."""

    service_name = "tenancy"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, method_name: str) -> Any:
        service = self

        class Method:
            def call_async(self, *args: Any) -> Any:
                service.calls.append((method_name, args))

                class Reply:
                    def result(self) -> Any:
                        eventlet.sleep(service.seconds)
                        return {"answered": args}

                return Reply()

        return Method()


def test_a_call_the_other_service_does_not_answer_in_time_raises_a_timeout():
    proxy = TimedServiceProxy(SlowService(seconds=5), timeout=0.05)  # type: ignore[arg-type]
    started = time.monotonic()

    with pytest.raises(RpcTimeout, match=r"tenancy\.get_tenant did not answer within 0\.05s"):
        proxy.get_tenant("t-1")

    assert time.monotonic() - started < 1


def test_a_call_answered_in_time_returns_the_reply_and_leaves_no_deadline_behind():
    slow = SlowService(seconds=0.01)
    proxy = TimedServiceProxy(slow, timeout=0.2)  # type: ignore[arg-type]

    assert proxy.get_tenant("t-1") == {"answered": ("t-1",)}
    eventlet.sleep(0.3)  # a deadline left running would fire into this greenlet now
    assert slow.calls == [("get_tenant", ("t-1",))]
