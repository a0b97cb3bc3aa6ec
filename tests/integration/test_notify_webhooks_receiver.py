"""Backup Radar webhooks to a real HTTP receiver started by the test (on 127.0.0.1, allowed by
the development setting), with real RabbitMQ and PostgreSQL. The receiver verifies every
delivery with the ``standardwebhooks`` library."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from standardwebhooks import Webhook, WebhookVerificationError

from contracts.context import CALLER_KEY, OPERATOR_TENANT_ID, Caller
from contracts.notify import BackupRadarUpdate
from servicekit.context import SYSTEM_CALLER
from servicekit.settings import normalise_database_url
from services.identity.entrypoints import IdentityService
from services.notify.adapters.http_sender import PinnedHttpSender, check_url_here
from services.notify.entrypoints import NotifyService
from services.notify.usecases import integrations, webhooks
from services.tenancy.entrypoints import TenancyService
from tests.support.fixtures import MigratedDatabase, wait_for
from tests.usecases.test_notify_webhooks_delivery import DISTRIBUTOR as RADAR_DISTRIBUTOR
from tests.usecases.test_notify_webhooks_delivery import (
    KEYS,
    RETRY_WAITS,
    RULES,
    distributor_admin,
    operator,
    queue,
    update,
)

pytestmark = pytest.mark.integration

MIGRATIONS = NotifyService.db.migrations_dir


class Receiver:
    """An HTTP endpoint answering the statuses it is given (the last repeats); keeps every request."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/portal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verified(self, secret: str) -> list[Any]:
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]


# ---- through the running services: a backup run reported to tenancy reaches the receiver --------------------


@pytest.fixture
def services(start_services: Any) -> Any:
    return start_services(TenancyService, NotifyService, IdentityService, env={
        "NOTIFY_WEBHOOKS_ALLOW_LOOPBACK": "true", "NOTIFY_WEBHOOK_POLL_SECONDS": "0.1"})


def as_caller(config: dict[str, Any], caller: Caller) -> ClusterRpcProxy:
    return ClusterRpcProxy(config, context_data={CALLER_KEY: caller.to_wire()}, timeout=15)


