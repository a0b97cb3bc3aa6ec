"""notify's SMTP transport against a real server that insists on TLS and a login: STARTTLS and
implicit TLS (SMTPS), AUTH PLAIN and LOGIN, a private CA trusted through NOTIFY_SMTP_CA_FILE.

The server is aiosmtpd, its certificate issued by a CA this test makes; the service runs
in-process on the real broker and database (as in test_notify_mail).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify.adapters.models import MailStatus
from services.notify.entrypoints import NotifyService
from tests.integration.test_notify_mail import (
    confirmation,
    free_port,
    notify_engine,
    published_events,
    smtp_env,
    stored_mail,
)
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration

USERNAME = "portal-mailer"
PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "not-the-password-7f3a9c"


# ---- a private CA and the server's certificate -----------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(directory: Path) -> Pki:
    """A CA (self-signed) and a certificate it issued for 127.0.0.1 / localhost."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Notify Test CA")).issuer_name(_name("Notify Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    pki.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


# ---- the server ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    mechanism: str
    username: str
    password: str
    accepted: bool


class TlsAuthSmtpServer:
    """aiosmtpd that accepts mail only over TLS and after a login with USERNAME / PASSWORD.

    ``implicit=True``: TLS from the first byte (SMTPS); otherwise STARTTLS is required.
    ``mechanism``: the only AUTH mechanism offered (PLAIN or LOGIN).
    """

    def __init__(self, pki: Pki, port: int, implicit: bool = False, mechanism: str = "PLAIN") -> None:
        self.port = port
        self.logins: list[Login] = []
        self.received: list[email.message.EmailMessage] = []
        self.sessions: list[dict[str, Any]] = []
        others = [m for m in ("PLAIN", "LOGIN") if m != mechanism]
        smtp_options: dict[str, Any] = {
            "authenticator": self._authenticate, "auth_required": True, "auth_exclude_mechanism": others,
            # aiosmtpd counts only STARTTLS as TLS for AUTH; an SMTPS connection is TLS throughout.
            "auth_require_tls": not implicit,
        }
        if implicit:
            self.controller = Controller(self, hostname="127.0.0.1", port=port, ssl_context=pki.server_context(),
                                         **smtp_options)
        else:
            self.controller = Controller(self, hostname="127.0.0.1", port=port, tls_context=pki.server_context(),
                                         require_starttls=True, **smtp_options)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        username, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = (username, password) == (USERNAME, PASSWORD)
        self.logins.append(Login(mechanism, username, password, accepted))
        return AuthResult(success=accepted, handled=False)  # not handled: aiosmtpd answers 535

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.sessions.append({"tls": tls, "authenticated": session.authenticated})
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> TlsAuthSmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    directory = tmp_path / "pki"
    directory.mkdir()
    return make_pki(directory)


@pytest.fixture
def servers() -> Iterator[list[TlsAuthSmtpServer]]:
    started: list[TlsAuthSmtpServer] = []
    yield started
    for server in started:
        server.stop()


def serve(servers: list[TlsAuthSmtpServer], pki: Pki, **options: Any) -> TlsAuthSmtpServer:
    server = TlsAuthSmtpServer(pki, free_port(), **options).start()
    servers.append(server)
    return server


def tls_env(server: TlsAuthSmtpServer, pki: Pki | None, password: str = PASSWORD, implicit: bool = False,
            **extra: str) -> dict[str, str]:
    mode = {"NOTIFY_SMTP_SSL": "true"} if implicit else {"NOTIFY_SMTP_STARTTLS": "true"}
    ca = {"NOTIFY_SMTP_CA_FILE": str(pki.ca_file)} if pki is not None else {}
    return smtp_env(server.port, NOTIFY_SMTP_USERNAME=USERNAME, NOTIFY_SMTP_PASSWORD=password, **mode, **ca,
                    **extra)


def sent_mail(engine: Any) -> list[Any]:
    return [m for m in stored_mail(engine) if m.status == MailStatus.SENT]


def test_starttls_is_verified_against_the_configured_ca_and_the_login_is_checked(
        start_services, rpc_proxy, pki, servers):
    server = serve(servers, pki)
    start_services(NotifyService, env=tls_env(server, pki))

    reply = rpc_proxy.notify.send_mail(confirmation())

    [message] = wait_for(lambda: server.received, message="the mail at the STARTTLS server")
    assert message["Message-ID"] == f"<{reply['message_id']}@portal.localhost>"
    assert server.sessions == [{"tls": True, "authenticated": True}]
    assert server.logins == [Login("PLAIN", USERNAME, PASSWORD, True)]
    [mail] = wait_for(lambda: sent_mail(notify_engine()), message="the mail marked sent")
    assert mail.attempts == 1


def test_auth_login_is_used_when_it_is_the_only_mechanism_offered(start_services, rpc_proxy, pki, servers):
    server = serve(servers, pki, mechanism="LOGIN")
    start_services(NotifyService, env=tls_env(server, pki))

    rpc_proxy.notify.send_mail(confirmation())

    wait_for(lambda: server.received, message="the mail at the STARTTLS server")
    assert server.logins == [Login("LOGIN", USERNAME, PASSWORD, True)]
    assert server.sessions == [{"tls": True, "authenticated": True}]


def test_implicit_tls_smtps_delivers_after_the_login(start_services, rpc_proxy, pki, servers):
    server = serve(servers, pki, implicit=True)
    start_services(NotifyService, env=tls_env(server, pki, implicit=True))

    rpc_proxy.notify.send_mail(confirmation())

    [message] = wait_for(lambda: server.received, message="the mail at the SMTPS server")
    assert message["Subject"] == "Confirm your email address for the Backup Portal"
    assert server.sessions == [{"tls": True, "authenticated": True}]
    assert server.logins == [Login("PLAIN", USERNAME, PASSWORD, True)]


def test_a_wrong_password_is_retried_and_recorded_and_never_logged_or_announced(
        start_services, rpc_proxy, pki, servers, caplog):
    caplog.set_level(logging.INFO)
    server = serve(servers, pki)
    start_services(NotifyService, env=tls_env(server, pki, password=WRONG_PASSWORD,
                                              NOTIFY_RETRY_BACKOFF_SECONDS="0.2", NOTIFY_MAX_ATTEMPTS="3"))
    engine = notify_engine()

    rpc_proxy.notify.send_mail(confirmation())

    [failed] = wait_for(lambda: [m for m in stored_mail(engine) if m.status == MailStatus.FAILED],
                        message="the mail given up after its attempts")
    assert failed.attempts == 3 and failed.last_error.startswith("SMTP login refused: 535")
    assert server.received == []
    assert [login.password for login in server.logins] == [WRONG_PASSWORD] * 3  # checked by the server each time
    assert not any(login.accepted for login in server.logins)
    [event] = wait_for(lambda: published_events(engine), message="mail_failed on notify.events")
    assert event["type"] == "mail_failed" and event["payload"]["attempts"] == 3
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "mail delivery failed" in logged and "SMTP login refused" in logged  # the failures were logged...
    assert WRONG_PASSWORD not in logged and PASSWORD not in logged  # ...without the password
    stored = json.dumps([dict(row._mapping) for row in stored_mail(engine)], default=str)
    assert WRONG_PASSWORD not in stored and WRONG_PASSWORD not in json.dumps(published_events(engine))


def test_a_certificate_from_an_untrusted_ca_is_refused_without_the_ca_file(start_services, rpc_proxy, pki,
                                                                            servers):
    server = serve(servers, pki)
    start_services(NotifyService, env=tls_env(server, None, NOTIFY_RETRY_BACKOFF_SECONDS="0.2",
                                              NOTIFY_MAX_ATTEMPTS="100"))
    engine = notify_engine()

    rpc_proxy.notify.send_mail(confirmation())

    [failing] = wait_for(lambda: [m for m in stored_mail(engine) if m.attempts >= 2],
                         message="two attempts refused by certificate verification")
    assert failing.status == MailStatus.QUEUED and "CERTIFICATE_VERIFY_FAILED" in failing.last_error
    assert server.received == [] and server.logins == []  # no password was sent to an unverified server
