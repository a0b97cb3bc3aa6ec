"""Backup Radar's configuration and its webhook deliveries, through the use cases (SQLite, no broker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.notify import BackupRadarUpdate, DeliveryListQuery
from contracts.tenancy import AccountRow, AccountView, BackupRunRecorded, PartnerRow, RunListRow
from services.notify.adapters.http_sender import HttpOutcome
from services.notify.adapters.keys import NotifyKeys
from services.notify.adapters.models import OutgoingMail, WebhookDelivery
from services.notify.adapters.upstream import TenantInfo
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.ssrf import check_url
from services.notify.usecases import backup_radar_daily, integrations, reactions, webhooks
from services.notify.usecases.mail import SEND_LEASE, deliver_next
from tests.support.fixtures import MigratedDatabase
from tests.usecases import test_notify_recipients
from tests.usecases.test_notify_mail_delivery import FakeTransport

DISTRIBUTOR = uuid.uuid4()
KEYS = NotifyKeys(b"Z" * 43 + b"=")
RULES = webhooks.WebhookRules(RetryPolicy((5, 300, 1800, 7200, 18000, 36000), 7), timedelta(hours=12),
                              "https://portal.test")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
notify_db = test_notify_recipients.notify_db  # the fixture: a migrated notify database
URL = "https://radar.example.com/hooks/portal"
RETRY_WAITS = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
               timedelta(hours=5), timedelta(hours=10)]


def operator() -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=OPERATOR_TENANT_ID, tenant_kind="operator", role="administrator")


def distributor_admin(tenant: uuid.UUID = DISTRIBUTOR) -> Caller:
    return test_notify_recipients.admin(tenant)


def distributor_user(*permissions: str) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=DISTRIBUTOR, tenant_kind="distributor", role="custom",
                  permissions=list(permissions))


def public_url(url: str):
    return check_url(url, lambda host, port: ["93.184.215.14"])


class ScriptedSender:
    """Answers with the given outcomes in turn (the last one repeats); records every request."""

    def __init__(self, *outcomes: HttpOutcome) -> None:
        self.outcomes = list(outcomes) or [HttpOutcome(200)]
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpOutcome:
        self.requests.append((url, dict(headers), body))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]



def update(db: MigratedDatabase, caller: Caller, **fields: Any):
    uow = db.unit_of_work(caller)
    return integrations.update_backup_radar(uow, uow.context, BackupRadarUpdate(**fields), KEYS, public_url,
                                            lambda tenant: True, now=T0)


def configured(db: MigratedDatabase) -> str:
    update(db, operator(), enabled=True, distributor_id=DISTRIBUTOR)
    view = update(db, distributor_admin(), url=URL)
    assert view.secret is not None
    return view.secret


def queue(db: MigratedDatabase, key: str = "run:1", data: dict[str, Any] | None = None, at: datetime = T0) -> None:
    uow = db.unit_of_work()
    webhooks.queue_webhook(uow, DISTRIBUTOR, key, "backup.result", data or {"status": "Success"}, at)
    uow.commit()


def deliver(db: MigratedDatabase, sender: ScriptedSender, now: datetime):
    return webhooks.deliver_next_webhook(db.unit_of_work(), sender, KEYS, RULES, now=now, signed_at=now)


def verify(secret: str, request: tuple[str, dict[str, str], bytes], at: datetime) -> Any:
    # The library checks the timestamp against its clock: verify as of the signing moment.
    headers = {**request[1], "webhook-timestamp": request[1]["webhook-timestamp"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("standardwebhooks.webhooks.datetime", _FrozenDatetime.at(at))
        return Webhook(secret).verify(request[2], headers)


class _FrozenDatetime(datetime):
    moment: datetime = T0

    @classmethod
    def at(cls, moment: datetime) -> type[_FrozenDatetime]:
        return type("Frozen", (cls,), {"moment": moment})

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return cls.moment


# ---- configuration ---------------------------------------------------------------------------------------


def test_an_operator_enables_the_integration_and_a_secret_is_made_for_the_distributor(notify_db):
    view = update(notify_db, operator(), enabled=True, distributor_id=DISTRIBUTOR)

    assert view.enabled and view.status == "not_configured" and view.secret_set and view.secret is None
    uow = notify_db.unit_of_work(distributor_admin())
    own = integrations.get_backup_radar(uow, uow.context, None, KEYS)
    assert own.secret is not None and own.secret.startswith("whsec_")
    [event] = notify_db.events("integration_enabled")
    assert event["payload"]["distributor_id"] == str(DISTRIBUTOR)


def test_a_caller_merely_claiming_to_be_an_operator_cannot_switch_the_integration(notify_db):
    # Only the operators' own tenant holds operators; a forged kind from any other tenant is refused.
    forged = Caller(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="operator", role="administrator")

    with pytest.raises(PermissionDenied):
        update(notify_db, forged, enabled=True, distributor_id=DISTRIBUTOR)

    assert notify_db.events("integration_enabled") == []


def test_the_secret_is_shown_to_the_distributors_administrators_only_and_never_announced(notify_db):
    secret = configured(notify_db)
    reader = notify_db.unit_of_work(distributor_user("manage_notifications"))

    assert integrations.get_backup_radar(reader, reader.context, None, KEYS).secret is None
    op = notify_db.unit_of_work(operator())
    assert integrations.get_backup_radar(op, op.context, DISTRIBUTOR, KEYS).secret is None
    assert secret not in json.dumps(notify_db.events())
    with notify_db.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT secret_sealed FROM integrations")).scalar_one()
    assert secret not in stored


def test_the_endpoint_is_set_by_the_distributors_administrator_after_an_operator_enabled_it(notify_db):
    with pytest.raises(Conflict):
        update(notify_db, distributor_admin(), url=URL)
    update(notify_db, operator(), enabled=True, distributor_id=DISTRIBUTOR)

    with pytest.raises(PermissionDenied):
        update(notify_db, distributor_user("manage_notifications"), url=URL)
    with pytest.raises(PermissionDenied):
        update(notify_db, distributor_admin(), enabled=False)
    view = update(notify_db, distributor_admin(), url=URL, report_email="inbound@radar.example")

    assert view.status == "active" and view.url == URL and view.report_email == "inbound@radar.example"
    assert notify_db.events("integration_changed")[-1]["payload"]["fields"] == ["url", "report_email"]


def test_an_unsafe_url_is_refused_on_save_naming_the_field(notify_db):
    update(notify_db, operator(), enabled=True, distributor_id=DISTRIBUTOR)

    for url in ("https://169.254.169.254/latest", "https://10.0.0.8/in", "http://radar.example.com/in"):
        with pytest.raises(ValidationFailed) as caught:
            update(notify_db, distributor_admin(), url=url)
        assert caught.value.details["fields"][0]["field"] == "url"


def test_rotating_the_secret_replaces_it(notify_db):
    first = configured(notify_db)

    second = update(notify_db, distributor_admin(), rotate_secret=True).secret

    assert second is not None and second != first
    assert "secret" in notify_db.events("integration_changed")[-1]["payload"]["fields"]


# ---- delivery --------------------------------------------------------------------------------------------------


def test_a_delivery_is_signed_so_the_standard_library_verifies_it(notify_db):
    secret = configured(notify_db)
    queue(notify_db, data={"status": "Warning"})
    sender = ScriptedSender(HttpOutcome(204))

    outcome = deliver(notify_db, sender, T0)

    assert outcome is not None and outcome.status == "succeeded" and outcome.attempts == 1
    [request] = sender.requests
    assert request[0] == URL
    assert verify(secret, request, T0)["data"] == {"status": "Warning"}


def test_a_failing_endpoint_is_retried_on_the_schedule_with_the_same_webhook_id(notify_db):
    configured(notify_db)
    queue(notify_db)
    sender = ScriptedSender(HttpOutcome(500, "HTTP 500"))
    first = deliver(notify_db, sender, T0)
    assert first is not None and first.attempts == 1
    clock = T0

    for attempt, wait in enumerate(RETRY_WAITS, start=2):
        clock += wait
        assert deliver(notify_db, sender, clock - timedelta(milliseconds=1)) is None  # not due a moment early
        outcome = deliver(notify_db, sender, clock)
        assert outcome is not None and outcome.attempts == attempt

    assert len(sender.requests) == 7
    assert len({r[1]["webhook-id"] for r in sender.requests}) == 1
    assert {r[2] for r in sender.requests} == {sender.requests[0][2]}
    assert deliver(notify_db, sender, clock + timedelta(days=2)) is None
    page = webhooks.list_deliveries(notify_db.unit_of_work(distributor_admin()),
                                    notify_db.unit_of_work(distributor_admin()).context, DeliveryListQuery())
    assert page.items[0].status == "failed" and page.items[0].last_status_code == 500


def test_a_410_disables_the_endpoint_tells_the_administrator_and_stops_further_deliveries(notify_db):
    configured(notify_db)
    queue(notify_db, "run:1")
    queue(notify_db, "run:2")
    sender = ScriptedSender(HttpOutcome(410, "HTTP 410"))

    outcome = deliver(notify_db, sender, T0)

    assert outcome is not None and outcome.status == "failed" and outcome.endpoint_disabled
    assert deliver(notify_db, sender, T0 + timedelta(hours=1)) is None
    uow = notify_db.unit_of_work(distributor_admin())
    view = integrations.get_backup_radar(uow, uow.context, None, KEYS)
    assert view.status == "disabled" and "410" in (view.disabled_reason or "")
    [event] = notify_db.events("endpoint_disabled")
    assert event["payload"]["reason"] == webhooks.GONE_REASON
    [mail] = uow.session.scalars(sa.select(OutgoingMail)).all()
    assert mail.recipient == "admin@northwind.example" and "switched off" in mail.subject


def test_saving_the_url_again_resumes_a_disabled_endpoint(notify_db):
    configured(notify_db)
    queue(notify_db, "run:1")
    queue(notify_db, "run:2")
    deliver(notify_db, ScriptedSender(HttpOutcome(410)), T0)

    update(notify_db, distributor_admin(), url=URL)
    outcome = deliver(notify_db, ScriptedSender(HttpOutcome(200)), T0 + timedelta(minutes=1))

    assert outcome is not None and outcome.status == "succeeded"


def test_prolonged_failure_disables_the_endpoint_once_a_message_runs_out_of_attempts(notify_db):
    configured(notify_db)  # the URL saved by admin@northwind.example
    queue(notify_db, "run:1")
    sender = ScriptedSender(HttpOutcome(None, "ConnectionRefusedError"))
    clock = T0
    retried = [deliver(notify_db, sender, clock)]
    for wait in RETRY_WAITS[:-1]:  # the test clock follows the real schedule: 5 s, 5 min, 30 min, 2 h, 5 h
        clock += wait
        retried.append(deliver(notify_db, sender, clock))

    assert [(o.attempts, o.status, o.endpoint_disabled) for o in retried if o is not None] == [
        (attempt, "pending", False) for attempt in range(1, 7)]
    assert notify_db.events("endpoint_disabled") == [] and mails_of(notify_db) == []  # 7.6 h: not yet
    clock += RETRY_WAITS[-1]
    last = deliver(notify_db, sender, clock)  # the 7th and last attempt, 17 h 35 min after the first

    assert clock - T0 == timedelta(hours=17, minutes=35, seconds=5)
    assert last is not None and last.attempts == 7 and last.status == "failed" and last.endpoint_disabled
    [event] = notify_db.events("endpoint_disabled")
    assert event["payload"]["reason"] == "every delivery failed since 2026-11-26 09:00 UTC"
    uow = notify_db.unit_of_work(distributor_admin())
    assert integrations.get_backup_radar(uow, uow.context, None, KEYS).status == "disabled"
    # The administrator who set the endpoint up is told by mail, and the mail goes out.
    [mail] = mails_of(notify_db)
    assert (mail.recipient, mail.template, mail.tenant_id) == ("admin@northwind.example", "notice", DISTRIBUTOR)
    transport = FakeTransport()
    assert deliver_next(notify_db.unit_of_work(), transport, "Portal <no-reply@portal.test>", RetryPolicy(),
                        now=clock) is not None
    [message] = transport.sent
    assert message["To"] == "admin@northwind.example"
    assert message["Subject"] == "Backup Radar webhooks were switched off"
    text = message.get_body(("plain",)).get_content()
    assert "every delivery failed since 2026-11-26 09:00 UTC" in text and "save its URL again" in text
    # Nothing more goes to the endpoint until it is saved again.
    queue(notify_db, "run:2", at=clock)
    assert deliver(notify_db, sender, clock + timedelta(days=1)) is None and len(sender.requests) == 7


def mails_of(db: MigratedDatabase) -> list[OutgoingMail]:
    return list(db.unit_of_work().session.scalars(sa.select(OutgoingMail)))


class RadarTenancy:
    """tenancy for a distributor with one direct account and one run the day before T0."""

    def __init__(self) -> None:
        self.account_id = uuid.uuid4()
        finished = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
        self.run = BackupRunRecorded(run_id=uuid.uuid4(), task_id=uuid.uuid4(), account_id=self.account_id,
                                     owner_id=DISTRIBUTOR, status="failure", started_at=finished - timedelta(minutes=9),
                                     finished_at=finished, size_bytes=2**20, seats=4, latest=True)

    def tenant(self, tenant_id: uuid.UUID) -> TenantInfo:
        return TenantInfo(id=tenant_id, kind="distributor", name="Northwind")

    def partners(self, distributor_id: uuid.UUID) -> Iterator[PartnerRow]:
        yield from ()

    def accounts(self, owner_id: uuid.UUID, owner_kind: str) -> Iterator[AccountRow]:
        if owner_id == DISTRIBUTOR:
            yield AccountRow(id=self.account_id, owner_id=DISTRIBUTOR, name="Coho Winery", email="it@coho.example",
                             account_status="monthly_subscribed", backup_status="failed", size_bytes=2**20, seats=4,
                             tasks=1)

    def account(self, account_id: uuid.UUID) -> AccountView:
        raise NotFound("not needed: the result goes without names")

    def runs(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Iterator[RunListRow]:
        if start <= self.run.finished_at < end:
            yield RunListRow(run_id=self.run.run_id, task_id=self.run.task_id, task_name="Mail", service="exchange",
                         account_id=self.account_id, account_name="Coho Winery", owner_id=DISTRIBUTOR,
                         status="failure", started_at=self.run.started_at, finished_at=self.run.finished_at,
                         size_bytes=2**20, seats=4)


def deliveries(db: MigratedDatabase) -> list[WebhookDelivery]:
    return list(db.unit_of_work().session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def test_an_operator_switching_the_integration_off_stops_every_delivery_and_announces_it_once(notify_db):
    configured(notify_db)
    update(notify_db, distributor_admin(), report_email="inbound@radar.example")
    queue(notify_db, "run:held")  # queued before the switch-off, not sent yet
    tenancy = RadarTenancy()

    off = update(notify_db, operator(), enabled=False, distributor_id=DISTRIBUTOR)
    again = update(notify_db, operator(), enabled=False, distributor_id=DISTRIBUTOR)

    assert off.status == again.status == "off" and not off.enabled
    [event] = notify_db.events("integration_disabled")  # once, though switched off twice
    assert event["payload"]["distributor_id"] == str(DISTRIBUTOR) and event["payload"]["integration"] == "backup_radar"
    # While off: new results queue nothing, the daily CSV and health are not made...
    uow = notify_db.unit_of_work()
    assert reactions.on_backup_runs_recorded(uow, [tenancy.run], tenancy, {}) == 0
    uow.commit()
    assert backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, T0 + timedelta(hours=1)) == 0
    assert [d.source_key for d in deliveries(notify_db)] == ["run:held"] and mails_of(notify_db) == []
    # ...and what was queued before is held, not sent, nor can it be replayed.
    sender = ScriptedSender(HttpOutcome(200))
    assert deliver(notify_db, sender, T0 + timedelta(days=3)) is None and sender.requests == []
    [held] = [(d.id, d.webhook_id, d.status, d.attempts) for d in deliveries(notify_db)]
    assert held[2:] == ("pending", 0)
    admin = notify_db.unit_of_work(distributor_admin())
    with pytest.raises(Conflict):
        webhooks.replay_delivery(admin, admin.context, held[0], None)
    # Switched on again, the held message goes out (the same webhook-id), and new results are pushed again.
    update(notify_db, operator(), enabled=True, distributor_id=DISTRIBUTOR)
    sent = deliver(notify_db, sender, T0 + timedelta(days=3))
    assert sent is not None and sent.status == "succeeded" and sent.webhook_id == held[1]
    uow = notify_db.unit_of_work()
    assert reactions.on_backup_runs_recorded(uow, [tenancy.run], tenancy, {}) == 1
    uow.commit()
    # the same fakes that produced nothing while off: the CSV mail and one health message
    assert backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, T0 + timedelta(hours=1)) == 2
    assert len(notify_db.events("integration_disabled")) == 1


def test_a_redirect_is_a_failure_and_is_retried(notify_db):
    configured(notify_db)
    queue(notify_db)

    outcome = deliver(notify_db, ScriptedSender(HttpOutcome(302, "HTTP 302: redirects are not followed")), T0)

    assert outcome is not None and outcome.status == "pending" and outcome.retry_at == T0 + timedelta(seconds=5)


def test_one_message_per_cause_even_when_queued_twice(notify_db):
    configured(notify_db)
    queue(notify_db, "run:same")
    queue(notify_db, "run:same")

    uow = notify_db.unit_of_work(distributor_admin())
    assert webhooks.list_deliveries(uow, uow.context, DeliveryListQuery()).total == 1


def test_replay_sends_the_same_message_again_with_a_fresh_schedule(notify_db):
    secret = configured(notify_db)
    queue(notify_db)
    sender = ScriptedSender(HttpOutcome(200))
    first = deliver(notify_db, sender, T0)
    assert first is not None
    uow = notify_db.unit_of_work(distributor_admin())

    replayed = webhooks.replay_delivery(uow, uow.context, first.delivery_id, None, now=T0 + timedelta(hours=1))
    second = deliver(notify_db, sender, T0 + timedelta(hours=1))

    assert replayed.status == "pending" and replayed.attempts == 0
    assert second is not None and second.status == "succeeded"
    assert sender.requests[0][1]["webhook-id"] == sender.requests[1][1]["webhook-id"] == replayed.webhook_id
    assert sender.requests[0][2] == sender.requests[1][2]
    assert verify(secret, sender.requests[1], T0 + timedelta(hours=1))


def test_replay_is_refused_for_another_distributor_and_while_the_endpoint_is_disabled(notify_db):
    configured(notify_db)
    queue(notify_db)
    first = deliver(notify_db, ScriptedSender(HttpOutcome(410)), T0)
    assert first is not None
    stranger = notify_db.unit_of_work(distributor_admin(uuid.uuid4()))
    with pytest.raises(NotFound):
        webhooks.replay_delivery(stranger, stranger.context, first.delivery_id, None)

    uow = notify_db.unit_of_work(distributor_admin())
    with pytest.raises(Conflict):
        webhooks.replay_delivery(uow, uow.context, first.delivery_id, None)


def test_a_message_whose_sender_died_mid_post_goes_again_with_its_id_once_its_lease_is_over(notify_db):
    configured(notify_db)
    queue(notify_db, "run:1")

    class DiesMidPost(ScriptedSender):
        def post(self, url: str, headers: dict[str, str], body: bytes) -> HttpOutcome:
            raise SystemExit("the process was killed")

    with pytest.raises(SystemExit):
        deliver(notify_db, DiesMidPost(), T0)

    sender = ScriptedSender(HttpOutcome(200))
    assert deliver(notify_db, sender, T0 + SEND_LEASE - timedelta(seconds=1)) is None  # still taken
    again = deliver(notify_db, sender, T0 + SEND_LEASE)
    [delivery] = deliveries(notify_db)
    assert again is not None and again.status == "succeeded" and again.webhook_id == delivery.webhook_id
    assert len(sender.requests) == 1


def test_a_test_event_is_signed_delivered_and_logged_like_any_other(notify_db):
    uow = notify_db.unit_of_work(distributor_admin())
    with pytest.raises(Conflict):  # no endpoint yet
        webhooks.send_test_event(uow, uow.context, None, now=T0)
    secret = configured(notify_db)
    uow = notify_db.unit_of_work(distributor_admin())

    queued = webhooks.send_test_event(uow, uow.context, None, now=T0)
    sender = ScriptedSender(HttpOutcome(200))
    sent = deliver(notify_db, sender, T0)

    assert queued.event_type == webhooks.TEST_EVENT and queued.status == "pending"
    assert sent is not None and sent.status == "succeeded" and sent.delivery_id == queued.id
    message = verify(secret, sender.requests[0], T0)
    assert message["type"] == "portal.test" and message["data"]["requested_by"] == distributor_admin().email
