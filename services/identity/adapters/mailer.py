"""The port through which identity asks notify to send transactional mail."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from contracts.notify import SendMailRequest
from servicekit.logging import get_logger

log = get_logger(__name__)


class Mailer(Protocol):
    def send(self, request: SendMailRequest) -> bool: ...

    def post(self, request: SendMailRequest) -> None:
        """Hand the mail over without waiting for notify (see :meth:`NotifyMailer.post`)."""
        ...


class NotifyMailer:
    """Calls notify's ``send_mail`` RPC. A failure is logged and reported, never raised:
    the change that caused the mail is already committed, and "resend" exists."""

    def __init__(self, notify_proxy: Any) -> None:
        self._notify = notify_proxy

    def send(self, request: SendMailRequest) -> bool:
        try:
            self._notify.send_mail(request.to_wire())
            return True
        except Exception as exc:
            log.warning("mail request failed", template=request.template, error=type(exc).__name__)
            return False

    def post(self, request: SendMailRequest) -> None:
        """Publish the mail request and return at once: an answer that must take as long
        whether or not a mail goes out (a password reset request) never waits for notify.
        Notify stores the mail on arrival; a failure to publish is logged, never raised."""
        try:
            self._notify.send_without_waiting("send_mail", request.to_wire())
        except Exception as exc:
            log.warning("mail request failed", template=request.template, error=type(exc).__name__)


def mail(template: str, to: str, context: dict[str, Any], key: str, tenant_id: uuid.UUID | None) -> SendMailRequest:
    return SendMailRequest(template=template, to=to, context=context, idempotency_key=key, tenant_id=tenant_id)
