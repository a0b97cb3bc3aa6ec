"""Queueing and delivering mail through the use cases, on a SQLite database (no broker)."""

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

import servicekit.db
from contracts.errors import Conflict, ValidationFailed
from contracts.notify import SendMailRequest
from servicekit.context import SYSTEM_CALLER, CallContext
from servicekit.db import UnitOfWork
from servicekit.tables import outbox
from services.notify.adapters.models import MailStatus, OutgoingMail
from services.notify.adapters.transports import DeliveryError
from services.notify.domain.retry import RetryPolicy
from services.notify.usecases.mail import SEND_LEASE, deliver_next, enqueue_mail
from tests.support.fixtures import MigratedDatabase

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notify" / "adapters" / "migrations"
SENDER = "Backup Portal <no-reply@portal.example>"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_URL = "https://portal.test/confirm?token=SECRET-TOKEN-123"


class FakeTransport:
    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[EmailMessage] = []

    def describe(self) -> str:
        return "fake"

    def send(self, message: EmailMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


@contextlib.contextmanager
def units_of_work(url: str) -> Iterator[Callable[[], UnitOfWork]]:
    """Fresh units of work on a migrated notify database, all closed on exit. Several may
    be open at once (two delivery instances), so they are made here and not by
    ``MigratedDatabase.unit_of_work``, which ends the previous one."""
    db = MigratedDatabase("notify", MIGRATIONS, url)
    units: list[UnitOfWork] = []

    def make() -> UnitOfWork:
        ctx = CallContext("notify", SYSTEM_CALLER, f"test-{uuid.uuid4()}")
        units.append(UnitOfWork(db.session_factory, "notify", ctx))
        return units[-1]

    try:
        yield make
    finally:
        for uow in units:
            uow.close()
        db.dispose()


@pytest.fixture
def new_uow(tmp_path):
    with units_of_work(f"sqlite:///{tmp_path}/notify.db") as make:
        yield make


def request(key="confirm:1", to="ann@example.com", **overrides) -> SendMailRequest:
    data = {"template": "email_confirmation", "to": to, "to_name": "Ann", "idempotency_key": key,
            "context": {"confirm_url": TOKEN_URL, "expires_hours": 24}}
    return SendMailRequest.from_wire({**data, **overrides})


def mails(new_uow) -> list[OutgoingMail]:
    return list(new_uow().session.scalars(sa.select(OutgoingMail)))


def events(new_uow) -> list[dict]:
    return [row.body for row in new_uow().session.execute(sa.select(outbox.c.body).order_by(outbox.c.id))]


def deliver(new_uow, transport, at=T0, policy=None):
    return deliver_next(new_uow(), transport, SENDER, policy or RetryPolicy(), now=at)


def test_a_queued_mail_is_stored_rendered_and_due_at_once(new_uow):
    reply = enqueue_mail(new_uow(), request(), now=T0)

    [mail] = mails(new_uow)
    assert reply.message_id == mail.id and reply.status == "queued" and not reply.duplicate
    assert mail.status == MailStatus.QUEUED and mail.attempts == 0
    assert mail.recipient == "ann@example.com" and mail.recipient_name == "Ann"
    assert TOKEN_URL in mail.text_body and mail.subject.startswith("Confirm your email")
    assert mail.next_attempt_at == T0


def test_the_same_idempotency_key_again_queues_nothing_and_says_duplicate(new_uow):
    first = enqueue_mail(new_uow(), request(), now=T0)

    again = enqueue_mail(new_uow(), request(), now=T0)

    assert again.duplicate and again.message_id == first.message_id
    assert len(mails(new_uow)) == 1


def test_an_idempotency_key_reused_for_another_recipient_is_a_conflict(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)

    with pytest.raises(Conflict):
        enqueue_mail(new_uow(), request(to="bob@example.com"), now=T0)


def test_a_refused_context_stores_nothing(new_uow):
    with pytest.raises(ValidationFailed):
        enqueue_mail(new_uow(), request(context={"expires_hours": 24}), now=T0)

    assert mails(new_uow) == []


def test_delivery_sends_the_due_mail_marks_it_sent_and_announces_it_without_content(new_uow):
    reply = enqueue_mail(new_uow(), request(), now=T0)
    transport = FakeTransport()

    outcome = deliver(new_uow, transport)

    assert outcome.status == MailStatus.SENT and outcome.message_id == reply.message_id
    [mail] = mails(new_uow)
    assert mail.status == MailStatus.SENT and mail.attempts == 1 and mail.next_attempt_at is None
    assert [m["Message-ID"] for m in transport.sent] == [f"<{reply.message_id}@portal.example>"]
    [event] = events(new_uow)
    assert event["type"] == "mail_sent" and event["source"] == "notify"
    assert event["payload"] == {"message_id": str(reply.message_id), "template": "email_confirmation",
                                "attempts": 1}
    assert "SECRET-TOKEN" not in str(event)
    assert deliver(new_uow, transport) is None  # nothing left to do


def test_a_failed_attempt_is_retried_after_the_back_off(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)
    transport = FakeTransport(DeliveryError("ConnectionRefusedError: Connection refused"))

    failed = deliver(new_uow, transport)

    assert failed.status == MailStatus.QUEUED and failed.retry_at == T0 + timedelta(seconds=5)
    [mail] = mails(new_uow)
    assert mail.attempts == 1 and mail.last_error == "ConnectionRefusedError: Connection refused"
    assert deliver(new_uow, transport, at=T0 + timedelta(seconds=4)) is None  # not due yet
    assert deliver(new_uow, transport, at=T0 + timedelta(seconds=5)).status == MailStatus.SENT
    assert len(transport.sent) == 1 and mails(new_uow)[0].attempts == 2
    assert [e["type"] for e in events(new_uow)] == ["mail_sent"]


def test_a_mail_that_keeps_failing_is_given_up_after_the_last_attempt(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)
    policy = RetryPolicy(backoff_seconds=(1.0,), max_attempts=3)
    transport = FakeTransport(*(DeliveryError("4.2.0 try later") for _ in range(5)))

    outcomes = [deliver(new_uow, transport, at=T0 + timedelta(seconds=n), policy=policy) for n in range(5)]

    assert [o.status if o else None for o in outcomes] == ["queued", "queued", "failed", None, None]
    [mail] = mails(new_uow)
    assert mail.status == MailStatus.FAILED and mail.attempts == 3 and mail.next_attempt_at is None
    [event] = events(new_uow)
    assert event["type"] == "mail_failed" and event["payload"]["attempts"] == 3


def test_a_permanent_refusal_fails_the_mail_at_once(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)

    outcome = deliver(new_uow, FakeTransport(DeliveryError("550 no such user", permanent=True)))

    assert outcome.status == MailStatus.FAILED and outcome.attempts == 1
    assert [e["type"] for e in events(new_uow)] == ["mail_failed"]


def test_an_unexpected_transport_error_is_recorded_as_a_retry_not_a_crash(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)

    outcome = deliver(new_uow, FakeTransport(RuntimeError("boom")))

    assert outcome.status == MailStatus.QUEUED and outcome.error == "RuntimeError: boom"


def test_due_mail_goes_out_oldest_first(new_uow):
    older = enqueue_mail(new_uow(), request(key="a"), now=T0)
    newer = enqueue_mail(new_uow(), request(key="b"), now=T0 + timedelta(seconds=1))
    transport = FakeTransport()

    first = deliver(new_uow, transport, at=T0 + timedelta(seconds=2))
    second = deliver(new_uow, transport, at=T0 + timedelta(seconds=2))

    assert [first.message_id, second.message_id] == [older.message_id, newer.message_id]


def test_delivery_events_carry_the_correlation_id_of_the_request_that_queued_the_mail(new_uow):
    queueing = new_uow()
    enqueue_mail(queueing, request(), now=T0)

    deliver(new_uow, FakeTransport())

    [event] = events(new_uow)
    assert event["correlation_id"] == queueing.context.correlation_id


def test_a_delivered_confirmation_mail_keeps_no_link_in_the_database(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)
    transport = FakeTransport()

    deliver(new_uow, transport)

    assert "SECRET-TOKEN" in transport.sent[0].get_body(("plain",)).get_content()
    [mail] = mails(new_uow)
    assert "SECRET-TOKEN" not in mail.text_body + mail.html_body


def test_a_mail_is_sent_with_no_write_transaction_open(new_uow, monkeypatch):
    # A writer that finds the database locked gives up after half a second here (not 30 s).
    monkeypatch.setattr(servicekit.db, "SQLITE_LOCK_WAIT_SECONDS", 0.5)
    enqueue_mail(new_uow(), request(key="confirm:1"), now=T0)

    class OthersWriteWhileItSends(FakeTransport):
        """The SMTP conversation takes a while; meanwhile another worker queues a mail."""

        def send(self, message: EmailMessage) -> None:
            enqueue_mail(new_uow(), request(key="confirm:2", to="bob@example.com"), now=T0)
            super().send(message)

    outcome = deliver(new_uow, OthersWriteWhileItSends())

    assert outcome is not None and outcome.status == MailStatus.SENT
    assert sorted((m.recipient, m.status) for m in mails(new_uow)) == [("ann@example.com", MailStatus.SENT),
                                                                       ("bob@example.com", MailStatus.QUEUED)]


def test_a_mail_whose_sender_died_mid_send_goes_again_once_its_lease_is_over(new_uow):
    enqueue_mail(new_uow(), request(), now=T0)

    class DiesMidSend(FakeTransport):
        def send(self, message: EmailMessage) -> None:
            raise SystemExit("the process was killed")

    with pytest.raises(SystemExit):
        deliver(new_uow, DiesMidSend())

    transport = FakeTransport()
    assert deliver(new_uow, transport, at=T0 + SEND_LEASE - timedelta(seconds=1)) is None  # still taken
    again = deliver(new_uow, transport, at=T0 + SEND_LEASE)
    assert again is not None and again.status == MailStatus.SENT and again.attempts == 2
    assert len(transport.sent) == 1
