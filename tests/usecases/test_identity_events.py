"""What identity announces (outbox events) and mails (security notices), on the real use
cases and a real database: the right payload, and never a password, token, TOTP secret or code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from contracts.envelope import EventEnvelope
from contracts.errors import Conflict, InvalidCredentials, NotAuthenticated, NotFound, ValidationFailed
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    CreateUserRequest,
    IpEntryRequest,
    PasswordPolicyView,
    UpdateUserRequest,
)
from contracts.tenancy import AccountCreated, AccountStatus, DefaultSubscription
from servicekit.tables import processed_events
from services.identity.adapters.models import User
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.adapters.tenant_directory import TenantRef, no_such_tenant
from services.identity.domain import totp
from services.identity.usecases import authentication as auth
from services.identity.usecases import email_links, invitations, security, users
from tests.usecases import test_identity_sign_in
from tests.usecases.test_identity_sign_in import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    HERE,
    SETTINGS,
    TENANT,
    _ctx,
    caller_for,
    sign_in,
)

admin = test_identity_sign_in.admin  # the fixture: the tenant's first administrator

PASSWORD = "lantern over the bay"
NEW_PASSWORD = "fresh tide pools at noon"


def dumped(events: list[dict[str, Any]]) -> str:
    return json.dumps(events, default=str)


def mail_text(mailer: Any) -> str:
    return json.dumps([m.to_wire() for m in mailer.sent], default=str)


def only_event(identity_db: Any, event_type: str) -> dict[str, Any]:
    [event] = identity_db.events(event_type)
    return event


def confirmed_user(identity_db: Any, admin: Any, mailer: Any, email: str, role: str = "custom") -> SimpleNamespace:
    permissions = ["view_dashboard"] if role == "custom" else []
    view = users.create_user(identity_db.unit_of_work(caller_for(admin)), _ctx(identity_db, admin),
                             CreateUserRequest(email=email, role=role, permissions=permissions), mailer, SETTINGS)
    token = parse_qs(urlsplit(mailer.last_to(email).context["confirm_url"]).query)["token"][0]
    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token, password=PASSWORD))
    return SimpleNamespace(id=view.id, tenant_id=view.tenant_id, email=view.email, role=view.role)


def notices(mailer: Any, title: str) -> dict[str, Any]:
    """The security notices with this title, by recipient."""
    found = [m for m in mailer.sent if m.template == "security_notice" and m.context["title"] == title]
    by_recipient = {m.to: m for m in found}
    assert len(by_recipient) == len(found), "one notice per recipient"
    return by_recipient


# ---- events --------------------------------------------------------------------------------------


def test_signing_out_is_announced_without_the_session_token(identity_db, admin):
    reply = sign_in(identity_db)
    principal = auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS)

    auth.sign_out(identity_db.unit_of_work(), principal.session_id)
    auth.sign_out(identity_db.unit_of_work(), principal.session_id)  # already ended: nothing more to say

    event = only_event(identity_db, "signed_out")
    assert event["payload"] == {"user_id": str(admin.id), "email": ADMIN_EMAIL}
    assert event["tenant_id"] == str(TENANT)
    assert reply.token not in dumped(identity_db.events())


def test_creating_a_user_is_announced_without_its_password_or_link(identity_db, admin, mailer):
    view = users.create_user(
        identity_db.unit_of_work(), _ctx(identity_db, admin),
        CreateUserRequest(email="ann@northwind.example", password=PASSWORD, role="custom",
                          permissions=["view_dashboard", "add_accounts"]),
        mailer, SETTINGS,
    )

    [event] = [e for e in identity_db.events("user_created") if e["payload"]["user_id"] == str(view.id)]
    assert event["payload"] == {"user_id": str(view.id), "email": "ann@northwind.example", "role": "custom",
                                "credential_type": "password", "permissions": ["add_accounts", "view_dashboard"],
                                "tenant_id": str(TENANT), "tenant_kind": "distributor", "tenant_name": None}
    assert event["tenant_id"] == str(TENANT)
    link = mailer.last_to("ann@northwind.example").context["confirm_url"]
    token = parse_qs(urlsplit(link).query)["token"][0]
    everything = dumped(identity_db.events())
    assert PASSWORD not in everything and token not in everything


def test_updating_a_user_is_announced_with_the_fields_and_permissions_that_changed(identity_db, admin, mailer):
    user = confirmed_user(identity_db, admin, mailer, "ann@northwind.example")

    users.update_user(identity_db.unit_of_work(), _ctx(identity_db, admin), user.id,
                      UpdateUserRequest(display_name="Ann Archer"))
    assert [e["payload"]["fields"] for e in identity_db.events("user_updated")] == [["display_name"]]
    assert identity_db.events("permissions_changed") == []  # a name is not a permission

    users.update_user(identity_db.unit_of_work(), _ctx(identity_db, admin), user.id,
                      UpdateUserRequest(permissions=["view_dashboard", "view_billing"]))

    updated = identity_db.events("user_updated")[-1]
    assert updated["payload"] == {"user_id": str(user.id), "email": user.email, "fields": ["permissions"]}
    changed = only_event(identity_db, "permissions_changed")
    assert changed["payload"]["permissions"] == ["view_billing", "view_dashboard"]
    assert changed["payload"]["accessible_accounts"] == "all"


def test_deleting_a_user_removes_it_ends_its_sessions_and_is_announced(identity_db, admin, mailer):
    user = confirmed_user(identity_db, admin, mailer, "leaver@northwind.example")
    session = sign_in(identity_db, user.email, PASSWORD)

    users.delete_user(identity_db.unit_of_work(), _ctx(identity_db, admin), user.id)

    event = only_event(identity_db, "user_deleted")
    assert event["payload"] == {"user_id": str(user.id), "email": user.email}
    assert event["tenant_id"] == str(TENANT)
    with pytest.raises(NotFound):
        users.get_user(identity_db.unit_of_work(), _ctx(identity_db, admin), user.id)
    with pytest.raises(NotAuthenticated):
        auth.check_session(identity_db.unit_of_work(), session.token, HERE, SETTINGS)
    with pytest.raises(InvalidCredentials):
        sign_in(identity_db, user.email, PASSWORD)
    listed = users.list_users(identity_db.unit_of_work(), _ctx(identity_db, admin), 1, 50, None)
    assert [u.email for u in listed.items] == [ADMIN_EMAIL]


def test_an_administrator_cannot_delete_themself_or_the_last_administrator(identity_db, admin, mailer):
    with pytest.raises(Conflict):
        users.delete_user(identity_db.unit_of_work(), _ctx(identity_db, admin), admin.id)
    other = confirmed_user(identity_db, admin, mailer, "second.admin@northwind.example", role="administrator")

    users.delete_user(identity_db.unit_of_work(), _ctx(identity_db, other), admin.id)

    assert [e["payload"]["email"] for e in identity_db.events("user_deleted")] == [ADMIN_EMAIL]
    with pytest.raises(Conflict):  # now the only administrator left
        users.delete_user(identity_db.unit_of_work(), _ctx(identity_db, other), other.id)


def test_changing_the_password_is_announced_and_mailed_to_the_user_without_either_password(
        identity_db, admin, mailer):
    me = auth.check_session(identity_db.unit_of_work(), sign_in(identity_db).token, HERE, SETTINGS)
    colleague = confirmed_user(identity_db, admin, mailer, "ann@northwind.example")
    mailer.sent.clear()

    auth.change_password(
        identity_db.unit_of_work(caller_for(admin)), admin.id, me.session_id,
        ChangePasswordRequest(current_password=ADMIN_PASSWORD, new_password=NEW_PASSWORD,
                              confirm_password=NEW_PASSWORD),
        mailer,
    )

    event = only_event(identity_db, "password_changed")
    assert event["payload"] == {"user_id": str(admin.id), "email": ADMIN_EMAIL}
    sent = notices(mailer, "Password changed")
    assert list(sent) == [ADMIN_EMAIL]  # the user themself, nobody else
    assert colleague.email not in [m.to for m in mailer.sent]
    assert "203.0.113.10" in " ".join(sent[ADMIN_EMAIL].context["lines"])
    for text in (dumped(identity_db.events()), mail_text(mailer)):
        assert ADMIN_PASSWORD not in text and NEW_PASSWORD not in text


def test_two_factor_on_and_off_is_announced_without_the_secret_or_any_code(identity_db, admin, mailer):
    box = load_secret_box()
    setup = security.two_factor_setup(identity_db.unit_of_work(), _ctx(identity_db, admin), box, SETTINGS)
    now = datetime.now(UTC)
    enabling_code = totp.code_at(setup.secret, now - timedelta(seconds=30))
    enabled = security.two_factor_enable(identity_db.unit_of_work(), _ctx(identity_db, admin), enabling_code, box)
    disabling_code = totp.code_at(setup.secret, now)

    security.two_factor_disable(identity_db.unit_of_work(), _ctx(identity_db, admin), disabling_code, box, mailer)

    assert only_event(identity_db, "two_factor_enabled")["payload"] == {"user_id": str(admin.id),
                                                                         "email": ADMIN_EMAIL}
    assert only_event(identity_db, "two_factor_disabled")["payload"] == {"user_id": str(admin.id),
                                                                          "email": ADMIN_EMAIL}
    secrets = [setup.secret, f'"{enabling_code}"', f'"{disabling_code}"', *enabled.recovery_codes]
    for text in (dumped(identity_db.events()), mail_text(mailer)):
        assert [s for s in secrets if s in text] == []


def test_a_password_policy_change_is_announced_and_mailed_to_the_administrators_only(identity_db, admin, mailer):
    second = confirmed_user(identity_db, admin, mailer, "second.admin@northwind.example", role="administrator")
    custom = confirmed_user(identity_db, admin, mailer, "custom@northwind.example")
    users.create_user(identity_db.unit_of_work(), _ctx(identity_db, admin),  # invited, not confirmed yet
                      CreateUserRequest(email="invited.admin@northwind.example", role="administrator"),
                      mailer, SETTINGS)
    mailer.sent.clear()

    security.set_password_policy(identity_db.unit_of_work(), _ctx(identity_db, admin),
                                 PasswordPolicyView(expiration_enabled=True, max_age_days=60), mailer)

    event = only_event(identity_db, "password_policy_changed")
    assert event["payload"] == {"expiration_enabled": True, "max_age_days": 60}
    sent = notices(mailer, "Password policy changed")
    assert sorted(sent) == sorted([ADMIN_EMAIL, second.email])
    assert custom.email not in [m.to for m in mailer.sent]
    assert "Passwords now expire after 60 days." in sent[second.email].context["lines"]
    assert f"Changed by {ADMIN_EMAIL} from 203.0.113.10." in sent[second.email].context["lines"]


def test_turning_two_factor_off_tells_the_user_and_the_administrators_but_no_other_user(
        identity_db, admin, mailer):
    box = load_secret_box()
    member = confirmed_user(identity_db, admin, mailer, "member@northwind.example")
    bystander = confirmed_user(identity_db, admin, mailer, "bystander@northwind.example")
    setup = security.two_factor_setup(identity_db.unit_of_work(), _ctx(identity_db, member), box, SETTINGS)
    now = datetime.now(UTC)
    security.two_factor_enable(identity_db.unit_of_work(), _ctx(identity_db, member),
                               totp.code_at(setup.secret, now - timedelta(seconds=30)), box)
    code = totp.code_at(setup.secret, now)
    mailer.sent.clear()

    security.two_factor_disable(identity_db.unit_of_work(), _ctx(identity_db, member), code, box, mailer)

    sent = notices(mailer, "Two-factor authentication turned off")
    assert sorted(sent) == sorted([ADMIN_EMAIL, member.email])
    assert bystander.email not in [m.to for m in mailer.sent]
    assert "Two-factor authentication was turned off for your sign-in." in sent[member.email].context["lines"]
    assert f"Two-factor authentication was turned off for {member.email}." in sent[ADMIN_EMAIL].context["lines"]
    assert [s for s in (setup.secret, code) if s in mail_text(mailer)] == []


def test_ip_restriction_changes_are_mailed_to_the_administrators_only(identity_db, admin, mailer):
    custom = confirmed_user(identity_db, admin, mailer, "custom@northwind.example")
    mailer.sent.clear()

    security.add_ip_entry(identity_db.unit_of_work(), _ctx(identity_db, admin),
                          IpEntryRequest(description="head office", addresses="203.0.113.10"), mailer)

    sent = notices(mailer, "IP restrictions changed")
    assert list(sent) == [ADMIN_EMAIL]
    assert "Entry added: head office" in sent[ADMIN_EMAIL].context["lines"]
    assert custom.email not in [m.to for m in mailer.sent]


# ---- a new customer account's first administrator ----------------------------------------------

ACCOUNT, PARTNER = uuid.uuid4(), uuid.uuid4()


def account_created(email: str = "it@alpine.example") -> EventEnvelope:
    payload = AccountCreated(account_id=ACCOUNT, owner_id=PARTNER, owner_kind="partner", name="Alpine Ski House",
                             email=email, subscription=DefaultSubscription.TRIAL_EXPIRING,
                             account_status=AccountStatus.TRIAL_STARTED)
    return EventEnvelope(type="account_created", source="tenancy", tenant_id=PARTNER, payload=payload.to_wire())


@pytest.fixture
def identity_service(monkeypatch):
    """The service class, imported without reconfiguring this process's logging."""
    import servicekit.logging

    monkeypatch.setattr(servicekit.logging, "_configured_service", "identity")
    from services.identity.entrypoints import IdentityService

    return IdentityService


