"""Use cases of Backup Radar webhooks: queue, deliver with retries, disable, replay, list.

Each message is signed per the Standard Webhooks spec (services/notify/domain/webhook_messages.py).
Delivery is at-least-once, one message at a time, and no transaction is open during the
HTTP request: the loop takes the message (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
competing instances skip it; not due again until its lease has passed) and commits, posts,
then records the outcome in a new transaction. A loop that died mid-post has the message
sent again once the lease is over (the same ``webhook-id``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog

from contracts.errors import Conflict, NotFound
from contracts.events import NotifyEvent
from contracts.notify import (
    DeliveryListQuery,
    DeliveryPage,
    DeliveryStatus,
    DeliveryView,
    EndpointDisabled,
    SendMailRequest,
)
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.notify.adapters.http_sender import HttpOutcome, WebhookSender
from services.notify.adapters.keys import NotifyKeys
from services.notify.adapters.models import Integration, WebhookDelivery
from services.notify.adapters.webhook_queue import deliveries_page, insert_delivery, next_due_delivery
from services.notify.domain.access import integration_access
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.webhook_messages import new_webhook_id, signed_headers, webhook_body
from services.notify.usecases.mail import SEND_LEASE, queue_mail

log = get_logger(__name__)

GONE_REASON = "the endpoint answered 410 Gone"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_active(integration: Integration | None) -> bool:
    return bool(integration and integration.enabled and integration.url and integration.disabled_at is None
                and integration.secret_sealed)


def queue_webhook(uow: UnitOfWork, tenant_id: uuid.UUID, source_key: str, event_type: str,
                  data: dict[str, Any], now: datetime | None = None) -> bool:
    """Queue one message for the distributor's endpoint; the same ``source_key`` again queues nothing."""
    now = now or _utcnow()
    return insert_delivery(uow.session, {
        "id": uuid.uuid4(), "tenant_id": tenant_id, "source_key": source_key, "webhook_id": new_webhook_id(),
        "event_type": event_type, "body": webhook_body(event_type, data, now), "status": DeliveryStatus.PENDING,
        "attempts": 0, "next_attempt_at": now, "correlation_id": uow.context.correlation_id, "created_at": now,
    })


@dataclass(frozen=True)
class WebhookOutcome:
    delivery_id: uuid.UUID
    webhook_id: str
    status: DeliveryStatus
    attempts: int
    status_code: int | None = None
    retry_at: datetime | None = None
    endpoint_disabled: bool = False


@dataclass(frozen=True)
class WebhookRules:
    policy: RetryPolicy
    disable_after: timedelta
    public_base_url: str


def deliver_next_webhook(uow: UnitOfWork, sender: WebhookSender, keys: NotifyKeys, rules: WebhookRules,
                         now: datetime | None = None, signed_at: datetime | None = None) -> WebhookOutcome | None:
    """Send the oldest due message, if any, and record what happened.

    ``now`` is the scheduling clock (a test clock in tests); ``signed_at`` the moment put
    in ``webhook-timestamp`` (the real time unless given).
    """
    now = now or _utcnow()
    due = next_due_delivery(uow.session, now)
    if due is None:
        uow.rollback()
        return None
    delivery, integration = due
    assert integration.url is not None and integration.secret_sealed is not None
    url, body = integration.url, delivery.body
    headers = signed_headers(keys.unseal(integration.secret_sealed), delivery.webhook_id, body,
                             signed_at or _utcnow())
    delivery.next_attempt_at = now + SEND_LEASE
    uow.commit()  # taken: nothing is held while the endpoint answers
    with structlog.contextvars.bound_contextvars(correlation_id=delivery.correlation_id,
                                                 tenant_id=str(delivery.tenant_id)):
        outcome = sender.post(url, headers, body.encode())
        taken = uow.session.get(WebhookDelivery, delivery.id, populate_existing=True, with_for_update=True)
        current = uow.session.get(Integration, integration.tenant_id, populate_existing=True)
        assert taken is not None and current is not None  # neither is ever deleted
        if taken.status != DeliveryStatus.PENDING:  # another loop, after the lease, has recorded it
            uow.rollback()
            return WebhookOutcome(taken.id, taken.webhook_id, DeliveryStatus(taken.status), taken.attempts,
                                  outcome.status_code)
        result = _record(uow, taken, current, outcome, rules, now)
    uow.commit()
    return result


