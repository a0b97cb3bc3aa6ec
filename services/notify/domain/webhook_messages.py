"""What a Backup Radar webhook message is on the wire: its id, its body and its signed headers.
Pure domain code.

Signed per the Standard Webhooks spec with the ``standardwebhooks`` library: headers
``webhook-id`` (``msg_…``, the same on every retry and replay), ``webhook-timestamp``
(seconds, the moment of this attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``
of ``id.timestamp.body`` with the endpoint's ``whsec_`` secret). The body is stored as
the exact text sent, so every attempt signs the same bytes.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

USER_AGENT = "BackupPortal-Webhooks/1.0"
WEBHOOK_ID_PREFIX = "msg_"


def new_webhook_id() -> str:
    return WEBHOOK_ID_PREFIX + uuid.uuid4().hex


def webhook_body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """``{"type", "timestamp", "data"}`` (the Standard Webhooks payload shape), compact JSON."""
    return json.dumps({"type": event_type, "timestamp": at.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True)


def signed_headers(secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    whole_second = datetime.fromtimestamp(int(at.timestamp()), UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(whole_second.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, whole_second, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
