"""Use cases of signing in: sign-in, sessions, sign-out, changing the password.

Confirmation links: :mod:`services.identity.usecases.email_links`; password reset:
:mod:`services.identity.usecases.password_reset`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa

from contracts.errors import (
    NotAuthenticated,
    PortalError,
    SessionExpired,
    Throttled,
    ValidationFailed,
)
from contracts.events import IdentityEvent
from contracts.identity import (
    ChangePasswordRequest,
    Principal,
    RevocationReason,
    SessionsRevoked,
    SignInReply,
    SignInRequest,
)
from servicekit.db import UnitOfWork
from services.identity.adapters.mailer import Mailer
from services.identity.adapters.models import RecoveryCode, SignInThrottle, User
from services.identity.adapters.models import Session as SessionRow
from services.identity.adapters.password_hashing import (
    hash_off_the_hub,
    hash_password,
    needs_rehash,
    verify_off_the_hub,
)
from services.identity.adapters.secrets_box import SecretBox
from services.identity.adapters.throttle_store import count_one, counts, throttle_rows
from services.identity.adapters.views import ip_entry_domain, ip_rules, is_password_expired, user_view
from services.identity.domain import totp
from services.identity.domain.ip_policy import is_trusted
from services.identity.domain.password_rules import check_password
from services.identity.domain.sign_in_rules import (
    Refusal,
    SecondFactor,
    check_new_password,
    counts_as_guess,
    kept_user_agent,
    last_seen_due,
    password_refusal,
    refused,
    second_factor,
    session_expired,
    session_expires_at,
)
from services.identity.domain.throttle import (
    KNOWN_ADDRESS_FOR,
    SignInKeys,
    sign_in_keys,
    wait_seconds,
)
from services.identity.domain.tokens import hash_token, new_token
from services.identity.domain.user_rules import normalised_email
from services.identity.settings import IdentitySettings
from services.identity.usecases.notices import changed_by, send_notices

# Verified against when the email is unknown, so known and unknown emails take as long.
_DUMMY_HASH = hash_password("dummy-password-for-timing")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Request:
    """Where a call comes from (from the caller context the gateway sends)."""

    ip: str | None
    user_agent: str | None


def known_address(uow: UnitOfWork, user: User | None, ip: str | None, now: datetime) -> bool:
    """Whether ``user`` has signed in from ``ip`` recently (a session was opened there)."""
    if user is None or ip is None:
        return False
    return uow.session.execute(
        sa.select(SessionRow.id).where(SessionRow.user_id == user.id, SessionRow.ip == ip,
                                       SessionRow.created_at >= now - KNOWN_ADDRESS_FOR).limit(1)
    ).first() is not None


def sign_in_wait(uow: UnitOfWork, keys: SignInKeys, now: datetime) -> int:
    """Seconds to wait before this attempt may be checked.

    A key whose next failure would start a back-off is tried by one sign-in at a time: its
    row is claimed under a lock. Without this a burst checked many guesses at once whenever
    a back-off ran out (all of them had read the same count). A row held by another attempt
    answers a 1 s wait at once (``SKIP LOCKED``), so a burst never ties up the service's
    workers; below the free tries nothing is locked (an office behind one address signs in
    in parallel).
    """
    rows = throttle_rows(uow, list(keys.held))
    wait = wait_seconds(counts(rows), keys, now)
    last_tries = [key for key, row in rows.items() if row.failures >= keys.held[key].free]
    if wait > 0 or not last_tries:
        return wait
    locked = throttle_rows(uow, last_tries, lock=True)
    if len(locked) < len(last_tries):
        return 1  # another sign-in is checking this account's (or address's) last free try
    return wait_seconds(counts(locked), keys, now)


def _fail(uow: UnitOfWork, keys: list[str], user: User | None, email: str, reason: str, now: datetime) -> None:
    for key in keys:
        count_one(uow, key, now)
    uow.emit(
        IdentityEvent.SIGN_IN_FAILED,
        {"email": email, "user_id": str(user.id) if user else None, "reason": reason},
        tenant_id=user.tenant_id if user else None,
    )
    uow.commit()


def _refuse(
    uow: UnitOfWork, keys: SignInKeys, user: User | None, email: str, refusal: Refusal, now: datetime
) -> PortalError:
    """Record a refused sign-in (a guess counts toward the throttling keys) and say why."""
    _fail(uow, list(keys.counted) if counts_as_guess(refusal) else [], user, email, refusal.value, now)
    return refused(refusal)


def sign_in(
    uow: UnitOfWork,
    request: SignInRequest,
    origin: Request,
    settings: IdentitySettings,
    box: SecretBox,
    now: datetime | None = None,
) -> SignInReply:
    now = now or utc_now()
    email = normalised_email(request.email)
    user = uow.session.execute(sa.select(User).where(User.email_normalised == email)).scalar_one_or_none()
    keys = sign_in_keys(email, origin.ip, known_address(uow, user, origin.ip, now))
    wait = sign_in_wait(uow, keys, now)
    if wait > 0:
        uow.rollback()
        raise Throttled(f"too many failed sign-ins; try again in {wait} s", {"retry_after": wait})

    password_ok = verify_off_the_hub(user.password_hash if user and user.password_hash else _DUMMY_HASH,
                                     request.password)
    refusal = password_refusal(found=user is not None, password_ok=password_ok,
                               credential_type=user.credential_type if user else None,
                               email_confirmed=user is not None and user.email_confirmed_at is not None)
    if refusal is not None:
        raise _refuse(uow, keys, user, email, refusal, now)
    assert user is not None
    ensure_ip_trusted(uow, user, origin.ip,
                      on_refusal=lambda: _fail(uow, [], user, email, Refusal.IP_NOT_TRUSTED.value, now))
    if user.totp_enabled_at is not None:
        failed = check_second_factor(uow, user, request, box, now)
        if failed is not None:
            raise _refuse(uow, keys, user, email, failed, now)

    # Success clears the count of the account at this address only. The address's count
    # decays (one good account must not reset the budget of an address that is guessing at
    # others), and so does the account's: the owner signing in must not give the strangers
    # guessing at the account from elsewhere their free tries again.
    uow.session.execute(sa.update(SignInThrottle).where(SignInThrottle.key == keys.account_at_address)
                        .values(failures=0))
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_off_the_hub(request.password)
    token, expires_at = open_session(uow, user, origin, settings, now)
    uow.emit(
        IdentityEvent.SIGNED_IN,
        {
            "user_id": str(user.id),
            "email": user.email,
            "method": "password",
            "two_factor": user.totp_enabled_at is not None,
        },
        tenant_id=user.tenant_id,
    )
    expired = is_password_expired(uow.session, user, now)
    view = user_view(user)
    uow.commit()
    return SignInReply(token=token, expires_at=expires_at, user=view, password_expired=expired)


def open_session(
    uow: UnitOfWork, user: User, origin: Request, settings: IdentitySettings, now: datetime
) -> tuple[str, datetime]:
    """A new session of ``user``: its token (only its hash is stored) and when it expires."""
    token = new_token()
    expires_at = session_expires_at(now, settings.session_absolute_hours)
    uow.session.add(
        SessionRow(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            ip=origin.ip,
            user_agent=kept_user_agent(origin.user_agent),
        )
    )
    return token, expires_at


class SecondFactorCodes(Protocol):
    """The codes a request offers for the second factor (a sign-in, or the step after a
    Microsoft/Google sign-in)."""

    @property
    def totp_code(self) -> str | None: ...

    @property
    def recovery_code(self) -> str | None: ...


def check_second_factor(
    uow: UnitOfWork, user: User, request: SecondFactorCodes, box: SecretBox, now: datetime
) -> Refusal | None:
    """Check the second factor of a user with two-factor sign-in; why it fails, if it does.

    A TOTP step and a recovery code are each accepted once (conditional UPDATEs).
    """
    if second_factor(request.totp_code, request.recovery_code) is SecondFactor.TOTP:
        assert user.totp_secret_encrypted is not None and request.totp_code
        step = totp.matching_step(box.open(user.totp_secret_encrypted), request.totp_code, now, user.totp_last_step)
        if step is not None and claim_totp_step(uow, user.id, step):
            return None
        return Refusal.BAD_TOTP_CODE
    code_hash = totp.hash_recovery_code(request.recovery_code or "")
    used = uow.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .returning(RecoveryCode.id)
    ).first()
    if used is None:
        return Refusal.BAD_RECOVERY_CODE
    remaining = uow.session.execute(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()
    uow.emit(
        IdentityEvent.RECOVERY_CODE_USED,
        {"user_id": str(user.id), "email": user.email, "remaining": remaining},
        tenant_id=user.tenant_id,
    )
    return None


def claim_totp_step(uow: UnitOfWork, user_id: uuid.UUID, step: int) -> bool:
    """Accept a TOTP time step once: the conditional UPDATE wins for exactly one caller."""
    won = uow.session.execute(
        sa.update(User)
        .where(User.id == user_id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .returning(User.id)
    ).first()
    return won is not None


def ensure_ip_trusted(
    uow: UnitOfWork, user: User, ip: str | None, on_refusal: Callable[[], None] | None = None
) -> None:
    enabled, rows = ip_rules(uow.session, user.tenant_id)
    if not enabled:
        return
    # A malformed address is simply not trusted (fail closed).
    if ip is None or not is_trusted([ip_entry_domain(r) for r in rows], ip):
        if on_refusal is not None:
            on_refusal()
        raise refused(Refusal.IP_NOT_TRUSTED, ip)


def check_session(
    uow: UnitOfWork, token: str, origin: Request, settings: IdentitySettings, now: datetime | None = None
) -> Principal:
    now = now or utc_now()
    row = uow.session.execute(
        sa.select(SessionRow).where(SessionRow.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        raise NotAuthenticated("sign in first")
    if session_expired(now, row.expires_at, row.last_seen_at, settings.session_idle_minutes):
        raise SessionExpired("your session has expired; sign in again")
    user = uow.session.get(User, row.user_id)
    if user is None:
        raise NotAuthenticated("sign in first")
    ensure_ip_trusted(uow, user, origin.ip)
    if last_seen_due(now, row.last_seen_at):
        row.last_seen_at = now
    principal = Principal(
        session_id=row.id, user=user_view(user), password_expired=is_password_expired(uow.session, user, now)
    )
    uow.commit()
    return principal


def announce_revocation(uow: UnitOfWork, user: User, reason: RevocationReason,
                        session_ids: list[uuid.UUID] | None = None) -> None:
    """Tell every gateway to check these sessions of ``user`` again before trusting them
    (``None``: all of them). Gateways cache session checks for a few seconds; this makes
    the change count from their next request."""
    revoked = SessionsRevoked(user_id=user.id, session_ids=session_ids, reason=reason)
    uow.emit(IdentityEvent.SESSIONS_REVOKED, revoked.to_wire(), tenant_id=user.tenant_id)


def sign_out(uow: UnitOfWork, session_id: uuid.UUID, now: datetime | None = None) -> None:
    row = uow.session.get(SessionRow, session_id)
    if row is None or row.ended_at is not None:
        return
    row.ended_at = now or utc_now()
    user = uow.session.get(User, row.user_id)
    uow.emit(
        IdentityEvent.SIGNED_OUT,
        {"user_id": str(row.user_id), "email": user.email if user else None},
        tenant_id=user.tenant_id if user else None,
    )
    if user is not None:
        announce_revocation(uow, user, "signed_out", [row.id])
    uow.commit()


def change_password(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    request: ChangePasswordRequest,
    mailer: Mailer,
    now: datetime | None = None,
) -> None:
    now = now or utc_now()
    user = uow.session.get(User, user_id)
    if user is None or user.password_hash is None:
        raise ValidationFailed.for_field("current_password", "this user signs in without a password")
    if not verify_off_the_hub(user.password_hash, request.current_password):
        raise ValidationFailed.for_field("current_password", "is not your current password")
    check_new_password(request.current_password, request.new_password, request.confirm_password)
    check_password(request.new_password, "new_password", user_inputs=[user.email])
    user.password_hash = hash_off_the_hub(request.new_password)
    user.password_changed_at = now
    # Changing the password ends every other session of the user.
    uow.session.execute(
        sa.update(SessionRow)
        .where(SessionRow.user_id == user.id, SessionRow.id != session_id, SessionRow.ended_at.is_(None))
        .values(ended_at=now)
    )
    envelope = uow.emit(
        IdentityEvent.PASSWORD_CHANGED, {"user_id": str(user.id), "email": user.email}, tenant_id=user.tenant_id
    )
    announce_revocation(uow, user, "password_changed")
    uow.commit()
    send_notices(mailer, [user], "Password changed",
                 ["The password of your sign-in was changed and your other sessions were ended.",
                  changed_by(user.email, uow.context.caller.ip)],
                 f"password-changed:{envelope.event_id}", user.tenant_id)