def _record(uow: UnitOfWork, delivery: WebhookDelivery, integration: Integration, outcome: HttpOutcome,
            rules: WebhookRules, now: datetime) -> WebhookOutcome:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    disabled = False
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        integration.failing_since = None
    else:
        integration.failing_since = integration.failing_since or now
        delay = None if outcome.gone else rules.policy.delay_after(delivery.attempts)
        delivery.next_attempt_at = now + delay if delay is not None else None
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
        if outcome.gone:
            disabled = disable_endpoint(uow, integration, GONE_REASON, now, rules)
        elif delay is None and integration.failing_since <= now - rules.disable_after:
            since = integration.failing_since.strftime("%Y-%m-%d %H:%M UTC")
            disabled = disable_endpoint(uow, integration, f"every delivery failed since {since}", now, rules)
    log.info("webhook attempt", delivery_id=str(delivery.id), event_type=delivery.event_type,
             attempts=delivery.attempts, status_code=outcome.status_code, error=outcome.error,
             outcome=delivery.status, endpoint_disabled=disabled)
    return WebhookOutcome(delivery.id, delivery.webhook_id, DeliveryStatus(delivery.status), delivery.attempts,
                          outcome.status_code, delivery.next_attempt_at, disabled)


def disable_endpoint(uow: UnitOfWork, integration: Integration, reason: str, now: datetime,
                     rules: WebhookRules) -> bool:
    """Stop sending to the endpoint, announce it, and tell whoever set it up."""
    if integration.disabled_at is not None:
        return False
    integration.disabled_at, integration.disabled_reason, integration.updated_at = now, reason, now
    payload = EndpointDisabled(distributor_id=integration.tenant_id, reason=reason)
    uow.emit(NotifyEvent.ENDPOINT_DISABLED, payload.to_wire(), tenant_id=integration.tenant_id)
    if integration.contact_email:
        queue_mail(uow, SendMailRequest(
            template="notice", to=integration.contact_email, tenant_id=integration.tenant_id,
            idempotency_key=f"endpoint-disabled:{integration.tenant_id}:{now.isoformat()}",
            context={
                "title": "Backup Radar webhooks were switched off",
                "lines": [f"The portal stopped sending webhooks to your Backup Radar endpoint: {reason}.",
                          "Messages are kept. Check the endpoint, then save its URL again under "
                          "Notifications > Integrations to resume delivery."],
                "action_url": rules.public_base_url.rstrip("/") + "/",
            },
        ), now=now)
    log.warning("webhook endpoint disabled", reason=reason)
    return True


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        id=row.id, webhook_id=row.webhook_id, event_type=row.event_type, status=DeliveryStatus(row.status),
        attempts=row.attempts, created_at=row.created_at, next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at, last_status_code=row.last_status_code, last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


def list_deliveries(uow: UnitOfWork, ctx: CallContext, query: DeliveryListQuery) -> DeliveryPage:
    access = integration_access(ctx.caller, query.distributor_id)
    rows, total = deliveries_page(uow.session, access.distributor_id, query.status, query.page, query.page_size)
    return DeliveryPage(items=[delivery_view(r) for r in rows], page=query.page, page_size=query.page_size,
                        total=total)


def replay_delivery(uow: UnitOfWork, ctx: CallContext, delivery_id: uuid.UUID, distributor_id: uuid.UUID | None,
                    now: datetime | None = None) -> DeliveryView:
    """Send the message again now, with the same ``webhook-id`` and body (a fresh retry schedule)."""
    access = integration_access(ctx.caller, distributor_id)
    delivery = uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.tenant_id != access.distributor_id:
        raise NotFound("delivery not found")
    if not is_active(uow.session.get(Integration, access.distributor_id)):
        raise Conflict("the endpoint is not active: enable it and set its URL first",
                       {"reason": "endpoint_not_active"})
    now = now or _utcnow()
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    uow.commit()
    log.info("webhook replay queued", delivery_id=str(delivery.id))
    return delivery_view(delivery)


TEST_EVENT = "portal.test"


def send_test_event(uow: UnitOfWork, ctx: CallContext, distributor_id: uuid.UUID | None,
                    now: datetime | None = None) -> DeliveryView:
    """Queue a test message for the endpoint (signed like every other), so an administrator
    sees in the delivery log whether the endpoint answers."""
    access = integration_access(ctx.caller, distributor_id)
    if not is_active(uow.session.get(Integration, access.distributor_id)):
        raise Conflict("the endpoint is not active: enable it and set its URL first",
                       {"reason": "endpoint_not_active"})
    now = now or _utcnow()
    source_key = f"test:{uuid.uuid4()}"
    queue_webhook(uow, access.distributor_id, source_key, TEST_EVENT,
                  {"message": "A test event from the Backup Portal.", "requested_by": ctx.caller.email}, now)
    uow.commit()
    delivery = uow.session.execute(
        sa.select(WebhookDelivery).where(WebhookDelivery.tenant_id == access.distributor_id,
                                         WebhookDelivery.source_key == source_key)
    ).scalar_one()
    log.info("webhook test queued", delivery_id=str(delivery.id))
    return delivery_view(delivery)
