"""Where mail goes: an SMTP server, or a local Maildir when none is configured.

Both raise :class:`DeliveryError` for anything that went wrong, with a short reason (no
secrets, no message content) and whether trying again could help. Sending blocks: under
eventlet's monkey-patching smtplib's socket is cooperative, and a Maildir write is quick.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from services.notify.settings import NotifySettings


class DeliveryError(Exception):
    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def describe(self) -> str: ...


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return f"maildir {self.path}"

    def send(self, message: EmailMessage) -> None:
        try:
            # mailbox.Maildir(create=True) makes the folder but not its parents.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(self.path, create=True).add(message)
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc.strerror or exc}") from exc


def _smtp_reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}"


def delivery_error(exc: Exception) -> DeliveryError:
    """Any error of a send as a DeliveryError.

    A 5xx answer about this message is permanent; the rest (4xx, network, TLS, our own
    login) may pass, so it is retried.
    """
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        permanent = bool(replies) and all(code >= 500 for code, _ in replies)
        detail = "; ".join(_smtp_reply(code, text) for code, text in replies)
        return DeliveryError(f"recipient refused: {detail}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our credentials are wrong, not the message: retry once an operator fixed them.
        return DeliveryError(f"SMTP login refused: {_smtp_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        permanent = 500 <= exc.smtp_code < 600
        return DeliveryError(f"{type(exc).__name__}: {_smtp_reply(exc.smtp_code, exc.smtp_error)}",
                             permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"{type(exc).__name__}: {_smtp_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, OSError) and exc.strerror:
        return DeliveryError(f"{type(exc).__name__}: {exc.strerror}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")


class SmtpTransport:
    """One connection per message (simple, and nothing to go stale between bursts)."""

    def __init__(self, settings: NotifySettings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.effective_smtp_port
        self.timeout = settings.smtp_timeout
        self.use_ssl = settings.smtp_ssl
        self.starttls = settings.smtp_starttls
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.ca_file = settings.smtp_ca_file

    def _tls_context(self) -> ssl.SSLContext:
        # Certificate and host name verified; a private CA is trusted only through the file given.
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def describe(self) -> str:
        mode = "ssl" if self.use_ssl else "starttls" if self.starttls else "plain"
        return f"smtp {self.host}:{self.port} ({mode})"

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            try:
                smtp.starttls(context=self._tls_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise delivery_error(exc) from exc
        try:
            if self.username:
                password = self.password.get_secret_value() if self.password else ""
                smtp.login(self.username, password)
            smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise delivery_error(exc) from exc
        finally:
            # The message is accepted once send_message returned: a failing QUIT must
            # not turn that into a retry (and a second copy).
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def make_transport(settings: NotifySettings, var_dir: Path) -> Transport:
    if settings.uses_smtp:
        return SmtpTransport(settings)
    return MaildirTransport(Path(var_dir) / "mail")
