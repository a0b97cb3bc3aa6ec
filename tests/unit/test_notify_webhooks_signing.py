"""Standard Webhooks signatures and the retry schedule of webhook deliveries."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify.adapters.keys import NotifyKeys, new_webhook_secret
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.webhook_messages import new_webhook_id, signed_headers, webhook_body
from services.notify.settings import NotifySettings


def test_a_delivery_verifies_with_the_standardwebhooks_library():
    NOW = datetime.now(UTC)  # per test: the library refuses timestamps over 5 minutes old
    secret = new_webhook_secret()
    body = webhook_body("backup.result", {"status": "Success"}, NOW)
    headers = signed_headers(secret, "msg_1", body, NOW)

    assert Webhook(secret).verify(body.encode(), headers) == {"type": "backup.result", "timestamp": NOW.isoformat(),
                                                              "data": {"status": "Success"}}
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")


def test_one_changed_body_byte_fails_verification():
    NOW = datetime.now(UTC)  # per test: the library refuses timestamps over 5 minutes old
    secret = new_webhook_secret()
    body = webhook_body("backup.result", {"status": "Success"}, NOW)
    headers = signed_headers(secret, "msg_1", body, NOW)
    tampered = body.replace("Success", "Sucdess")

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered.encode(), headers)


def test_another_secret_or_another_id_fails_verification():
    NOW = datetime.now(UTC)  # per test: the library refuses timestamps over 5 minutes old
    secret = new_webhook_secret()
    body = webhook_body("account.health", {}, NOW)
    headers = signed_headers(secret, "msg_1", body, NOW)

    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})


def test_secrets_and_ids_have_the_standard_forms_and_differ_every_time():
    secrets = {new_webhook_secret() for _ in range(20)}
    ids = {new_webhook_id() for _ in range(20)}

    assert len(secrets) == 20 and all(s.startswith("whsec_") and len(s) == 6 + 44 for s in secrets)
    assert len(ids) == 20 and all(i.startswith("msg_") for i in ids)


def test_the_body_is_compact_json_with_type_timestamp_and_data():
    NOW = datetime.now(UTC)  # per test: the library refuses timestamps over 5 minutes old
    body = webhook_body("backup.result", {"b": 1, "a": "x"}, NOW)

    assert body == json.dumps({"data": {"a": "x", "b": 1}, "timestamp": NOW.isoformat(), "type": "backup.result"},
                              separators=(",", ":"))


def test_the_default_schedule_retries_over_hours_then_gives_up_after_seven_attempts():
    settings = NotifySettings()
    policy = RetryPolicy(settings.webhook_backoff_seconds, settings.webhook_max_attempts)

    delays = [policy.delay_after(attempt) for attempt in range(1, 8)]

    assert delays == [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                      timedelta(hours=5), timedelta(hours=10), None]


def test_a_report_link_signature_is_bound_to_the_file_and_the_expiry():
    keys, file_id = NotifyKeys(b"k" * 43 + b"="), uuid.uuid4()
    signature = keys.sign_link(file_id, 1_900_000_000)

    assert keys.link_signature_valid(file_id, 1_900_000_000, signature)
    assert not keys.link_signature_valid(file_id, 1_900_000_001, signature)
    assert not keys.link_signature_valid(uuid.uuid4(), 1_900_000_000, signature)
    assert not keys.link_signature_valid(file_id, 1_900_000_000, signature[:-1] + ("A" if signature[-1] != "A" else "B"))
