"""Mail caused by identity, end to end: real RabbitMQ, real PostgreSQL, identity and notify
in-process, and a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange, Producer
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.context import CALLER_KEY, Caller
from contracts.envelope import Actor, EventEnvelope
from servicekit.tables import processed_events
from services.identity.entrypoints import IdentityService
from services.notify.entrypoints import NotifyService
from services.tenancy.entrypoints import TenancyService
from tests.integration import test_notify_mail
from tests.integration.test_notify_mail import SmtpServer, notify_engine, smtp_env
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration

OPERATOR_EMAIL, OPERATOR_PASSWORD = "operator@notify-it.example", "operator-integration-password"
NEW_USER_PASSWORD = "a lantern over the quiet bay"
# The SMTP fixtures of the mail tests: a free port, and the servers stopped after the test.
smtp_port = test_notify_mail.smtp_port
smtp_servers = test_notify_mail.smtp_servers


@pytest.fixture
def smtp(smtp_port: int, smtp_servers: list[SmtpServer]) -> SmtpServer:
    server = SmtpServer(smtp_port).start()
    smtp_servers.append(server)
    return server


@pytest.fixture
def suite(start_services: Any, smtp: SmtpServer) -> SmtpServer:
    start_services(IdentityService, NotifyService, TenancyService, env={
        **smtp_env(smtp.port),
        "PORTAL_OPERATOR_EMAIL": OPERATOR_EMAIL,
        "PORTAL_OPERATOR_PASSWORD": OPERATOR_PASSWORD,
        "PORTAL_PUBLIC_BASE_URL": "https://portal.test",
    })
    return smtp


@pytest.fixture
def operator(suite: SmtpServer, rpc_proxy: Any, nameko_config: dict[str, Any]) -> Iterator[Any]:
    """An RPC proxy acting as the signed-in operator administrator."""
    signed_in = rpc_proxy.identity.sign_in({"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
    user = signed_in["user"]
    caller = Caller(user_id=user["id"], tenant_id=user["tenant_id"], tenant_kind="operator", email=user["email"],
                    role="administrator", ip="203.0.113.20")
    with ClusterRpcProxy(nameko_config, context_data={CALLER_KEY: caller.to_wire()}, timeout=15) as proxy:
        yield proxy


def mail_to(server: SmtpServer, address: str) -> list[Any]:
    return [m for m in server.received if m["To"].addresses[0].addr_spec == address]


def test_a_new_users_confirmation_mail_arrives_with_a_link_that_confirms(suite, operator, rpc_proxy):
    email = f"new-{uuid.uuid4().hex[:8]}@notify-it.example"

    operator.identity.create_user({"email": email, "role": "custom", "permissions": ["view_dashboard"]})

    [message] = wait_for(lambda: mail_to(suite, email), message="the confirmation mail at the SMTP server")
    assert message["Subject"] == "Confirm your email address for the Backup Portal"
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"https://portal\.test/confirm-email\?token=(\S+)", text)
    assert link is not None, text
    rpc_proxy.identity.confirm_email({"token": link.group(1), "password": NEW_USER_PASSWORD})
    signed_in = rpc_proxy.identity.sign_in({"email": email, "password": NEW_USER_PASSWORD})
    assert signed_in["user"]["email_confirmed"] is True


def test_an_ip_restriction_change_mails_the_administrators(suite, operator):
    operator.identity.add_ip_entry({"description": "Head office", "addresses": "198.51.100.7"})

    [message] = wait_for(lambda: mail_to(suite, OPERATOR_EMAIL), message="the security notice")
    assert message["Subject"] == "Security notice: IP restrictions changed"
    text = message.get_body(("plain",)).get_content()
    assert "Entry added: Head office" in text and "203.0.113.20" in text


def test_a_redelivered_event_sends_no_second_mail(suite, nameko_config):
    envelope = recovery_code_used("ann@notify-it.example")
    marker = recovery_code_used("marker@notify-it.example")

    publish(nameko_config, envelope, envelope)  # the outbox relay publishing again after a crash, say
    [message] = wait_for(lambda: mail_to(suite, "ann@notify-it.example"), message="the recovery code notice")
    assert message["Subject"] == "Security notice: A recovery code was used"
    publish(nameko_config, marker)  # queued behind both copies: once its mail is out, so would a second one be

    wait_for(lambda: mail_to(suite, "marker@notify-it.example"), message="the later marker mail")
    assert len(mail_to(suite, "ann@notify-it.example")) == 1
    engine = notify_engine()
    assert _handled(engine, envelope.event_id) == 1
    engine.dispose()


def recovery_code_used(email: str) -> EventEnvelope:
    return EventEnvelope(type="recovery_code_used", source="identity", tenant_id=uuid.uuid4(),
                         actor=Actor(ip="203.0.113.30"),
                         payload={"user_id": str(uuid.uuid4()), "email": email, "remaining": 7})


def publish(nameko_config: dict[str, Any], *envelopes: EventEnvelope) -> None:
    exchange = Exchange("identity.events", type="topic", durable=True)
    with Connection(nameko_config["AMQP_URI"], transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection, exchange=exchange, serializer="json")
        for envelope in envelopes:
            producer.publish(envelope.to_wire(), routing_key="recovery_code_used", declare=[exchange],
                             message_id=str(envelope.event_id))


def _handled(engine: sa.Engine, event_id: uuid.UUID) -> int:
    with engine.connect() as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(processed_events).where(processed_events.c.event_id == event_id)
        ).scalar_one())
