import email
import email.policy
import mailbox
import smtplib
import uuid
from datetime import UTC, datetime

import pytest

from services.notify.adapters.transports import DeliveryError, MaildirTransport, delivery_error
from services.notify.domain.messages import Addressing, build_message, message_id_header
from services.notify.domain.rendering import RenderedMail

MESSAGE_ID = uuid.UUID("6f1c1d2e-1111-4222-8333-444455556666")
CONTENT = RenderedMail(subject="Grüße", text="Hello Ann,\nplain text\n", html="<p>Hello <b>Ann</b></p>")
ADDRESSING = Addressing(
    message_id=MESSAGE_ID,
    sender="Backup Portal <no-reply@portal.example>",
    recipient="ann@example.com",
    recipient_name="Ann Müller",
    date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)


def parsed(message):
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def test_message_is_multipart_alternative_with_text_then_html():
    message = parsed(build_message(ADDRESSING, CONTENT))

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == CONTENT.text
    assert parts[1].get_content().strip() == CONTENT.html


def test_headers_carry_sender_recipient_subject_and_date():
    message = parsed(build_message(ADDRESSING, CONTENT))

    assert message["From"].addresses[0].addr_spec == "no-reply@portal.example"
    assert message["To"].addresses[0].addr_spec == "ann@example.com"
    assert message["To"].addresses[0].display_name == "Ann Müller"
    assert message["Subject"] == "Grüße"
    assert message["Date"].datetime == ADDRESSING.date
    assert message["Auto-Submitted"] == "auto-generated"


def test_message_id_is_derived_from_the_mail_id_and_the_same_on_every_attempt():
    first = build_message(ADDRESSING, CONTENT)
    retry = build_message(ADDRESSING, CONTENT)

    assert first["Message-ID"] == retry["Message-ID"] == f"<{MESSAGE_ID}@portal.example>"
    assert message_id_header(MESSAGE_ID, "no-address") == f"<{MESSAGE_ID}@portal.localhost>"


def test_a_recipient_name_with_line_breaks_cannot_add_headers():
    addressing = Addressing(MESSAGE_ID, ADDRESSING.sender, "ann@example.com", "Ann\r\nBcc: evil@example.com",
                            ADDRESSING.date)

    message = parsed(build_message(addressing, CONTENT))

    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["ann@example.com"]


def test_maildir_transport_writes_a_message_mailbox_can_read(tmp_path):
    transport = MaildirTransport(tmp_path / "var" / "mail")

    transport.send(build_message(ADDRESSING, CONTENT))

    stored = list(mailbox.Maildir(tmp_path / "var" / "mail", create=False))
    assert len(stored) == 1 and stored[0]["Message-ID"] == f"<{MESSAGE_ID}@portal.example>"


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"5.1.1 no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"4.2.0 try later")}), False),
        (smtplib.SMTPDataError(554, b"5.7.1 rejected as spam"), True),
        (smtplib.SMTPDataError(451, b"4.3.0 local error"), False),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), False),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False),
        (ConnectionRefusedError(111, "Connection refused"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_only_a_permanent_smtp_refusal_of_the_message_stops_the_retries(error, permanent):
    classified = delivery_error(error)

    assert isinstance(classified, DeliveryError)
    assert classified.permanent is permanent
    assert classified.reason and len(classified.reason) <= 300
