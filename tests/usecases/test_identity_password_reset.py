"""Forgot password and the confirmation link's page, on the real use cases and a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from contracts.errors import InvalidCredentials, NotAuthenticated, Throttled, TwoFactorRequired, ValidationFailed
from contracts.identity import (
    ConfirmEmailRequest,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    ResendConfirmationRequest,
)
from services.identity.adapters.models import EmailToken, User
from services.identity.adapters.models import Session as SessionRow
from services.identity.adapters.secrets_box import load_secret_box
from services.identity.domain import totp
from services.identity.domain.throttle import LINK_TRIES_PER_EMAIL, MAIL_REQUESTS_PER_EMAIL
from services.identity.usecases import authentication as auth
from services.identity.usecases import email_links, password_reset, security
from tests.usecases.test_identity_sign_in import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    HERE,
    SETTINGS,
    _ctx,
    create_invited_user,
    sign_in,
)

NEW_PASSWORD = "seven gulls over the breakwater"
ELSEWHERE = auth.Request(ip="198.51.100.7", user_agent="pytest")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def ask_reset(db, email=ADMIN_EMAIL, origin=HERE, now=None):
    return password_reset.request_reset(db.unit_of_work(), PasswordResetRequest(email=email), origin, SETTINGS,
                                        now=now)


def reset(db, token, mailer, password=NEW_PASSWORD, origin=HERE, now=None):
    return password_reset.confirm_reset(
        db.unit_of_work(), PasswordResetConfirmRequest(token=token, new_password=password), origin, mailer, now=now)


def test_a_known_email_user_gets_a_256_bit_single_use_link(identity_db, admin, mailer):
    outgoing = ask_reset(identity_db)

    assert outgoing is not None and outgoing.template == "password_reset" and outgoing.to == ADMIN_EMAIL
    url = outgoing.context["reset_url"]
    assert url.startswith(f"{SETTINGS.public_base_url}/reset-password?token=")
    token = token_of(url)
    assert len(token) >= 43  # 32 random bytes, url-safe
    uow = identity_db.unit_of_work()
    stored = uow.session.execute(sa.select(EmailToken).where(EmailToken.purpose == "reset")).scalar_one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64  # only the SHA-256 is kept
    uow.close()
    assert identity_db.events("password_reset_requested")[-1]["payload"]["email"] == ADMIN_EMAIL
    assert token not in str(identity_db.events("password_reset_requested"))

    reset(identity_db, token, mailer)
    with pytest.raises(ValidationFailed) as again:
        reset(identity_db, token, mailer, password="another long phrase for the harbour")
    assert again.value.details["fields"] == [{"field": "token", "reason": password_reset.INVALID_LINK}]


def test_unknown_and_unconfirmed_addresses_get_no_mail(identity_db, admin, mailer):
    assert ask_reset(identity_db, email="nobody@northwind.example") is None
    create_invited_user(identity_db, admin, mailer, email="invited@northwind.example")
    assert ask_reset(identity_db, email="invited@northwind.example") is None
    assert identity_db.events("password_reset_requested") == []


def test_a_microsoft_user_is_told_to_use_the_provider(identity_db, admin, mailer):
    _, token = create_invited_user(identity_db, admin, mailer, email="sso@northwind.example",
                                      credential_type="microsoft")
    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token))

    outgoing = ask_reset(identity_db, email="sso@northwind.example")

    assert outgoing is not None and outgoing.template == "notice"
    assert "Sign in with Microsoft" in " ".join(outgoing.context["lines"])
    assert "reset_url" not in outgoing.context


def test_a_reset_link_expires_after_60_minutes(identity_db, admin, mailer):
    issued = datetime.now(UTC)
    token = token_of(ask_reset(identity_db, now=issued).context["reset_url"])

    with pytest.raises(ValidationFailed):
        reset(identity_db, token, mailer, now=issued + timedelta(minutes=60, seconds=1))
    reset(identity_db, token, mailer, now=issued + timedelta(minutes=59))


def test_a_newer_request_voids_the_older_link(identity_db, admin, mailer):
    first = token_of(ask_reset(identity_db).context["reset_url"])
    second = token_of(ask_reset(identity_db).context["reset_url"])

    with pytest.raises(ValidationFailed):
        reset(identity_db, first, mailer)
    reset(identity_db, second, mailer)


def test_the_new_password_must_meet_the_policy(identity_db, admin, mailer):
    token = token_of(ask_reset(identity_db).context["reset_url"])

    with pytest.raises(ValidationFailed) as weak:
        reset(identity_db, token, mailer, password="password1")
    assert [f["field"] for f in weak.value.details["fields"]] == ["new_password"]
    reset(identity_db, token, mailer)  # the refused try did not use the link up


def test_a_reset_ends_every_session_and_the_old_password(identity_db, admin, mailer):
    one, two = sign_in(identity_db), sign_in(identity_db)
    token = token_of(ask_reset(identity_db).context["reset_url"])

    done = reset(identity_db, token, mailer)

    assert done.user_id == admin.id
    for session in (one, two):
        with pytest.raises(NotAuthenticated):
            auth.check_session(identity_db.unit_of_work(), session.token, HERE, SETTINGS)
    uow = identity_db.unit_of_work()
    assert uow.session.execute(sa.select(sa.func.count()).select_from(SessionRow)
                               .where(SessionRow.ended_at.is_(None))).scalar_one() == 0
    uow.close()
    with pytest.raises(InvalidCredentials):
        sign_in(identity_db, password=ADMIN_PASSWORD)
    assert sign_in(identity_db, password=NEW_PASSWORD).token
    assert identity_db.events("password_reset")[-1]["payload"] == {"user_id": str(admin.id), "email": ADMIN_EMAIL}
    assert identity_db.events("sessions_revoked")[-1]["payload"]["reason"] == "password_reset"
    notice = mailer.last_to(ADMIN_EMAIL)
    assert notice.template == "security_notice" and notice.context["title"] == "Password changed"


def test_two_factor_is_still_needed_after_a_reset(identity_db, admin, mailer):
    box = load_secret_box()
    setup = security.two_factor_setup(identity_db.unit_of_work(), _ctx(identity_db, admin), box, SETTINGS)
    security.two_factor_enable(identity_db.unit_of_work(), _ctx(identity_db, admin),
                               totp.code_at(setup.secret, datetime.now(UTC) - timedelta(seconds=30)), box)
    token = token_of(ask_reset(identity_db).context["reset_url"])

    reset(identity_db, token, mailer)

    with pytest.raises(TwoFactorRequired):
        sign_in(identity_db, password=NEW_PASSWORD)


def test_reset_requests_are_held_back_per_email_whatever_the_address(identity_db, admin, mailer):
    for _ in range(MAIL_REQUESTS_PER_EMAIL.free + 1):  # the free ones, then one that starts the back-off
        ask_reset(identity_db, email="nobody@northwind.example")
    with pytest.raises(Throttled) as held:
        ask_reset(identity_db, email="nobody@northwind.example", origin=ELSEWHERE)
    assert held.value.details["retry_after"] >= 1
    assert ask_reset(identity_db) is not None  # another email is not held


def test_the_confirmation_page_reads_a_link_without_using_it(identity_db, admin, mailer):
    _, token = create_invited_user(identity_db, admin, mailer, email="page@northwind.example")

    view = email_links.inspect_link(identity_db.unit_of_work(), token)
    assert (view.state, view.email, view.needs_password) == ("usable", "page@northwind.example", True)
    assert email_links.inspect_link(identity_db.unit_of_work(), "x" * 43).state == "unknown"
    later = datetime.now(UTC) + timedelta(hours=25)
    assert email_links.inspect_link(identity_db.unit_of_work(), token, now=later).state == "expired"

    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=token, password=NEW_PASSWORD))
    used = email_links.inspect_link(identity_db.unit_of_work(), token)
    assert (used.state, used.email) == ("used", None)


def test_an_expired_link_brings_a_new_one_and_the_old_stops_working(identity_db, admin, mailer):
    _, old = create_invited_user(identity_db, admin, mailer, email="late@northwind.example")
    uow = identity_db.unit_of_work()
    uow.session.execute(sa.update(EmailToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    uow.commit()

    outgoing = email_links.resend_link(identity_db.unit_of_work(), ResendConfirmationRequest(token=old), HERE,
                                       SETTINGS)

    assert outgoing is not None and outgoing.to == "late@northwind.example"
    new = token_of(outgoing.context["confirm_url"])
    assert outgoing.context["needs_password"] is True
    email_links.confirm_email(identity_db.unit_of_work(), ConfirmEmailRequest(token=new, password=NEW_PASSWORD))
    uow = identity_db.unit_of_work()
    assert uow.session.execute(sa.select(User.email_confirmed_at).where(User.email == "late@northwind.example")
                               ).scalar_one() is not None
    uow.close()


def test_resend_sends_nothing_for_confirmed_or_unknown_addresses(identity_db, admin, mailer):
    by_email = ResendConfirmationRequest(email=ADMIN_EMAIL)  # confirmed already
    assert email_links.resend_link(identity_db.unit_of_work(), by_email, HERE, SETTINGS) is None
    unknown = ResendConfirmationRequest(email="ghost@northwind.example")
    assert email_links.resend_link(identity_db.unit_of_work(), unknown, HERE, SETTINGS) is None


def test_tries_at_one_users_reset_links_are_held_back_from_any_address(identity_db, admin, mailer):
    token = token_of(ask_reset(identity_db).context["reset_url"])
    for attempt in range(LINK_TRIES_PER_EMAIL.free + 1):
        origin = auth.Request(ip=f"198.51.100.{attempt + 20}", user_agent="pytest")
        with pytest.raises(ValidationFailed):
            reset(identity_db, token, mailer, password="password1", origin=origin)  # refused by the policy

    with pytest.raises(Throttled):
        reset(identity_db, token, mailer, origin=ELSEWHERE)
