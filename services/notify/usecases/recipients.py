"""Use cases of notification recipients and the tenant's report settings. Each commits its unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, NotFound
from contracts.events import NotifyEvent
from contracts.notify import (
    NotificationSettings,
    NotificationSettingsChanged,
    NotificationType,
    RecipientChanged,
    RecipientListQuery,
    RecipientPage,
    RecipientRequest,
    RecipientUpdate,
    RecipientView,
)
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.notify.adapters.models import Recipient, TenantSettings
from services.notify.adapters.rows import page_of
from services.notify.domain.access import notification_manager


def _utcnow() -> datetime:
    return datetime.now(UTC)


def recipient_view(row: Recipient) -> RecipientView:
    return RecipientView(id=row.id, tenant_id=row.tenant_id, email=row.email, display_name=row.display_name,
                         types=[NotificationType(t) for t in row.types], created_at=row.created_at,
                         updated_at=row.updated_at)


def _email_taken() -> Conflict:
    return Conflict("this address is already a recipient",
                    {"fields": [{"field": "email", "reason": "is already a recipient"}]})


def _own_recipient(uow: UnitOfWork, tenant_id: uuid.UUID, recipient_id: uuid.UUID) -> Recipient:
    row = uow.session.get(Recipient, recipient_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("recipient not found")
    return row


def _announce(uow: UnitOfWork, event: NotifyEvent, row: Recipient, fields: list[str] | None = None) -> None:
    payload = RecipientChanged(recipient_id=row.id, email=row.email, types=[NotificationType(t) for t in row.types],
                               fields=fields or [])
    uow.emit(event, payload.to_wire(), tenant_id=row.tenant_id)


def _email_in_use(uow: UnitOfWork, tenant_id: uuid.UUID, email: str, other_than: uuid.UUID | None = None) -> bool:
    query = sa.select(Recipient.id).where(Recipient.tenant_id == tenant_id, Recipient.email_normalised == email.lower())
    if other_than is not None:
        query = query.where(Recipient.id != other_than)
    return uow.session.execute(query).first() is not None


def _save_unique(uow: UnitOfWork, event: NotifyEvent, row: Recipient, fields: list[str] | None = None) -> None:
    """Write the row, announce it and commit; an address another recipient took meanwhile is a 409.

    The flush comes first, inside the guard: the event's insert would otherwise flush the
    row itself and the unique index's refusal would escape as a database error."""
    try:
        uow.session.flush()
        _announce(uow, event, row, fields)
        uow.commit()
    except IntegrityError:
        uow.rollback()
        raise _email_taken() from None


def list_recipients(uow: UnitOfWork, ctx: CallContext, query: RecipientListQuery) -> RecipientPage:
    tenant_id = notification_manager(ctx.caller)
    select = (sa.select(Recipient).where(Recipient.tenant_id == tenant_id)
              .order_by(Recipient.email_normalised, Recipient.id))
    if query.type is None:
        rows, total = page_of(uow.session, select, query.page, query.page_size)
    else:
        # Types are a JSON list: filtered here, on one tenant's (short) list of recipients.
        matching = [row for row in uow.session.scalars(select) if query.type in row.types]
        start = (query.page - 1) * query.page_size
        rows, total = matching[start:start + query.page_size], len(matching)
    items = [recipient_view(row) for row in rows]
    return RecipientPage(items=items, page=query.page, page_size=query.page_size, total=total)


def add_recipient(uow: UnitOfWork, ctx: CallContext, request: RecipientRequest,
                  now: datetime | None = None) -> RecipientView:
    tenant_id = notification_manager(ctx.caller)
    now = now or _utcnow()
    email = str(request.email)
    if _email_in_use(uow, tenant_id, email):
        raise _email_taken()
    row = Recipient(id=uuid.uuid4(), tenant_id=tenant_id, email=email, email_normalised=email.lower(),
                    display_name=request.display_name, types=[t.value for t in request.types],
                    created_at=now, updated_at=now)
    uow.session.add(row)
    _save_unique(uow, NotifyEvent.RECIPIENT_ADDED, row)
    return recipient_view(row)


def update_recipient(uow: UnitOfWork, ctx: CallContext, recipient_id: uuid.UUID, update: RecipientUpdate,
                     now: datetime | None = None) -> RecipientView:
    tenant_id = notification_manager(ctx.caller)
    row = _own_recipient(uow, tenant_id, recipient_id)
    changed: list[str] = []
    given = update.model_fields_set
    if update.email is not None and str(update.email) != row.email:
        if _email_in_use(uow, tenant_id, str(update.email), other_than=row.id):
            raise _email_taken()
        row.email, row.email_normalised = str(update.email), str(update.email).lower()
        changed.append("email")
    if "display_name" in given and update.display_name != row.display_name:
        row.display_name = update.display_name
        changed.append("display_name")
    if update.types is not None and [t.value for t in update.types] != list(row.types):
        row.types = [t.value for t in update.types]
        changed.append("types")
    if changed:
        row.updated_at = now or _utcnow()
        _save_unique(uow, NotifyEvent.RECIPIENT_CHANGED, row, changed)
    return recipient_view(row)


def remove_recipient(uow: UnitOfWork, ctx: CallContext, recipient_id: uuid.UUID) -> None:
    tenant_id = notification_manager(ctx.caller)
    row = _own_recipient(uow, tenant_id, recipient_id)
    _announce(uow, NotifyEvent.RECIPIENT_REMOVED, row)
    uow.session.delete(row)
    uow.commit()


def settings_of(uow: UnitOfWork, tenant_id: uuid.UUID) -> NotificationSettings:
    row = uow.session.get(TenantSettings, tenant_id)
    if row is None:
        return NotificationSettings()
    return NotificationSettings(frequency=row.frequency, csv_delivery=row.csv_delivery)  # type: ignore[arg-type]


def get_settings(uow: UnitOfWork, ctx: CallContext) -> NotificationSettings:
    return settings_of(uow, notification_manager(ctx.caller))


def put_settings(uow: UnitOfWork, ctx: CallContext, request: NotificationSettings,
                 now: datetime | None = None) -> NotificationSettings:
    tenant_id = notification_manager(ctx.caller)
    row = uow.session.get(TenantSettings, tenant_id)
    if row is None:
        row = TenantSettings(tenant_id=tenant_id)
        uow.session.add(row)
    row.frequency, row.csv_delivery = request.frequency.value, request.csv_delivery.value
    row.updated_at = now or _utcnow()
    uow.emit(NotifyEvent.NOTIFICATION_SETTINGS_CHANGED,
             NotificationSettingsChanged(**request.model_dump()).to_wire(), tenant_id=tenant_id)
    uow.commit()
    return request
