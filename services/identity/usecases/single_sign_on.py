"""Use cases of signing in with Microsoft or Google (OpenID Connect, code flow with PKCE).

``start`` records a sign-in attempt and answers the provider's authorization URL; ``finish``
takes the provider's answer (single use, from the browser that started it), validates the ID
token, matches or links the user, applies the IP restrictions and opens a session, or hands
out a ticket for the second factor (``finish_second_factor``).

No transaction is open while the provider is asked anything (discovery, keys, the token
exchange): each database step commits before the next HTTP call. Every refusal is recorded as
``sign_in_failed`` with a reason, never with a code, a token or the verifier.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.errors import PortalError, ServiceUnavailable, SsoNotConfigured, Throttled
from contracts.events import IdentityEvent
from contracts.identity import (
    SignInReply,
    SsoCallbackRequest,
    SsoProviders,
    SsoSecondFactorRequest,
    SsoSignInReply,
    SsoStarted,
    SsoStartRequest,
)
from servicekit.db import UnitOfWork
from services.identity.adapters.models import SignInThrottle, SsoAttempt, User
from services.identity.adapters.oidc_provider import OidcProvider, ProviderRefusal
from services.identity.adapters.secrets_box import SecretBox
from services.identity.adapters.throttle_store import count_one
from services.identity.adapters.views import is_password_expired, user_view
from services.identity.domain.sign_in_rules import Refusal, counts_as_guess
from services.identity.domain.sign_in_rules import refused as sign_in_refused
from services.identity.domain.single_sign_on import (
    PROVIDER_NAMES,
    PROVIDERS,
    SECOND_FACTOR_VALID_FOR,
    KnownUser,
    ProviderIdentity,
    SsoRefusal,
    attempt_refusal,
    match_refusal,
    provider_identity,
    refused,
    second_factor_usable,
)
from services.identity.domain.throttle import sign_in_keys
from services.identity.domain.tokens import hash_token, new_token, tokens_match
from services.identity.domain.user_rules import normalised_email
from services.identity.settings import IdentitySettings
from services.identity.usecases.authentication import (
    Request,
    check_second_factor,
    ensure_ip_trusted,
    known_address,
    open_session,
    sign_in_wait,
    utc_now,
)

ATTEMPTS_KEPT = timedelta(days=1)  # older attempts (used or not) are deleted


def configured_providers(settings: IdentitySettings) -> SsoProviders:
    return SsoProviders(providers=[p.value for p in PROVIDERS if settings.sso_provider(p.value)])  # type: ignore[misc]


def _provider(settings: IdentitySettings, name: str) -> OidcProvider:
    config = settings.sso_provider(name)
    if config is None:
        raise SsoNotConfigured(f"{PROVIDER_NAMES.get(name, name)} sign-in is not configured for this portal; "
                               "ask your administrator", {"provider": name})
    return OidcProvider(config, settings.sso_redirect_uri(name), settings.sso_http_timeout_seconds)


def start(uow: UnitOfWork, name: str, request: SsoStartRequest, settings: IdentitySettings, box: SecretBox,
          now: datetime | None = None) -> SsoStarted:
    now = now or utc_now()
    provider = _provider(settings, name)
    state, nonce, verifier, browser_key = new_token(), new_token(), new_token(48), new_token()
    try:
        url = provider.authorization_url(state, nonce, verifier)  # HTTP (discovery): no transaction open
    except ProviderRefusal as error:
        raise ServiceUnavailable(f"{PROVIDER_NAMES[name]} sign-in cannot be reached right now; try again soon",
                                 {"provider": name}) from error
    uow.session.execute(sa.delete(SsoAttempt).where(SsoAttempt.created_at < now - ATTEMPTS_KEPT))
    uow.session.add(SsoAttempt(
        state_hash=hash_token(state), browser_key_hash=hash_token(browser_key), provider=name, nonce=nonce,
        code_verifier_sealed=box.seal(verifier), next_path=request.next or "/", created_at=now,
    ))
    uow.commit()
    return SsoStarted(authorization_url=url, browser_key=browser_key)


def finish(uow: UnitOfWork, name: str, request: SsoCallbackRequest, origin: Request, settings: IdentitySettings,
           box: SecretBox, now: datetime | None = None) -> SsoSignInReply:
    now = now or utc_now()
    provider = _provider(settings, name)
    attempt = _claim_attempt(uow, name, request, now)
    if request.error or not request.code:
        raise _refuse(uow, name, SsoRefusal.PROVIDER_ERROR)
    try:  # HTTP (token exchange, keys): the attempt was claimed and committed above
        claims = provider.signed_in_claims(request.code, box.open(attempt.code_verifier_sealed), attempt.nonce)
    except ProviderRefusal as error:
        identity = provider_identity(error.claims) if error.claims is not None else None
        raise _refuse(uow, name, error.refusal, identity,
                      _claimed_user(uow, name, identity) if identity else None) from error
    identity = provider_identity(claims)
    user = _matched_user(uow, name, identity, now)
    ensure_ip_trusted(uow, user, origin.ip,
                      on_refusal=lambda: _record_failure(uow, name, Refusal.IP_NOT_TRUSTED, identity, user))
    attempt.user_id = user.id
    if user.totp_enabled_at is not None:
        ticket = new_token()
        attempt.ticket_hash = hash_token(ticket)
        attempt.ticket_expires_at = now + SECOND_FACTOR_VALID_FOR
        uow.commit()
        return SsoSignInReply(next=attempt.next_path, second_factor_ticket=ticket)
    return SsoSignInReply(next=attempt.next_path, session=_signed_in(uow, user, name, origin, settings, now))


def _claim_attempt(uow: UnitOfWork, name: str, request: SsoCallbackRequest, now: datetime) -> SsoAttempt:
    """The attempt this callback belongs to, marked used (once: a replayed ``state`` is refused)."""
    row = uow.session.execute(
        sa.select(SsoAttempt).where(SsoAttempt.state_hash == hash_token(request.state), SsoAttempt.provider == name)
    ).scalar_one_or_none()
    refusal = attempt_refusal(
        found=row is not None, used=row is not None and row.used_at is not None,
        created_at=row.created_at if row else None,
        browser_matches=row is not None and bool(request.browser_key)
        and tokens_match(request.browser_key or "", row.browser_key_hash),
        now=now)
    if refusal is None and row is not None:
        won = uow.session.execute(
            sa.update(SsoAttempt).where(SsoAttempt.id == row.id, SsoAttempt.used_at.is_(None))
            .values(used_at=now).returning(SsoAttempt.id)
        ).first()
        refusal = None if won is not None else SsoRefusal.STATE_USED
    if refusal is not None:
        uow.rollback()
        user = uow.session.get(User, row.user_id) if row is not None and row.user_id else None
        raise _refuse(uow, name, refusal, user=user)
    assert row is not None
    uow.commit()
    return row


def _known(user: User | None, name: str) -> KnownUser | None:
    if user is None:
        return None
    return KnownUser(user.credential_type, user.sso_subject if user.sso_provider == name else None)


def _by_subject(uow: UnitOfWork, name: str, subject: str) -> User | None:
    if not subject:
        return None
    return uow.session.execute(
        sa.select(User).where(User.sso_provider == name, User.sso_subject == subject)
    ).scalar_one_or_none()


def _by_email(uow: UnitOfWork, email: str | None) -> User | None:
    if not email:
        return None
    return uow.session.execute(
        sa.select(User).where(User.email_normalised == normalised_email(email))
    ).scalar_one_or_none()


def _claimed_user(uow: UnitOfWork, name: str, identity: ProviderIdentity) -> User | None:
    """Whom a refused but validly signed answer names (for the audit trail only)."""
    return _by_subject(uow, name, identity.subject) or _by_email(uow, identity.email)


def _matched_user(uow: UnitOfWork, name: str, identity: ProviderIdentity, now: datetime) -> User:
    by_subject = _by_subject(uow, name, identity.subject)
    by_email = None if by_subject else _by_email(uow, identity.email)
    refusal = match_refusal(name, identity, _known(by_subject, name), _known(by_email, name))
    if refusal is not None:
        raise _refuse(uow, name, refusal, identity, by_subject or by_email)
    user = by_subject or by_email
    assert user is not None
    if by_subject is None:
        # The first sign-in links the provider's subject; the provider has verified the email.
        user.sso_provider, user.sso_subject = name, identity.subject
        user.email_confirmed_at = user.email_confirmed_at or now
    return user


def _record_failure(uow: UnitOfWork, name: str, reason: str, identity: ProviderIdentity | None = None,
                    user: User | None = None) -> None:
    uow.emit(
        IdentityEvent.SIGN_IN_FAILED,
        {"email": user.email if user else identity.email if identity else None,
         "user_id": str(user.id) if user else None, "reason": reason, "method": name},
        tenant_id=user.tenant_id if user else None,
    )
    uow.commit()


def _refuse(uow: UnitOfWork, name: str, refusal: SsoRefusal, identity: ProviderIdentity | None = None,
            user: User | None = None) -> PortalError:
    """Record a refused sign-in (in its user's trail when the refusal can name one) and say why."""
    uow.rollback()  # nothing of the refused sign-in is kept (a link made just now included)
    _record_failure(uow, name, refusal.value, identity, user)
    return refused(refusal, name)


def _signed_in(uow: UnitOfWork, user: User, name: str, origin: Request, settings: IdentitySettings,
               now: datetime) -> SignInReply:
    token, expires_at = open_session(uow, user, origin, settings, now)
    uow.emit(
        IdentityEvent.SIGNED_IN,
        {"user_id": str(user.id), "email": user.email, "method": name,
         "two_factor": user.totp_enabled_at is not None},
        tenant_id=user.tenant_id,
    )
    expired = is_password_expired(uow.session, user, now)
    view = user_view(user)
    uow.commit()
    return SignInReply(token=token, expires_at=expires_at, user=view, password_expired=expired)


def finish_second_factor(uow: UnitOfWork, request: SsoSecondFactorRequest, origin: Request,
                         settings: IdentitySettings, box: SecretBox, now: datetime | None = None) -> SsoSignInReply:
    """The code of a user with two-factor sign-in, after the provider: the same checks and
    throttling as a sign-in with a password and a code."""
    now = now or utc_now()
    row = uow.session.execute(
        sa.select(SsoAttempt).where(SsoAttempt.ticket_hash == hash_token(request.ticket))
    ).scalar_one_or_none()
    user = uow.session.get(User, row.user_id) if row is not None and row.user_id else None
    if row is None or user is None or row.ticket_used_at is not None \
            or not second_factor_usable(row.ticket_expires_at, now):
        raise _refuse(uow, row.provider if row else "", SsoRefusal.SECOND_FACTOR_EXPIRED, user=user)
    keys = sign_in_keys(user.email_normalised, origin.ip, known_address(uow, user, origin.ip, now))
    wait = sign_in_wait(uow, keys, now)
    if wait > 0:
        uow.rollback()
        raise Throttled(f"too many failed sign-ins; try again in {wait} s", {"retry_after": wait})
    failed = check_second_factor(uow, user, request, box, now)
    if failed is not None:
        uow.rollback()
        for key in keys.counted if counts_as_guess(failed) else []:
            count_one(uow, key, now)
        _record_failure(uow, row.provider, failed.value, user=user)
        raise sign_in_refused(failed)
    ensure_ip_trusted(uow, user, origin.ip,
                      on_refusal=lambda: _record_failure(uow, row.provider, Refusal.IP_NOT_TRUSTED, user=user))
    won = uow.session.execute(
        sa.update(SsoAttempt).where(SsoAttempt.id == row.id, SsoAttempt.ticket_used_at.is_(None))
        .values(ticket_used_at=now).returning(SsoAttempt.id)
    ).first()
    if won is None:
        raise _refuse(uow, row.provider, SsoRefusal.SECOND_FACTOR_EXPIRED, user=user)
    uow.session.execute(sa.update(SignInThrottle).where(SignInThrottle.key == keys.account_at_address)
                        .values(failures=0))
    return SsoSignInReply(next=row.next_path, session=_signed_in(uow, user, row.provider, origin, settings, now))
