"""The notify service's mail, end to end: real RabbitMQ, real PostgreSQL, a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from contracts.errors import ValidationFailed
from servicekit.db import make_engine
from servicekit.settings import normalise_database_url
from servicekit.tables import outbox
from services.notify.adapters.mail_queue import next_due_mail
from services.notify.adapters.models import MailStatus, OutgoingMail
from services.notify.domain.retry import RetryPolicy
from services.notify.entrypoints import NotifyService
from services.notify.usecases.mail import deliver_next, enqueue_mail
from tests.support.fixtures import wait_for
from tests.usecases.test_notify_mail_delivery import SENDER, FakeTransport, units_of_work
from tests.usecases.test_notify_mail_delivery import request as mail_request

pytestmark = pytest.mark.integration

CONFIRM_URL = "https://portal.test/confirm?token=tok-123"


def confirmation(key: str = "confirm:1", **overrides: Any) -> dict[str, Any]:
    return {
        "template": "email_confirmation",
        "to": "ann@example.com",
        "to_name": "Ann Example",
        "idempotency_key": key,
        "context": {"confirm_url": CONFIRM_URL, "expires_hours": 24, "display_name": "Ann"},
        **overrides,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """aiosmtpd on a localhost port; keeps what it received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_servers() -> Iterator[list[SmtpServer]]:
    started: list[SmtpServer] = []
    yield started
    for server in started:
        server.stop()


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    return {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(port), "NOTIFY_SMTP_TIMEOUT": "5",
            "NOTIFY_DELIVERY_POLL_SECONDS": "0.1", **extra}


def notify_engine() -> sa.Engine:
    return make_engine(normalise_database_url(os.environ["NOTIFY_DATABASE_URL"]))


def stored_mail(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(OutgoingMail.__table__)).all())


def published_events(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(outbox.c.body).where(outbox.c.published_at.is_not(None)).order_by(outbox.c.id)
        ).all()
    return [row.body for row in rows]


def test_without_smtp_the_mail_lands_in_the_maildir(start_services, rpc_proxy, tmp_path, monkeypatch):
    monkeypatch.delenv("NOTIFY_SMTP_HOST", raising=False)
    start_services(NotifyService)
    maildir = tmp_path / "var" / "mail"

    reply = rpc_proxy.notify.send_mail(confirmation())

    assert reply["status"] == "queued" and reply["duplicate"] is False
    messages = wait_for(lambda: list(mailbox.Maildir(maildir, create=False)) if maildir.exists() else [],
                        message="the mail in the Maildir")
    [message] = messages
    assert message["To"] == "Ann Example <ann@example.com>"
    assert message["Message-ID"] == f"<{reply['message_id']}@portal.localhost>"
    assert message["Subject"] == "Confirm your email address for the Backup Portal"
    engine = notify_engine()
    [mail] = wait_for(lambda: [m for m in stored_mail(engine) if m.status == MailStatus.SENT],
                      message="the mail marked sent")
    assert mail.attempts == 1 and mail.sent_at is not None
    [event] = wait_for(lambda: published_events(engine), message="mail_sent on notify.events")
    assert event["type"] == "mail_sent" and event["payload"]["message_id"] == reply["message_id"]
    assert "tok-123" not in str(event)


def test_an_smtp_server_receives_one_multipart_mail(start_services, rpc_proxy, smtp_port, smtp_servers):
    server = SmtpServer(smtp_port).start()
    smtp_servers.append(server)
    start_services(NotifyService, env=smtp_env(smtp_port))

    reply = rpc_proxy.notify.send_mail(confirmation())

    [message] = wait_for(lambda: server.received, message="the mail at the SMTP server")
    [envelope] = server.envelopes
    assert envelope.rcpt_tos == ["ann@example.com"] and envelope.mail_from == "no-reply@portal.localhost"
    assert message["Subject"] == "Confirm your email address for the Backup Portal"
    assert message["To"].addresses[0].addr_spec == "ann@example.com"
    assert message["From"] == "Backup Portal <no-reply@portal.localhost>"
    assert message["Message-ID"] == f"<{reply['message_id']}@portal.localhost>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and CONFIRM_URL in text.get_content()
    assert html.get_content_type() == "text/html" and "Hello Ann," in html.get_content()


