"""Sign-in, sessions, confirmation and passwords, on the real handlers and a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.context import Caller
from contracts.errors import (
    AccessDenied,
    EmailNotConfirmed,
    InvalidCredentials,
    NotAuthenticated,
    OwnIpNotTrusted,
    SessionExpired,
    Throttled,
    TwoFactorRequired,
    ValidationFailed,
)
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    CreateUserRequest,
    IpEntryRequest,
    PasswordPolicyView,
    SignInRequest,
)
from services.identity.adapters.models import EmailToken, User
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.domain import totp
from services.identity.domain.email_links import link_state
from services.identity.domain.throttle import FREE_FAILURES
from services.identity.settings import IdentitySettings
from services.identity.usecases import authentication as auth
from services.identity.usecases import email_links, security, users
from services.identity.usecases.bootstrap import ensure_demo_administrator

TENANT = uuid.uuid4()
ADMIN_EMAIL = "admin@northwind.example"
ADMIN_PASSWORD = "a quiet harbour at dawn"
HERE = auth.Request(ip="203.0.113.10", user_agent="pytest")
SETTINGS = IdentitySettings()


@pytest.fixture
def admin(identity_db):
    from pydantic import SecretStr

    ensure_demo_administrator(identity_db.unit_of_work(), TENANT, ADMIN_EMAIL, SecretStr(ADMIN_PASSWORD))
    uow = identity_db.unit_of_work()
    user = uow.session.query(User).filter_by(email_normalised=ADMIN_EMAIL).one()
    admin = SimpleNamespace(id=user.id, tenant_id=user.tenant_id, email=user.email, role=user.role)
    uow.close()
    return admin


def caller_for(user: SimpleNamespace, ip: str = "203.0.113.10", session_id: uuid.UUID | None = None) -> Caller:
    return Caller(
        user_id=user.id, tenant_id=user.tenant_id, email=user.email, role=user.role, ip=ip, session_id=session_id
    )


def sign_in(db, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, origin=HERE, **codes):
    return auth.sign_in(
        db.unit_of_work(), SignInRequest(email=email, password=password, **codes), origin, SETTINGS, load_secret_box()
    )


def test_the_right_password_opens_a_session_that_checks_out(identity_db, admin):
    reply = sign_in(identity_db)

    principal = auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS)
    assert principal.user.email == ADMIN_EMAIL
    assert len(reply.token) >= 22  # ≥ 128 bits, url-safe
    assert reply.password_expired is False
    assert identity_db.events("signed_in")[-1]["payload"]["email"] == ADMIN_EMAIL


def test_wrong_password_and_unknown_email_are_refused_alike(identity_db, admin):
    with pytest.raises(InvalidCredentials) as wrong:
        sign_in(identity_db, password="not the password at all")
    with pytest.raises(InvalidCredentials) as unknown:
        sign_in(identity_db, email="nobody@northwind.example")

    assert wrong.value.message == unknown.value.message
    reasons = [e["payload"]["reason"] for e in identity_db.events("sign_in_failed")]
    assert reasons == ["bad_credentials", "bad_credentials"]


def test_repeated_failures_are_throttled_with_retry_after(identity_db, admin):
    for _ in range(FREE_FAILURES + 1):
        with pytest.raises(InvalidCredentials):
            sign_in(identity_db, password="wrong password again")

    with pytest.raises(Throttled) as throttled:
        sign_in(identity_db)  # even the right password waits
    assert throttled.value.details["retry_after"] >= 1


def test_signed_out_and_expired_sessions_are_refused(identity_db, admin):
    reply = sign_in(identity_db)
    principal = auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS)

    later = datetime.now(UTC) + timedelta(minutes=SETTINGS.session_idle_minutes + 1)
    with pytest.raises(SessionExpired):
        auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS, now=later)
    auth.sign_out(identity_db.unit_of_work(), principal.session_id)
    with pytest.raises(NotAuthenticated):
        auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS)


def create_invited_user(identity_db, admin, mailer, email="new.user@northwind.example", **extra):
    request = CreateUserRequest(email=email, role="custom", permissions=["view_dashboard"], **extra)
    view = users.create_user(
        identity_db.unit_of_work(caller_for(admin)), _ctx(identity_db, admin), request, mailer, SETTINGS
    )
    link = mailer.last_to(email).context["confirm_url"]
    return view, parse_qs(urlsplit(link).query)["token"][0]


def _ctx(identity_db, admin, ip="203.0.113.10", session_id=None):
    return identity_db.unit_of_work(caller_for(admin, ip, session_id)).context


def test_a_new_user_confirms_once_and_only_then_signs_in(identity_db, admin, mailer):
    view, token = create_invited_user(identity_db, admin, mailer)
    assert mailer.sent[-1].template == "email_confirmation"
    assert mailer.sent[-1].context["confirm_url"].startswith(SETTINGS.public_base_url)

    with pytest.raises(ValidationFailed) as no_password:
        # Invited without a password: confirming sets it.
        email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token))
    assert no_password.value.details["fields"][0]["field"] == "password"
    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token, password="lantern over the bay"))
    with pytest.raises(ValidationFailed) as reused:
        email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token, password="x" * 12))

    assert reused.value.details["fields"][0]["field"] == "token"
    assert sign_in(identity_db, view.email, "lantern over the bay").user.email_confirmed


def test_a_confirmation_link_expires_after_24_hours(identity_db, admin, mailer):
    _, token = create_invited_user(identity_db, admin, mailer, password="lantern over the bay")
    uow = identity_db.unit_of_work()
    row = uow.session.query(EmailToken).one()
    issued = row.created_at

    assert link_state(row.used_at, row.expires_at, issued + timedelta(hours=24)) == "usable"
    assert link_state(row.used_at, row.expires_at, issued + timedelta(hours=24, seconds=1)) == "expired"
    with pytest.raises(ValidationFailed):
        email_links.confirm_email(
            identity_db.unit_of_work(), ConfirmEmailRequest(token=token), now=issued + timedelta(hours=24, seconds=1)
        )
    uow.close()


def test_resend_makes_the_older_link_stop_working(identity_db, admin, mailer):
    view, first = create_invited_user(identity_db, admin, mailer, password="lantern over the bay")

    users.resend_confirmation(identity_db.unit_of_work(), _ctx(identity_db, admin), view.id, mailer, SETTINGS)
    second = parse_qs(urlsplit(mailer.sent[-1].context["confirm_url"]).query)["token"][0]

    with pytest.raises(ValidationFailed):
        email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=first))
    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=second))


def test_an_unconfirmed_user_cannot_sign_in(identity_db, admin, mailer):
    view, _ = create_invited_user(identity_db, admin, mailer, password="lantern over the bay")

    with pytest.raises(EmailNotConfirmed):
        sign_in(identity_db, view.email, "lantern over the bay")


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(identity_db, admin, mailer):
    mine, other = sign_in(identity_db), sign_in(identity_db)
    me = auth.check_session(identity_db.unit_of_work(), mine.token, HERE, SETTINGS)

    with pytest.raises(ValidationFailed) as wrong:
        auth.change_password(
            identity_db.unit_of_work(),
            admin.id,
            me.session_id,
            ChangePasswordRequest(
                current_password="not it at all", new_password="fresh tide pools", confirm_password="fresh tide pools"
            ),
            mailer,
        )
    assert wrong.value.details["fields"][0]["field"] == "current_password"
    with pytest.raises(ValidationFailed) as mismatch:
        auth.change_password(
            identity_db.unit_of_work(),
            admin.id,
            me.session_id,
            ChangePasswordRequest(
                current_password=ADMIN_PASSWORD, new_password="fresh tide pools", confirm_password="fresh tide pool"
            ),
            mailer,
        )
    assert mismatch.value.details["fields"][0]["field"] == "confirm_password"
    with pytest.raises(ValidationFailed) as common:
        auth.change_password(
            identity_db.unit_of_work(),
            admin.id,
            me.session_id,
            ChangePasswordRequest(
                current_password=ADMIN_PASSWORD, new_password="password123", confirm_password="password123"
            ),
            mailer,
        )
    assert common.value.details["fields"][0]["field"] == "new_password"

    auth.change_password(
        identity_db.unit_of_work(),
        admin.id,
        me.session_id,
        ChangePasswordRequest(
            current_password=ADMIN_PASSWORD, new_password="fresh tide pools", confirm_password="fresh tide pools"
        ),
        mailer,
    )

    auth.check_session(identity_db.unit_of_work(), mine.token, HERE, SETTINGS)
    with pytest.raises(NotAuthenticated):
        auth.check_session(identity_db.unit_of_work(), other.token, HERE, SETTINGS)
    assert sign_in(identity_db, password="fresh tide pools")


def test_an_expired_password_still_signs_in_but_is_flagged(identity_db, admin, mailer):
    security.set_password_policy(
        identity_db.unit_of_work(),
        _ctx(identity_db, admin),
        PasswordPolicyView(expiration_enabled=True, max_age_days=30),
        mailer,
    )
    uow = identity_db.unit_of_work()
    uow.session.get(User, admin.id).password_changed_at = datetime.now(UTC) - timedelta(days=31)
    uow.commit()

    reply = sign_in(identity_db)

    assert reply.password_expired is True
    assert auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS).password_expired


def test_totp_code_is_needed_and_accepted_once(identity_db, admin):
    setup = security.two_factor_setup(identity_db.unit_of_work(), _ctx(identity_db, admin), load_secret_box(), SETTINGS)
    now = datetime.now(UTC)
    enable = security.two_factor_enable(
        identity_db.unit_of_work(),
        _ctx(identity_db, admin),
        totp.code_at(setup.secret, now - timedelta(seconds=30)),
        load_secret_box(),
    )
    assert len(enable.recovery_codes) == 10

    with pytest.raises(TwoFactorRequired):
        sign_in(identity_db)
    code = totp.code_at(setup.secret, now)
    assert sign_in(identity_db, totp_code=code)
    with pytest.raises(InvalidCredentials):
        sign_in(identity_db, totp_code=code)  # replay

    recovery = enable.recovery_codes[0]
    assert sign_in(identity_db, recovery_code=recovery.upper())
    with pytest.raises(InvalidCredentials):
        sign_in(identity_db, recovery_code=recovery)
    assert identity_db.events("recovery_code_used")[-1]["payload"]["remaining"] == 9


def test_ip_restrictions_refuse_to_lock_out_the_caller_and_then_deny_others(identity_db, admin, mailer):
    ctx = _ctx(identity_db, admin, ip="203.0.113.10")
    security.add_ip_entry(
        identity_db.unit_of_work(),
        ctx,
        IpEntryRequest(description="branch office", range_from="198.51.100.1", range_to="198.51.100.50"),
        mailer,
    )

    with pytest.raises(OwnIpNotTrusted):
        security.set_ip_restrictions_enabled(identity_db.unit_of_work(), ctx, True, mailer)
    assert security.get_ip_restrictions(identity_db.unit_of_work(), ctx).enabled is False

    security.add_ip_entry(
        identity_db.unit_of_work(),
        ctx,
        IpEntryRequest(description="head office", addresses="203.0.113.10, 2001:db8::10"),
        mailer,
    )
    view = security.set_ip_restrictions_enabled(identity_db.unit_of_work(), ctx, True, mailer)

    assert view.enabled and len(view.entries) == 2
    assert sign_in(identity_db, origin=auth.Request(ip="198.51.100.7", user_agent=None))
    with pytest.raises(AccessDenied):
        sign_in(identity_db, origin=auth.Request(ip="192.0.2.99", user_agent=None))
    assert mailer.sent[-1].template == "security_notice"
    assert len(identity_db.events("ip_restrictions_changed")) == 3


def test_account_permissions_need_dashboard_or_add_accounts(identity_db, admin, mailer):
    with pytest.raises(ValidationFailed) as refused:
        users.create_user(
            identity_db.unit_of_work(),
            _ctx(identity_db, admin),
            CreateUserRequest(email="viewer@northwind.example", role="custom", permissions=["account_view_billing"]),
            mailer,
            SETTINGS,
        )

    assert refused.value.details["fields"][0]["field"] == "permissions"


def test_a_session_ends_at_its_absolute_expiry_even_when_busy(identity_db, admin):
    reply = sign_in(identity_db)
    at = datetime.now(UTC)
    # Keep it busy: a check every 20 minutes keeps it from idling out...
    while at < reply.expires_at - timedelta(minutes=20):
        at += timedelta(minutes=20)
        auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS, now=at)

    with pytest.raises(SessionExpired):  # ...but not past its absolute lifetime
        auth.check_session(identity_db.unit_of_work(), reply.token, HERE, SETTINGS,
                           now=reply.expires_at + timedelta(seconds=1))


def test_many_failures_from_one_address_are_throttled_across_accounts(identity_db, admin):
    from services.identity.domain.throttle import FREE_FAILURES_PER_IP

    for i in range(FREE_FAILURES_PER_IP + 1):
        with pytest.raises(InvalidCredentials):
            sign_in(identity_db, email=f"guess{i}@northwind.example", password="guessing again")

    with pytest.raises(Throttled):
        sign_in(identity_db)
    assert sign_in(identity_db, origin=auth.Request(ip="203.0.113.99", user_agent=None))  # elsewhere is fine


def test_an_old_hash_is_upgraded_at_the_next_sign_in(identity_db, admin):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(ADMIN_PASSWORD)
    uow = identity_db.unit_of_work()
    uow.session.get(User, admin.id).password_hash = weak
    uow.commit()

    sign_in(identity_db)

    upgraded = identity_db.unit_of_work().session.get(User, admin.id).password_hash
    assert upgraded != weak and "m=8192" not in upgraded
    assert sign_in(identity_db)


def test_reminders_list_the_passwords_that_expire_soon(identity_db, admin, mailer):
    security.set_password_policy(identity_db.unit_of_work(), _ctx(identity_db, admin),
                                 PasswordPolicyView(expiration_enabled=True, max_age_days=30), mailer)
    uow = identity_db.unit_of_work()
    uow.session.get(User, admin.id).password_changed_at = datetime.now(UTC) - timedelta(days=25)
    uow.commit()

    uow = identity_db.unit_of_work()
    soon = users.list_password_expiring(uow, uow.context, within_days=7, page=1, page_size=50)
    uow = identity_db.unit_of_work()
    later = users.list_password_expiring(uow, uow.context, within_days=3, page=1, page_size=50)

    assert [item["email"] for item in soon["items"]] == [ADMIN_EMAIL]
    assert later["total"] == 0



def test_the_last_free_try_of_an_address_is_checked_by_one_sign_in_at_a_time(database_url, monkeypatch, tmp_path):
    """On PostgreSQL (row locks): while one sign-in checks an address's last free try, another
    from the same address waits 1 s instead of being checked alongside it."""
    from pathlib import Path

    import sqlalchemy as sa

    from servicekit.settings import normalise_database_url
    from services.identity.adapters.models import SignInThrottle
    from services.identity.domain.throttle import FREE_FAILURES_PER_IP
    from tests.support.fixtures import MigratedDatabase

    url = normalise_database_url(database_url("identity"))
    if url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: one writer at a time anyway")
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path / "var"))
    db = MigratedDatabase("identity", Path(auth.__file__).parents[1] / "adapters" / "migrations", url)
    try:
        for i in range(FREE_FAILURES_PER_IP):
            with pytest.raises(InvalidCredentials):
                sign_in(db, email=f"guess{i}@northwind.example", password="guessing again")
        in_flight = db.session_factory()  # another sign-in from the address, checking its last free try now
        in_flight.execute(sa.select(SignInThrottle).where(SignInThrottle.key == f"ip:{HERE.ip}")
                          .with_for_update()).all()
        try:
            with pytest.raises(Throttled) as refused:
                sign_in(db, email="guess-parallel@northwind.example", password="guessing again")
            assert refused.value.details["retry_after"] == 1
        finally:
            in_flight.rollback()
            in_flight.close()

        with pytest.raises(InvalidCredentials):  # the refusal did not use the try up
            sign_in(db, email="guess-last@northwind.example", password="guessing again")
    finally:
        db.dispose()
