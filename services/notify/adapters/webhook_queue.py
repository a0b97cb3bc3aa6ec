"""The SQL of the webhook queue: the integrations that may be sent to, the next message due, a
page of a distributor's deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.notify import DeliveryStatus
from services.notify.adapters.models import Integration, WebhookDelivery
from services.notify.adapters.rows import insert_once, page_of


def active_integrations(session: Session) -> list[Integration]:
    """Switched on, with an endpoint, not disabled by the portal."""
    return list(session.scalars(
        sa.select(Integration).where(Integration.enabled.is_(True), Integration.url.is_not(None),
                                     Integration.disabled_at.is_(None))
    ))


def enabled_integrations(session: Session) -> list[Integration]:
    """Switched on and not disabled by the portal (with or without an endpoint), by distributor."""
    return list(session.scalars(
        sa.select(Integration).where(Integration.enabled.is_(True), Integration.disabled_at.is_(None))
        .order_by(Integration.tenant_id)
    ))


def insert_delivery(session: Session, values: dict[str, Any]) -> bool:
    """Queue a message unless one of the same ``source_key`` exists; True when this call queued it."""
    return insert_once(session, WebhookDelivery.__table__, values)  # type: ignore[arg-type]


def next_due_delivery(session: Session, now: datetime) -> tuple[WebhookDelivery, Integration] | None:
    query = (
        sa.select(WebhookDelivery, Integration)
        .join(Integration, Integration.tenant_id == WebhookDelivery.tenant_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
               Integration.enabled.is_(True), Integration.url.is_not(None), Integration.disabled_at.is_(None))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)
        # PostgreSQL: a competing instance skips the message another has locked.
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    row = session.execute(query).first()
    return (row[0], row[1]) if row else None


def deliveries_page(session: Session, distributor_id: uuid.UUID, status: DeliveryStatus | None, page: int,
                    page_size: int) -> tuple[list[WebhookDelivery], int]:
    """A page of the distributor's deliveries, newest first, and their total."""
    select = sa.select(WebhookDelivery).where(WebhookDelivery.tenant_id == distributor_id)
    if status is not None:
        select = select.where(WebhookDelivery.status == status)
    return page_of(session, select.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id), page, page_size)
