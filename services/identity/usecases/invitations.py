"""Use cases of tenancy's events: a new partner or customer account gets its first
administrator, invited at the tenant's email."""

from __future__ import annotations

from typing import Any

from contracts.events import IdentityEvent
from contracts.identity import CreateUserRequest, UserView
from contracts.tenancy import AccountCreated
from contracts.vocabulary import TenantKind
from servicekit.context import SYSTEM_CALLER, CallContext
from servicekit.db import UnitOfWork
from servicekit.ids import parse_uuid
from servicekit.logging import get_logger
from servicekit.validation import parse
from services.identity.adapters.mailer import Mailer
from services.identity.adapters.tenant_directory import TenantRef
from services.identity.settings import IdentitySettings
from services.identity.usecases.users import create_user, email_taken

log = get_logger(__name__)


def create_tenant_administrator(
    uow: UnitOfWork, tenant: TenantRef, email: str, display_name: str | None,
    mailer: Mailer, settings: IdentitySettings,
) -> UserView | None:
    """The first administrator of a new partner or customer account.

    Invited without a password: the confirmation mail lets them choose one. An email that
    already has a user is left alone (returns None) rather than failing the event forever,
    and announced as ``administrator_not_invited`` (docs/decisions/0012).
    """
    if email_taken(uow, email):
        # Tenancy asked before making the tenant (email_in_use); only a user made with the
        # same email in between gets here. Say so where the tenant's parent sees it (audit):
        # an administrator of the parent adds one with POST /users naming the tenant.
        log.warning("first administrator not invited: the email already has a user",
                    tenant_id=str(tenant.id), tenant_kind=tenant.kind)
        uow.emit(IdentityEvent.ADMINISTRATOR_NOT_INVITED,
                 {"tenant_id": str(tenant.id), "tenant_kind": tenant.kind, "tenant_name": tenant.name,
                  "email": email, "reason": "email_in_use"}, tenant_id=tenant.id)
        uow.commit()
        return None
    ctx = CallContext(uow.service, SYSTEM_CALLER, uow.context.correlation_id)
    request = CreateUserRequest(email=email, display_name=display_name, role="administrator",
                                tenant_id=tenant.id, tenant_kind=tenant.kind)
    return create_user(uow, ctx, request, mailer, settings, tenant_name=tenant.name)


def invite_account_administrator(
    uow: UnitOfWork, payload: dict[str, Any], mailer: Mailer, settings: IdentitySettings
) -> UserView | None:
    """A new customer account's first administrator, at the account's email (tenancy's
    ``account_created``): the customer confirms the address, chooses a password, and signs
    in to its own account (the account's tenant id is its account id)."""
    created = parse(AccountCreated, payload)
    account = TenantRef(created.account_id, TenantKind.ACCOUNT, created.name)
    return create_tenant_administrator(uow, account, created.email, created.name, mailer, settings)


def invite_partner_administrator(
    uow: UnitOfWork, payload: dict[str, Any], mailer: Mailer, settings: IdentitySettings
) -> UserView | None:
    """A new partner's first administrator, at the partner's email (tenancy's ``partner_created``)."""
    partner = TenantRef(parse_uuid(payload["partner_id"], "partner_id"), TenantKind.PARTNER, payload.get("name"))
    name = payload.get("contact_name") or payload.get("name")
    return create_tenant_administrator(uow, partner, payload["email"], name, mailer, settings)