def deliver(identity_service: Any, identity_db: Any, mailer: Any, envelope: EventEnvelope) -> None:
    """What a worker does with the event: the real handler, its idempotency claim included."""
    host = SimpleNamespace(db=identity_db.unit_of_work(), mailer=mailer, settings=SETTINGS)
    identity_service.invite_account_administrator(host, envelope.to_wire())


def account_users(identity_db: Any) -> list[User]:
    return list(identity_db.unit_of_work().session.scalars(sa.select(User).where(User.tenant_id == ACCOUNT)))


def test_a_new_customer_account_invites_its_first_administrator_once(identity_db, mailer, identity_service):
    envelope = account_created()

    deliver(identity_service, identity_db, mailer, envelope)
    deliver(identity_service, identity_db, mailer, envelope)  # redelivered

    with identity_db.engine.connect() as connection:
        claims = connection.execute(sa.select(processed_events.c.event_id)).scalars().all()
    assert claims == [envelope.event_id]  # claimed on event_id, once
    [user] = account_users(identity_db)
    assert (user.email, user.role, user.tenant_kind, user.display_name) == (
        "it@alpine.example", "administrator", "account", "Alpine Ski House")
    assert user.password_hash is None and user.email_confirmed_at is None
    [invitation] = mailer.sent
    assert invitation.template == "email_confirmation" and invitation.to == "it@alpine.example"
    assert invitation.context["needs_password"] is True
    assert invitation.context["confirm_url"].startswith(SETTINGS.public_base_url)
    token = parse_qs(urlsplit(invitation.context["confirm_url"]).query)["token"][0]

    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token, password=PASSWORD))
    signed = sign_in(identity_db, "it@alpine.example", PASSWORD)
    assert (signed.user.tenant_id, signed.user.tenant_kind) == (ACCOUNT, "account")
    assert [e["payload"]["email"] for e in identity_db.events("user_created")] == ["it@alpine.example"]


