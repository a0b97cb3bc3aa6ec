"""Use cases of security settings: two-factor, IP restrictions, password policy."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.events import IdentityEvent
from contracts.identity import (
    IpEntryRequest,
    IpRestrictionsView,
    PasswordPolicyView,
    TwoFactorEnableReply,
    TwoFactorSetupReply,
)
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.identity.adapters.mailer import Mailer
from services.identity.adapters.models import IpEntryRow, IpPolicy, PasswordPolicy, RecoveryCode, User
from services.identity.adapters.secrets_box import SecretBox
from services.identity.adapters.views import ip_entry_domain, ip_entry_view, ip_rules, password_policy
from services.identity.domain import totp
from services.identity.domain.ip_policy import IpEntry, ensure_caller_stays_trusted, first_list_toggle
from services.identity.settings import IdentitySettings
from services.identity.usecases.authentication import claim_totp_step, utc_now
from services.identity.usecases.notices import changed_by, send_notices, tenant_administrators
from services.identity.usecases.users import acting_user, require_administrator

# ---- two-factor -------------------------------------------------------------------


def two_factor_setup(
    uow: UnitOfWork, ctx: CallContext, box: SecretBox, settings: IdentitySettings
) -> TwoFactorSetupReply:
    user = acting_user(uow, ctx)
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on; turn it off first")
    secret = totp.new_secret()
    user.totp_pending_secret_encrypted = box.seal(secret)
    uow.commit()
    return TwoFactorSetupReply(
        secret=secret, otpauth_uri=totp.provisioning_uri(secret, user.email, settings.totp_issuer)
    )


def two_factor_enable(
    uow: UnitOfWork, ctx: CallContext, code: str, box: SecretBox, now: datetime | None = None
) -> TwoFactorEnableReply:
    now = now or utc_now()
    user = acting_user(uow, ctx)
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on")
    if user.totp_pending_secret_encrypted is None:
        raise Conflict("start the two-factor setup first")
    step = totp.matching_step(box.open(user.totp_pending_secret_encrypted), code, now, None)
    if step is None:
        raise ValidationFailed.for_field("code", "is not the current code of your authenticator app")
    user.totp_secret_encrypted, user.totp_pending_secret_encrypted = user.totp_pending_secret_encrypted, None
    user.totp_enabled_at, user.totp_last_step = now, step
    codes = totp.new_recovery_codes()
    uow.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    uow.session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    uow.emit(IdentityEvent.TWO_FACTOR_ENABLED, {"user_id": str(user.id), "email": user.email}, tenant_id=user.tenant_id)
    uow.commit()
    return TwoFactorEnableReply(recovery_codes=codes)


def two_factor_disable(
    uow: UnitOfWork, ctx: CallContext, code: str, box: SecretBox, mailer: Mailer, now: datetime | None = None
) -> None:
    now = now or utc_now()
    user = acting_user(uow, ctx)
    if user.totp_enabled_at is None or user.totp_secret_encrypted is None:
        raise Conflict("two-factor authentication is not on")
    step = totp.matching_step(box.open(user.totp_secret_encrypted), code, now, user.totp_last_step)
    if step is None or not claim_totp_step(uow, user.id, step):
        raise ValidationFailed.for_field("code", "is not the current code of your authenticator app")
    user.totp_secret_encrypted = user.totp_pending_secret_encrypted = None
    user.totp_enabled_at = user.totp_last_step = None
    uow.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    envelope = uow.emit(
        IdentityEvent.TWO_FACTOR_DISABLED, {"user_id": str(user.id), "email": user.email}, tenant_id=user.tenant_id
    )
    administrators = [a for a in tenant_administrators(uow, user.tenant_id) if a.id != user.id]
    uow.commit()
    # The user (it may not have been them), then the tenant's other administrators.
    where = changed_by(user.email, ctx.caller.ip)
    send_notices(mailer, [user], "Two-factor authentication turned off",
                 ["Two-factor authentication was turned off for your sign-in.", where],
                 f"two-factor-disabled:{envelope.event_id}", user.tenant_id)
    send_notices(mailer, administrators, "Two-factor authentication turned off",
                 [f"Two-factor authentication was turned off for {user.email}.", where],
                 f"two-factor-disabled:{envelope.event_id}", user.tenant_id)


# ---- password policy --------------------------------------------------------------


def get_password_policy(uow: UnitOfWork, ctx: CallContext) -> PasswordPolicyView:
    user = acting_user(uow, ctx)
    policy = password_policy(uow.session, user.tenant_id)
    return PasswordPolicyView(expiration_enabled=policy.expiration_enabled, max_age_days=policy.max_age_days)


def set_password_policy(
    uow: UnitOfWork, ctx: CallContext, request: PasswordPolicyView, mailer: Mailer
) -> PasswordPolicyView:
    admin = require_administrator(uow, ctx)
    policy = uow.session.get(PasswordPolicy, admin.tenant_id)
    if policy is None:
        policy = PasswordPolicy(tenant_id=admin.tenant_id)
        uow.session.add(policy)
    policy.expiration_enabled, policy.max_age_days = request.expiration_enabled, request.max_age_days
    policy.updated_at = utc_now()
    envelope = uow.emit(IdentityEvent.PASSWORD_POLICY_CHANGED, request.to_wire(), tenant_id=admin.tenant_id)
    administrators = tenant_administrators(uow, admin.tenant_id)
    uow.commit()
    expiry = (f"Passwords now expire after {request.max_age_days} days." if request.expiration_enabled
              else "Passwords no longer expire.")
    send_notices(mailer, administrators, "Password policy changed",
                 [expiry, changed_by(admin.email, ctx.caller.ip)],
                 f"password-policy:{envelope.event_id}", admin.tenant_id)
    return request


# ---- IP restrictions --------------------------------------------------------------


def get_ip_restrictions(uow: UnitOfWork, ctx: CallContext) -> IpRestrictionsView:
    user = acting_user(uow, ctx)
    enabled, rows = ip_rules(uow.session, user.tenant_id)
    return IpRestrictionsView(enabled=enabled, your_ip=ctx.caller.ip, entries=[ip_entry_view(r) for r in rows])


def _build_entry(request: IpEntryRequest) -> IpEntry:
    return IpEntry.build(request.description, request.addresses, request.range_from, request.range_to)


def _store(row: IpEntryRow, entry: IpEntry) -> None:
    row.description = entry.description
    row.addresses = [str(a) for a in entry.addresses]
    row.range_from = str(entry.range_from) if entry.range_from is not None else None
    row.range_to = str(entry.range_to) if entry.range_to is not None else None


def _apply_ip_change(
    uow: UnitOfWork, ctx: CallContext, admin: User, change: str, mailer: Mailer, enabled: bool | None = None,
    first_entry: bool = False,
) -> IpRestrictionsView:
    """Check the caller stays trusted with the change applied, then announce it."""
    uow.session.flush()
    policy = uow.session.get(IpPolicy, admin.tenant_id)
    if policy is None:
        policy = IpPolicy(tenant_id=admin.tenant_id, enabled=False)
        uow.session.add(policy)
    if enabled is not None:
        policy.enabled = enabled
    policy.updated_at = utc_now()
    _, rows = ip_rules(uow.session, admin.tenant_id)
    note = None
    if first_entry:
        policy.enabled, note = first_list_toggle(len(rows) > 1, policy.enabled, [ip_entry_domain(r) for r in rows],
                                                 ctx.caller.ip or "")
    try:
        ensure_caller_stays_trusted(policy.enabled, [ip_entry_domain(r) for r in rows], ctx.caller.ip or "")
    except Exception:
        uow.rollback()  # nothing is half-written
        raise
    envelope = uow.emit(
        IdentityEvent.IP_RESTRICTIONS_CHANGED,
        {"change": change, "enabled": policy.enabled, "entries": len(rows)},
        tenant_id=admin.tenant_id,
    )
    view = IpRestrictionsView(enabled=policy.enabled, your_ip=ctx.caller.ip, entries=[ip_entry_view(r) for r in rows],
                              note=note)
    administrators = tenant_administrators(uow, admin.tenant_id)
    uow.commit()
    send_notices(
        mailer, administrators, "IP restrictions changed",
        [change, *([note] if note else []),
         f"IP restrictions are {'on' if view.enabled else 'off'} with {len(rows)} entries.",
         changed_by(admin.email, ctx.caller.ip)],
        f"ip-change:{envelope.event_id}", admin.tenant_id,
    )
    return view


def add_ip_entry(uow: UnitOfWork, ctx: CallContext, request: IpEntryRequest, mailer: Mailer) -> IpRestrictionsView:
    admin = require_administrator(uow, ctx)
    entry = _build_entry(request)
    row = IpEntryRow(id=uuid.uuid4(), tenant_id=admin.tenant_id, created_at=utc_now())
    _store(row, entry)
    uow.session.add(row)
    return _apply_ip_change(uow, ctx, admin, f"Entry added: {entry.label}", mailer, first_entry=True)


def update_ip_entry(
    uow: UnitOfWork, ctx: CallContext, entry_id: uuid.UUID, request: IpEntryRequest, mailer: Mailer
) -> IpRestrictionsView:
    admin = require_administrator(uow, ctx)
    row = uow.session.get(IpEntryRow, entry_id)
    if row is None or row.tenant_id != admin.tenant_id:
        raise NotFound("IP restriction entry not found")
    entry = _build_entry(request)
    _store(row, entry)
    return _apply_ip_change(uow, ctx, admin, f"Entry changed: {entry.label}", mailer)


def delete_ip_entry(uow: UnitOfWork, ctx: CallContext, entry_id: uuid.UUID, mailer: Mailer) -> IpRestrictionsView:
    admin = require_administrator(uow, ctx)
    row = uow.session.get(IpEntryRow, entry_id)
    if row is None or row.tenant_id != admin.tenant_id:
        raise NotFound("IP restriction entry not found")
    label = ip_entry_domain(row).label
    uow.session.delete(row)
    return _apply_ip_change(uow, ctx, admin, f"Entry removed: {label}", mailer)


def set_ip_restrictions_enabled(uow: UnitOfWork, ctx: CallContext, enabled: bool, mailer: Mailer) -> IpRestrictionsView:
    admin = require_administrator(uow, ctx)
    change = "IP restrictions turned on" if enabled else "IP restrictions turned off"
    return _apply_ip_change(uow, ctx, admin, change, mailer, enabled=enabled)
