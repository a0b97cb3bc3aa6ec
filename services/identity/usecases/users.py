"""Use cases of user management: create, list, read, update, delete, resend confirmation,
and the users whose password expires soon."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.events import IdentityEvent
from contracts.identity import (
    ChangePasswordRequest,
    CreateUserRequest,
    UpdateUserRequest,
    UserPage,
    UserSort,
    UserView,
)
from contracts.notify import SendMailRequest
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from servicekit.text_search import contains_text
from services.identity.adapters.mailer import Mailer, mail
from services.identity.adapters.models import EmailToken, PasswordPolicy, User
from services.identity.adapters.password_hashing import hash_off_the_hub
from services.identity.adapters.tenant_directory import TenantDirectory, TenantRef, no_such_tenant
from services.identity.adapters.views import user_view
from services.identity.domain.permissions import Role
from services.identity.domain.tokens import hash_token, new_token
from services.identity.domain.user_rules import (
    EVERY_ACCOUNT,
    Access,
    accessible_accounts,
    checked_email,
    edited_access,
    email_taken_conflict,
    first_password,
    gives_up_administration,
    grantable_accounts,
    last_administrator,
    normalised_email,
    stored_permissions,
)
from services.identity.settings import IdentitySettings
from services.identity.usecases.authentication import announce_revocation, change_password, utc_now

log = get_logger(__name__)


def acting_user(uow: UnitOfWork, ctx: CallContext) -> User:
    """The signed-in user behind this call (the gateway put it in the caller context)."""
    if ctx.caller.user_id is None:
        raise PermissionDenied("sign in first")
    user = uow.session.get(User, ctx.caller.user_id)
    if user is None:
        raise PermissionDenied("unknown caller")
    return user


def is_administrator(user: User) -> bool:
    return user.role == Role.ADMINISTRATOR.value


def require_administrator(uow: UnitOfWork, ctx: CallContext) -> User:
    user = acting_user(uow, ctx)
    if not is_administrator(user):
        raise PermissionDenied("only an administrator may do this")
    return user


def _tenant_user(uow: UnitOfWork, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = uow.session.get(User, user_id)
    # Another tenant's user does not exist for this caller.
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("user not found")
    return user


def _joined_tenant(admin: User, tenant_id: uuid.UUID | None, tenants: TenantDirectory | None) -> TenantRef:
    """The tenant a new user of ``admin`` joins: the one named (its own, or a partner or
    customer account below it, as tenancy sees the caller's scope), by default its own.
    Without a directory nothing but the caller's own tenant can be vouched for."""
    wanted = tenant_id or admin.tenant_id
    if tenants is not None:
        return tenants.tenant(wanted)
    if wanted != admin.tenant_id:
        raise no_such_tenant()
    return TenantRef(admin.tenant_id, admin.tenant_kind)


def email_taken(uow: UnitOfWork, email: str) -> bool:
    """Whether a user has this email, in any letter case."""
    query = sa.select(User.id).where(User.email_normalised == normalised_email(email))
    return uow.session.execute(query).first() is not None


def create_user(
    uow: UnitOfWork,
    ctx: CallContext,
    request: CreateUserRequest,
    mailer: Mailer,
    settings: IdentitySettings,
    now: datetime | None = None,
    *,
    tenants: TenantDirectory | None = None,
    tenant_name: str | None = None,
) -> UserView:
    """Invite a user into a tenant. A signed-in administrator names the tenant with
    ``tenant_id`` (default its own; ``tenants`` checks it is within the caller's scope and
    says its kind and name); the system names it with ``tenant_id``, ``tenant_kind`` and
    ``tenant_name``."""
    now = now or utc_now()
    if ctx.caller.is_system:
        # Operations tooling and event handlers name the tenant themselves.
        if request.tenant_id is None:
            raise ValidationFailed.for_field("tenant_id", "is required")
        tenant = TenantRef(request.tenant_id, request.tenant_kind or TenantKind.PARTNER, tenant_name)
        granter = None
    else:
        granter = require_administrator(uow, ctx)
        tenant = _joined_tenant(granter, request.tenant_id, tenants)
    email = checked_email(request.email)
    if email_taken(uow, email):
        raise email_taken_conflict()
    role = Role(request.role)
    permissions = stored_permissions(role, request.permissions, tenant.kind)
    password = first_password(request.password, request.credential_type, email)
    password_hash = hash_off_the_hub(password) if password else None
    user = User(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        tenant_kind=tenant.kind,
        email=email,
        email_normalised=normalised_email(email),
        display_name=request.display_name,
        credential_type=request.credential_type,
        password_hash=password_hash,
        password_changed_at=now if password_hash else None,
        role=role.value,
        permissions=permissions,
        accessible_accounts=grantable_accounts(granter.accessible_accounts if granter else None,
                                               accessible_accounts(request.accessible_accounts)),
        created_at=now,
    )
    uow.session.add(user)
    _announce_created(uow, user, tenant)
    token, token_row = new_confirmation(uow, user, settings, now)
    uow.commit()
    _send_confirmation(mailer, user, token, token_row, settings)
    return user_view(user)


def _announce_created(uow: UnitOfWork, user: User, tenant: TenantRef) -> None:
    uow.emit(
        IdentityEvent.USER_CREATED,
        {
            "user_id": str(user.id),
            "email": user.email,
            "role": user.role,
            "credential_type": user.credential_type,
            "permissions": user.permissions,
            "tenant_id": str(tenant.id),
            "tenant_kind": tenant.kind,
            "tenant_name": tenant.name,
        },
        tenant_id=tenant.id,
    )


def new_confirmation(uow: UnitOfWork, user: User, settings: IdentitySettings, now: datetime) -> tuple[str, EmailToken]:
    token = new_token()
    row = EmailToken(
        id=uuid.uuid4(),
        token_hash=hash_token(token),
        user_id=user.id,
        purpose="confirm",
        created_at=now,
        expires_at=now + timedelta(hours=settings.confirmation_hours),
    )
    uow.session.add(row)
    uow.emit(
        IdentityEvent.CONFIRMATION_SENT,
        {"user_id": str(user.id), "email": user.email, "expires_at": row.expires_at.isoformat()},
        tenant_id=user.tenant_id,
    )
    return token, row


def confirmation_mail(user: User, token: str, row: EmailToken, settings: IdentitySettings) -> SendMailRequest:
    """The mail that carries ``token``: its link opens the console's confirmation page."""
    url = f"{settings.public_base_url.rstrip('/')}/confirm-email?token={token}"
    return mail(
        "email_confirmation",
        user.email,
        {
            "display_name": user.display_name or user.email,
            "confirm_url": url,
            "expires_hours": settings.confirmation_hours,
            "needs_password": user.password_hash is None and user.credential_type == "password",
        },
        f"confirm:{row.id}",
        user.tenant_id,
    )


def _send_confirmation(mailer: Mailer, user: User, token: str, row: EmailToken, settings: IdentitySettings) -> bool:
    return mailer.send(confirmation_mail(user, token, row, settings))


def void_confirmations(uow: UnitOfWork, user: User, now: datetime) -> None:
    """Older links stop working: only the newest mail's link confirms."""
    uow.session.execute(
        sa.update(EmailToken)
        .where(EmailToken.user_id == user.id, EmailToken.purpose == "confirm", EmailToken.used_at.is_(None))
        .values(expires_at=now - timedelta(seconds=1))
    )


def resend_confirmation(
    uow: UnitOfWork,
    ctx: CallContext,
    user_id: uuid.UUID,
    mailer: Mailer,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> bool:
    now = now or utc_now()
    admin = require_administrator(uow, ctx)
    user = _tenant_user(uow, admin.tenant_id, user_id)
    if user.email_confirmed_at is not None:
        raise Conflict("this user has already confirmed the email address")
    void_confirmations(uow, user, now)
    token, row = new_confirmation(uow, user, settings, now)
    uow.commit()
    return _send_confirmation(mailer, user, token, row, settings)


USER_ORDERS = {
    "email": (User.email_normalised,),
    "-email": (User.email_normalised.desc(),),
    "name": (sa.func.lower(sa.func.coalesce(User.display_name, "")), User.email_normalised),
    "-name": (sa.func.lower(sa.func.coalesce(User.display_name, "")).desc(), User.email_normalised.desc()),
    "role": (User.role, User.email_normalised),
    "-role": (User.role.desc(), User.email_normalised.desc()),
}


def list_users(uow: UnitOfWork, ctx: CallContext, page: int, page_size: int, search: str | None,
               sort: UserSort = "email") -> UserPage:
    admin = require_administrator(uow, ctx)
    query = sa.select(User).where(User.tenant_id == admin.tenant_id)
    if search:
        query = query.where(contains_text(search, User.email_normalised, User.display_name))
    total = uow.session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = uow.session.execute(
        query.order_by(*USER_ORDERS[sort]).offset((page - 1) * page_size).limit(page_size)
    ).scalars()
    return UserPage(items=[user_view(u) for u in rows], page=page, page_size=page_size, total=total)


def get_user(uow: UnitOfWork, ctx: CallContext, user_id: uuid.UUID) -> UserView:
    me = acting_user(uow, ctx)
    if me.id == user_id:
        return user_view(me)
    if not is_administrator(me):
        raise NotFound("user not found")
    return user_view(_tenant_user(uow, me.tenant_id, user_id))


def me(uow: UnitOfWork, ctx: CallContext) -> UserView:
    """The signed-in user's own view."""
    return get_user(uow, ctx, acting_user(uow, ctx).id)


def change_own_password(uow: UnitOfWork, ctx: CallContext, request: ChangePasswordRequest, mailer: Mailer) -> None:
    """The signed-in user changes its password; its other sessions end."""
    user = acting_user(uow, ctx)
    if ctx.caller.session_id is None:
        raise PermissionDenied("a password is changed from a signed-in session")
    change_password(uow, user.id, ctx.caller.session_id, request, mailer)


def _other_administrators(uow: UnitOfWork, user: User) -> int:
    return uow.session.execute(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.tenant_id == user.tenant_id, User.id != user.id, User.role == Role.ADMINISTRATOR.value)
    ).scalar_one()


def _access(user: User) -> Access:
    return Access(user.role, user.permissions, user.accessible_accounts)


def update_user(uow: UnitOfWork, ctx: CallContext, user_id: uuid.UUID, request: UpdateUserRequest) -> UserView:
    admin = require_administrator(uow, ctx)
    user = _tenant_user(uow, admin.tenant_id, user_id)
    before = _access(user)
    role = Role(request.role) if request.role else None
    if gives_up_administration(user.role, role or Role(user.role)) and _other_administrators(uow, user) == 0:
        raise last_administrator("role")
    after = edited_access(before, user.tenant_kind, role, request.permissions, request.accessible_accounts,
                          admin.accessible_accounts)
    user.role, user.permissions, user.accessible_accounts = after.role, after.permissions, after.accessible_accounts
    if request.display_name is not None:
        user.display_name = request.display_name
    if request.credential_type is not None:
        user.credential_type = request.credential_type
    user.updated_at = utc_now()
    uow.emit(
        IdentityEvent.USER_UPDATED,
        {"user_id": str(user.id), "email": user.email, "fields": sorted(request.model_fields_set)},
        tenant_id=user.tenant_id,
    )
    access_changed = before.key() != after.key()
    if access_changed:
        uow.emit(
            IdentityEvent.PERMISSIONS_CHANGED,
            {
                "user_id": str(user.id),
                "email": user.email,
                "role": user.role,
                "permissions": user.permissions,
                "accessible_accounts": user.accessible_accounts or EVERY_ACCOUNT,
            },
            tenant_id=user.tenant_id,
        )
    # Gateways cache the user's view with each session: every change counts from the next request.
    announce_revocation(uow, user, "permissions_changed" if access_changed else "user_updated")
    uow.commit()
    return user_view(user)


def delete_user(uow: UnitOfWork, ctx: CallContext, user_id: uuid.UUID) -> None:
    admin = require_administrator(uow, ctx)
    user = _tenant_user(uow, admin.tenant_id, user_id)
    if user.id == admin.id:
        raise Conflict("you cannot delete yourself", {"fields": [{"field": "id", "reason": "is you"}]})
    if user.role == Role.ADMINISTRATOR.value and _other_administrators(uow, user) == 0:
        raise last_administrator()
    uow.session.delete(user)
    uow.emit(IdentityEvent.USER_DELETED, {"user_id": str(user.id), "email": user.email}, tenant_id=user.tenant_id)
    announce_revocation(uow, user, "user_deleted")
    uow.commit()


def email_in_use(uow: UnitOfWork, ctx: CallContext, email: str) -> bool:
    """Whether a user has this email (any letter case): tenancy asks before it makes a partner
    or customer account whose first administrator is invited at that email. Tells no more
    than ``create_user``'s 409 does; for signed-in users and the system only."""
    if not ctx.caller.is_system and ctx.caller.user_id is None:
        raise PermissionDenied("sign in first")
    return email_taken(uow, email)


def list_password_expiring(uow: UnitOfWork, ctx: CallContext, within_days: int, page: int, page_size: int,
                           now: datetime | None = None) -> dict[str, Any]:
    """Users whose password expires within ``within_days`` under their tenant's policy (reminders)."""
    if not ctx.caller.is_system:
        raise PermissionDenied("for the suite's own reminders only")
    now = now or utc_now()
    policies = sa.select(PasswordPolicy).where(PasswordPolicy.expiration_enabled.is_(True)).subquery()
    rows = uow.session.execute(
        sa.select(User, policies.c.max_age_days)
        .join(policies, policies.c.tenant_id == User.tenant_id)
        .where(User.password_hash.is_not(None), User.password_changed_at.is_not(None),
               User.email_confirmed_at.is_not(None))
        .order_by(User.id)
    ).all()
    due = []
    for user, max_age in rows:
        expires = user.password_changed_at + timedelta(days=max_age)
        if now <= expires <= now + timedelta(days=within_days):
            due.append({"user_id": str(user.id), "tenant_id": str(user.tenant_id), "email": user.email,
                        "display_name": user.display_name, "password_expires_at": expires.isoformat()})
    start = (page - 1) * page_size
    return {"items": due[start:start + page_size], "page": page, "page_size": page_size, "total": len(due)}