def test_an_account_whose_email_already_has_a_user_is_skipped_without_failing(
        identity_db, admin, mailer, identity_service):
    deliver(identity_service, identity_db, mailer, account_created(email=ADMIN_EMAIL.upper()))

    assert account_users(identity_db) == []
    assert mailer.sent == []
    assert [e["payload"]["email"] for e in identity_db.events("user_created")] == [ADMIN_EMAIL]  # the fixture's
    # a second account with a fresh email still gets its administrator
    deliver(identity_service, identity_db, mailer, account_created(email="ops@alpine.example"))
    assert [u.email for u in account_users(identity_db)] == ["ops@alpine.example"]


class KnownTenants:
    """Tenancy's answer as a fake: the tenants the caller may see, by id."""

    def __init__(self, *tenants: TenantRef) -> None:
        self.by_id = {tenant.id: tenant for tenant in tenants}

    def tenant(self, tenant_id: uuid.UUID) -> TenantRef:
        if tenant_id not in self.by_id:
            raise no_such_tenant()
        return self.by_id[tenant_id]


def test_a_user_joins_the_tenant_named_and_the_event_says_which(identity_db, admin, mailer):
    account = TenantRef(uuid.uuid4(), "account", "Alpine Ski")

    view = users.create_user(
        identity_db.unit_of_work(), _ctx(identity_db, admin),
        CreateUserRequest(email="clerk@alpine.example", role="custom", permissions=["view_dashboard"],
                          tenant_id=account.id, tenant_kind="distributor"),  # a kind from the caller counts for nothing
        mailer, SETTINGS, tenants=KnownTenants(account, TenantRef(TENANT, "distributor", "Northwind")),
    )

    assert (view.tenant_id, view.tenant_kind) == (account.id, "account")
    [event] = [e for e in identity_db.events("user_created") if e["payload"]["user_id"] == str(view.id)]
    assert (event["tenant_id"], event["payload"]["tenant_name"]) == (str(account.id), "Alpine Ski")