def test_the_same_idempotency_key_twice_delivers_one_mail(start_services, rpc_proxy, smtp_port, smtp_servers):
    server = SmtpServer(smtp_port).start()
    smtp_servers.append(server)
    start_services(NotifyService, env=smtp_env(smtp_port))

    first = rpc_proxy.notify.send_mail(confirmation(key="confirm:same"))
    second = rpc_proxy.notify.send_mail(confirmation(key="confirm:same"))

    assert second == {"message_id": first["message_id"], "status": second["status"], "duplicate": True}
    wait_for(lambda: server.received, message="the mail at the SMTP server")
    engine = notify_engine()
    wait_for(lambda: published_events(engine), message="mail_sent on notify.events")
    time.sleep(0.5)  # several delivery polls: a second copy would show up by now
    assert len(server.received) == 1
    assert len(stored_mail(engine)) == 1
    third = rpc_proxy.notify.send_mail(confirmation(key="confirm:same"))
    assert third["duplicate"] is True and third["status"] == "sent"


def test_mail_is_retried_until_the_smtp_server_is_up(start_services, rpc_proxy, smtp_port, smtp_servers):
    start_services(NotifyService, env=smtp_env(smtp_port, NOTIFY_RETRY_BACKOFF_SECONDS="0.2",
                                               NOTIFY_MAX_ATTEMPTS="100"))
    engine = notify_engine()

    reply = rpc_proxy.notify.send_mail(confirmation())

    [failing] = wait_for(lambda: [m for m in stored_mail(engine) if m.attempts >= 2],
                         message="two refused attempts")
    assert failing.status == MailStatus.QUEUED and failing.last_error.startswith("ConnectionRefusedError")
    server = SmtpServer(smtp_port).start()
    smtp_servers.append(server)
    [mail] = wait_for(lambda: [m for m in stored_mail(engine) if m.status == MailStatus.SENT],
                      message="the mail delivered once the server is up")
    assert mail.attempts >= 3 and mail.last_error is None
    assert len(server.received) == 1
    assert server.received[0]["Message-ID"] == f"<{reply['message_id']}@portal.localhost>"
    [event] = wait_for(lambda: published_events(engine), message="mail_sent on notify.events")
    assert event["type"] == "mail_sent" and event["payload"]["attempts"] == mail.attempts


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"template": "generic"}, "template"),
        ({"context": {"expires_hours": 24}}, "context.confirm_url"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_input_reaches_the_caller_as_validation_failed_naming_the_field(
    start_services, rpc_proxy, tmp_path, monkeypatch, change, field
):
    monkeypatch.delenv("NOTIFY_SMTP_HOST", raising=False)
    start_services(NotifyService)

    with pytest.raises(ValidationFailed) as caught:
        rpc_proxy.notify.send_mail(confirmation(**change))

    assert [f["field"] for f in caught.value.details["fields"]] == [field]
    assert stored_mail(notify_engine()) == []


@pytest.fixture
def notify_units(database_url, postgres_admin_url) -> Iterator[Any]:
    if postgres_admin_url is None:
        pytest.skip("row locking needs PostgreSQL")
    with units_of_work(normalise_database_url(database_url("notify"))) as make:
        yield make


def test_two_delivery_loops_never_take_the_same_mail(notify_units):
    now = datetime.now(UTC)
    first = enqueue_mail(notify_units(), mail_request(key="a"), now=now)
    second = enqueue_mail(notify_units(), mail_request(key="b"), now=now)
    seen_by_other: list[Any] = []

    class OtherInstanceRunsMeanwhile(FakeTransport):
        """While this instance sends (row locked), another instance looks for work."""

        def send(self, message: Any) -> None:
            other = notify_units()
            seen_by_other.append(next_due_mail(other.session, now))
            seen_by_other.append(deliver_next(other, FakeTransport(), SENDER, RetryPolicy(), now=now))
            super().send(message)

    outcome = deliver_next(notify_units(), OtherInstanceRunsMeanwhile(), SENDER, RetryPolicy(), now=now)

    due_for_other, delivered_by_other = seen_by_other
    assert outcome is not None and due_for_other is not None and delivered_by_other is not None
    # The other instance skipped the locked row instead of waiting for it or taking it too.
    assert due_for_other.id == delivered_by_other.message_id != outcome.message_id
    assert {outcome.message_id, delivered_by_other.message_id} == {first.message_id, second.message_id}
