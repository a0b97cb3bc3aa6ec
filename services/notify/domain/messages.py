"""Building the MIME message of an outgoing mail. Pure domain code."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from services.notify.domain.rendering import RenderedMail, one_line

FALLBACK_DOMAIN = "portal.localhost"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Addressing:
    message_id: uuid.UUID
    sender: str
    recipient: str
    recipient_name: str | None
    date: datetime


def message_id_header(message_id: uuid.UUID, sender: str) -> str:
    """``<uuid@sender-domain>``: the same for every attempt, so a resend after a crash
    between "sent" and "marked sent" is recognisable as the same message."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return f"<{message_id}@{domain if at and domain else FALLBACK_DOMAIN}>"


def build_message(addressing: Addressing, content: RenderedMail,
                  attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML as the preferred part; with
    attachments, that inside a multipart/mixed followed by the files."""
    message = EmailMessage()
    message["From"] = addressing.sender
    name = one_line(addressing.recipient_name) if addressing.recipient_name else ""
    message["To"] = Address(display_name=name, addr_spec=addressing.recipient)
    message["Subject"] = one_line(content.subject)
    date = addressing.date if addressing.date.tzinfo else addressing.date.replace(tzinfo=UTC)
    message["Date"] = format_datetime(date.astimezone(UTC))
    message["Message-ID"] = message_id_header(addressing.message_id, addressing.sender)
    # RFC 3834: no auto-replies (out-of-office) back to a no-reply sender.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=one_line(attachment.filename))
    return message