def test_a_tenant_the_caller_does_not_see_is_not_found_naming_tenant_id_and_nothing_is_made(identity_db, admin,
                                                                                           mailer):
    elsewhere = uuid.uuid4()
    for tenants in (KnownTenants(), None):  # without a directory only the caller's own tenant is vouched for
        with pytest.raises(NotFound) as refused:
            users.create_user(identity_db.unit_of_work(), _ctx(identity_db, admin),
                              CreateUserRequest(email="x@elsewhere.example", tenant_id=elsewhere),
                              mailer, SETTINGS, tenants=tenants)
        assert refused.value.details["fields"][0]["field"] == "tenant_id"
    assert not [e for e in identity_db.events("user_created") if e["payload"]["email"] == "x@elsewhere.example"]


def test_an_administrator_not_invited_is_announced_naming_the_tenant(identity_db, admin, mailer):
    partner = TenantRef(uuid.uuid4(), "partner", "Contoso")

    assert invitations.create_tenant_administrator(identity_db.unit_of_work(), partner, ADMIN_EMAIL.upper(), None,
                                                   mailer, SETTINGS) is None

    event = only_event(identity_db, "administrator_not_invited")
    assert event["tenant_id"] == str(partner.id)
    assert event["payload"] == {"tenant_id": str(partner.id), "tenant_kind": "partner", "tenant_name": "Contoso",
                                "email": ADMIN_EMAIL.upper(), "reason": "email_in_use"}


