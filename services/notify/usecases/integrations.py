"""Use cases of the Backup Radar integration's configuration. Each commits its unit of work.

- An operator switches it on (``enabled``) for a distributor; the first time, the
  endpoint's ``whsec_`` secret is generated. Switching it off stops every delivery.
- The distributor's administrators set the endpoint URL (checked by the SSRF guard), the
  address of Backup Radar's inbound mail for the daily CSV, and may rotate the secret.
  Saving the URL again re-activates an endpoint the portal had disabled.
- The secret is sealed at rest and shown on GET to the distributor's administrators only
  (they need it to set up verification); never to operators, never in a log or an event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.events import NotifyEvent
from contracts.notify import (
    BackupRadarUpdate,
    BackupRadarView,
    IntegrationChanged,
    IntegrationStatus,
    IntegrationSwitched,
)
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.notify.adapters.keys import NotifyKeys, new_webhook_secret
from services.notify.adapters.models import Integration
from services.notify.adapters.upstream import TenancyReads
from services.notify.domain.access import IntegrationAccess, integration_access
from services.notify.domain.ssrf import Target, UnsafeUrl

log = get_logger(__name__)

UrlCheck = Callable[[str], Target]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def integration_status(row: Integration | None) -> IntegrationStatus:
    if row is None or not row.enabled:
        return IntegrationStatus.OFF
    if row.disabled_at is not None:
        return IntegrationStatus.DISABLED
    return IntegrationStatus.ACTIVE if row.url else IntegrationStatus.NOT_CONFIGURED


def view(row: Integration | None, access: IntegrationAccess, keys: NotifyKeys) -> BackupRadarView:
    if row is None:
        return BackupRadarView(distributor_id=access.distributor_id, enabled=False, status=IntegrationStatus.OFF)
    secret = keys.unseal(row.secret_sealed) if access.owner_admin and row.secret_sealed else None
    return BackupRadarView(
        distributor_id=row.tenant_id, enabled=row.enabled, status=integration_status(row), url=row.url,
        report_email=row.report_email, secret=secret, secret_set=row.secret_sealed is not None,
        disabled_reason=row.disabled_reason, disabled_at=row.disabled_at, updated_at=row.updated_at,
    )


def get_backup_radar(uow: UnitOfWork, ctx: CallContext, distributor_id: uuid.UUID | None,
                     keys: NotifyKeys) -> BackupRadarView:
    access = integration_access(ctx.caller, distributor_id)
    return view(uow.session.get(Integration, access.distributor_id), access, keys)


def is_distributor(source: TenancyReads, tenant_id: uuid.UUID) -> bool:
    """Whether tenancy knows ``tenant_id`` as a distributor (Backup Radar is switched on only for one)."""
    try:
        return source.tenant(tenant_id).kind == TenantKind.DISTRIBUTOR
    except NotFound:
        return False


def _check_roles(access: IntegrationAccess, update: BackupRadarUpdate) -> None:
    endpoint_fields = update.model_fields_set & {"url", "report_email", "rotate_secret"}
    if update.enabled is not None and not access.operator:
        raise PermissionDenied("only an operator switches Backup Radar on or off")
    if endpoint_fields and not access.owner_admin:
        raise PermissionDenied("the distributor's administrators set the endpoint")


def update_backup_radar(uow: UnitOfWork, ctx: CallContext, update: BackupRadarUpdate, keys: NotifyKeys,
                        check_url: UrlCheck, distributor_exists: Callable[[uuid.UUID], bool],
                        now: datetime | None = None) -> BackupRadarView:
    access = integration_access(ctx.caller, update.distributor_id)
    _check_roles(access, update)
    now = now or _utcnow()
    # What needs the network (the URL's DNS, tenancy) is asked before the row is locked.
    if update.url is not None:
        try:
            check_url(update.url)
        except UnsafeUrl as refused:
            raise ValidationFailed.for_field("url", refused.reason) from None
    known = uow.session.execute(sa.select(Integration.tenant_id).where(
        Integration.tenant_id == access.distributor_id)).first() is not None
    uow.rollback()
    if not known and update.enabled and not distributor_exists(access.distributor_id):
        raise ValidationFailed.for_field("distributor_id", "is not a distributor")
    row = uow.session.get(Integration, access.distributor_id, with_for_update=True)
    if row is None:
        if not update.enabled:
            raise Conflict("an operator has not switched Backup Radar on for this distributor",
                           {"reason": "integration_not_enabled"})
        row = Integration(tenant_id=access.distributor_id, enabled=False, updated_at=now)
        uow.session.add(row)
    elif not row.enabled and not update.enabled and update.model_fields_set - {"distributor_id", "enabled"}:
        raise Conflict("an operator has not switched Backup Radar on for this distributor",
                       {"reason": "integration_not_enabled"})
    changed = _apply(row, update, ctx, keys)
    if update.enabled is not None and update.enabled != row.enabled:
        row.enabled = update.enabled
        event = NotifyEvent.INTEGRATION_ENABLED if update.enabled else NotifyEvent.INTEGRATION_DISABLED
        uow.emit(event, IntegrationSwitched(distributor_id=row.tenant_id).to_wire(), tenant_id=row.tenant_id)
    if row.enabled and row.secret_sealed is None:
        row.secret_sealed = keys.seal(new_webhook_secret())
    if changed:
        uow.emit(NotifyEvent.INTEGRATION_CHANGED, IntegrationChanged(distributor_id=row.tenant_id,
                                                                     fields=changed).to_wire(),
                 tenant_id=row.tenant_id)
    row.updated_at = now
    uow.commit()
    log.info("backup radar updated", distributor_id=str(row.tenant_id), fields=changed, enabled=row.enabled)
    return view(row, access, keys)


def _apply(row: Integration, update: BackupRadarUpdate, ctx: CallContext, keys: NotifyKeys) -> list[str]:
    """The update's changes to the row (its URL already checked); the names of the fields changed."""
    changed: list[str] = []
    if update.url is not None:
        if update.url != row.url or row.disabled_at is not None:
            changed.append("url")
        row.url = update.url
        # Saving the URL is how an administrator turns a disabled endpoint back on.
        row.disabled_at = row.disabled_reason = row.failing_since = None
        row.contact_email = ctx.caller.email or row.contact_email
    if "report_email" in update.model_fields_set and update.report_email != row.report_email:
        row.report_email = str(update.report_email) if update.report_email else None
        changed.append("report_email")
    if update.rotate_secret:
        row.secret_sealed = keys.seal(new_webhook_secret())
        changed.append("secret")
    return changed
