"""The port through which identity asks notify to send transactional mail."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from contracts.notify import SendMailRequest
from servicekit.logging import get_logger

log = get_logger(__name__)


class Mailer(Protocol):
    def send(self, request: SendMailRequest) -> bool: ...


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


def mail(template: str, to: str, context: dict[str, Any], key: str, tenant_id: uuid.UUID | None) -> SendMailRequest:
    return SendMailRequest(template=template, to=to, context=context, idempotency_key=key, tenant_id=tenant_id)