def test_an_administrator_limited_to_some_accounts_grants_no_more_than_it_sees(identity_db, admin, mailer):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    ctx = _ctx(identity_db, admin)
    limited = users.create_user(identity_db.unit_of_work(ctx.caller), ctx, CreateUserRequest(
        email="limited-admin@northwind.example", role="administrator", accessible_accounts=[mine]), mailer, SETTINGS)
    limited_ctx = _ctx(identity_db, SimpleNamespace(id=limited.id, tenant_id=limited.tenant_id,
                                                    email=limited.email, role="administrator"))

    for wider in ("all", [mine, theirs]):
        with pytest.raises(ValidationFailed) as refused:
            users.create_user(identity_db.unit_of_work(limited_ctx.caller), limited_ctx, CreateUserRequest(
                email="wider@northwind.example", role="custom", permissions=["view_dashboard"],
                accessible_accounts=wider), mailer, SETTINGS)
        assert refused.value.details["fields"][0]["field"] == "accessible_accounts"
        with pytest.raises(ValidationFailed):
            users.update_user(identity_db.unit_of_work(limited_ctx.caller), limited_ctx, limited.id,
                              UpdateUserRequest(accessible_accounts=wider))

    narrower = users.create_user(identity_db.unit_of_work(limited_ctx.caller), limited_ctx, CreateUserRequest(
        email="narrow@northwind.example", role="custom", permissions=["view_dashboard"],
        accessible_accounts=[mine]), mailer, SETTINGS)
    assert [str(a) for a in narrower.accessible_accounts] == [mine]
    uow = identity_db.unit_of_work()
    assert uow.session.query(User).filter_by(email_normalised="wider@northwind.example").first() is None
    assert uow.session.get(User, limited.id).accessible_accounts == [mine]
    uow.close()