@pytest.fixture
def world(services: Any, nameko_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A distributor with a direct account and a backup task; Backup Radar enabled for it."""
    with as_caller(nameko_config, SYSTEM_CALLER) as system:
        distributor = system.tenancy.create_distributor({"name": "Northwind", "email": "d@northwind-it.example",
                                                         "country": "US", "data_center": "us-east-1"})
        account = system.tenancy.create_account({"name": "Coho Winery", "email": "it@coho-it.example",
                                                 "distributor_id": distributor["id"]})
        task = system.tenancy.add_backup_task(account["id"], {"service": "exchange", "name": "Mailboxes"})
        op = Caller(user_id=uuid.uuid4(), tenant_id=OPERATOR_TENANT_ID, tenant_kind="operator", role="administrator")
        with as_caller(nameko_config, op) as operator_proxy:
            operator_proxy.notify.update_backup_radar({"enabled": True, "distributor_id": distributor["id"]})
        admin = Caller(user_id=uuid.uuid4(), tenant_id=distributor["id"], tenant_kind="distributor",
                       role="administrator", email="admin@northwind-it.example")
        with as_caller(nameko_config, admin) as admin_proxy:
            yield {"system": system, "admin": admin_proxy, "task_id": task["id"], "account_id": account["id"]}


def report_run(world: dict[str, Any], status: str) -> str:
    run_id = str(uuid.uuid4())
    start = datetime.now(UTC) - timedelta(minutes=30)
    world["system"].tenancy.ingest_backup_runs([{
        "run_id": run_id, "task_id": world["task_id"], "status": status, "started_at": start.isoformat(),
        "finished_at": (start + timedelta(minutes=20)).isoformat(), "size_bytes": 5 * 2**30, "seats": 12}])
    return run_id


def test_every_delivery_verifies_and_one_changed_byte_fails(world):
    with Receiver(200) as receiver:
        view = world["admin"].notify.update_backup_radar({"url": receiver.url})
        secret = view["secret"]

        run_id = report_run(world, "partial")

        wait_for(lambda: receiver.requests, message="the webhook at the receiver")
    [payload] = receiver.verified(secret)
    assert payload["type"] == "backup.result"
    data = payload["data"]
    assert (data["run_id"], data["status"], data["result"]) == (run_id, "Warning", "partial")
    assert (data["account_name"], data["task_name"], data["service"]) == ("Coho Winery", "Mailboxes", "exchange")
    headers, body = receiver.requests[0]
    assert headers["webhook-id"].startswith("msg_") and headers["content-type"] == "application/json"
    changed = bytearray(body)
    changed[body.index(b"Warning")] ^= 0x01
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(changed), headers)


def test_replay_sends_the_same_webhook_again(world):
    with Receiver(200) as receiver:
        secret = world["admin"].notify.update_backup_radar({"url": receiver.url})["secret"]
        report_run(world, "success")
        wait_for(lambda: receiver.requests, message="the first delivery")
        [delivery] = wait_for(lambda: [d for d in world["admin"].notify.list_webhook_deliveries({})["items"]
                                       if d["status"] == "succeeded"], message="the delivery marked succeeded")

        replayed = world["admin"].notify.replay_webhook_delivery(delivery["id"])

        wait_for(lambda: len(receiver.requests) == 2, message="the replayed delivery")
    assert replayed["webhook_id"] == delivery["webhook_id"]
    first, second = receiver.requests
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == delivery["webhook_id"] and first[1] == second[1]
    assert len(receiver.verified(secret)) == 2


# ---- the delivery use case on PostgreSQL with a test clock, against the real receiver ------------------------


@pytest.fixture
def notify_db(database_url: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[MigratedDatabase]:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    db = MigratedDatabase("notify", MIGRATIONS, normalise_database_url(database_url("notify")))
    yield db
    db.dispose()


def configure(db: MigratedDatabase, url: str) -> str:
    update(db, operator(), enabled=True, distributor_id=RADAR_DISTRIBUTOR)
    uow = db.unit_of_work(distributor_admin())
    view = integrations.update_backup_radar(uow, uow.context, BackupRadarUpdate(url=url), KEYS,
                                            lambda u: check_url_here(u, allow_loopback=True), lambda t: True)
    assert view.secret is not None
    return view.secret


LOCAL = PinnedHttpSender(timeout=5, allow_loopback=True)


def test_a_500_receiver_sees_the_retries_on_schedule_with_the_same_webhook_id(notify_db):
    with Receiver(500) as receiver:
        secret = configure(notify_db, receiver.url)
        queue(notify_db, at=datetime.now(UTC))
        clock = datetime.now(UTC)
        assert webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES, now=clock) is not None
        for wait in RETRY_WAITS:
            assert webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES,
                                                 now=clock + wait - timedelta(seconds=1)) is None
            clock += wait
            outcome = webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES, now=clock)
            assert outcome is not None and outcome.status_code == 500

    assert len(receiver.requests) == 7
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    assert len(receiver.verified(secret)) == 7
    assert outcome.status == "failed"


def test_a_410_disables_the_endpoint(notify_db):
    with Receiver(410) as receiver:
        configure(notify_db, receiver.url)
        queue(notify_db, "run:1", at=datetime.now(UTC))
        queue(notify_db, "run:2", at=datetime.now(UTC))

        outcome = webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES)
        after = webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES)

    assert outcome is not None and outcome.endpoint_disabled and after is None
    assert len(receiver.requests) == 1
    assert notify_db.events("endpoint_disabled")[0]["payload"]["reason"] == webhooks.GONE_REASON


def test_a_redirect_is_not_followed(notify_db):
    with Receiver(307) as receiver:
        configure(notify_db, receiver.url)
        queue(notify_db, at=datetime.now(UTC))

        outcome = webhooks.deliver_next_webhook(notify_db.unit_of_work(), LOCAL, KEYS, RULES)

    assert outcome is not None and outcome.status == "pending" and outcome.status_code == 307
    assert len(receiver.requests) == 1


def test_without_the_development_setting_a_loopback_endpoint_is_never_called(notify_db):
    with Receiver(200) as receiver:
        configure(notify_db, receiver.url)
        queue(notify_db, at=datetime.now(UTC))

        outcome = webhooks.deliver_next_webhook(notify_db.unit_of_work(), PinnedHttpSender(timeout=5), KEYS, RULES)

    assert outcome is not None and outcome.status == "pending" and outcome.status_code is None
    assert receiver.requests == []
