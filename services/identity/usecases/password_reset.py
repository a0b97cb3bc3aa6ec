"""Use cases of "Forgot your password?": ask for a reset link, and set a new password with it.

The link's token carries 256 random bits, is stored as its SHA-256 only, works once, for
:attr:`IdentitySettings.password_reset_minutes` (60), and a newer request voids the older
link. Asking answers the same whatever the address (the gateway's 202): only a known,
confirmed Email user gets a link; a Microsoft or Google user gets a mail that says to sign
in with the provider; anyone else gets nothing. Setting the password ends every session of
the user; a user with two-factor sign-in still needs the second factor next time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from contracts.errors import ValidationFailed
from contracts.events import IdentityEvent
from contracts.identity import PasswordResetConfirmRequest, PasswordResetRequest
from contracts.notify import SendMailRequest
from servicekit.db import UnitOfWork
from services.identity.adapters.mailer import Mailer, mail
from services.identity.adapters.models import EmailToken, User
from services.identity.adapters.models import Session as SessionRow
from services.identity.adapters.password_hashing import hash_off_the_hub
from services.identity.adapters.throttle_store import forget
from services.identity.domain.email_links import link_state
from services.identity.domain.password_rules import check_password
from services.identity.domain.throttle import link_owner_limits, link_try_limits, mail_request_limits
from services.identity.domain.tokens import hash_token, new_token
from services.identity.domain.user_rules import normalised_email
from services.identity.settings import IdentitySettings
from services.identity.usecases.authentication import Request, announce_revocation, utc_now
from services.identity.usecases.mail_requests import hold_back
from services.identity.usecases.notices import changed_by, send_notices

RESET = "reset"
TOKEN_BYTES = 32  # 256 bits
PROVIDER_NAMES = {"microsoft": "Microsoft", "google": "Google"}
INVALID_LINK = "this reset link is invalid, used or expired; ask for a new one"


def request_reset(
    uow: UnitOfWork, request: PasswordResetRequest, origin: Request, settings: IdentitySettings,
    now: datetime | None = None,
) -> SendMailRequest | None:
    """The mail to send for a reset request of ``request.email``, if any (sent by the caller
    after its answer, so a known address takes no longer to answer than an unknown one)."""
    now = now or utc_now()
    email = normalised_email(request.email)
    hold_back(uow, mail_request_limits(RESET, email, origin.ip), now, "password reset requests")
    user = uow.session.execute(sa.select(User).where(User.email_normalised == email)).scalar_one_or_none()
    if user is None or user.email_confirmed_at is None:
        uow.commit()  # the counts
        return None
    if user.credential_type != "password":
        uow.commit()
        return _use_your_provider(user, settings, now)
    # A newer request voids the older link.
    uow.session.execute(
        sa.update(EmailToken)
        .where(EmailToken.user_id == user.id, EmailToken.purpose == RESET, EmailToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = new_token(TOKEN_BYTES)
    row = EmailToken(id=uuid.uuid4(), token_hash=hash_token(token), user_id=user.id, purpose=RESET,
                     created_at=now, expires_at=now + timedelta(minutes=settings.password_reset_minutes))
    uow.session.add(row)
    uow.emit(IdentityEvent.PASSWORD_RESET_REQUESTED,
             {"user_id": str(user.id), "email": user.email, "expires_at": row.expires_at.isoformat()},
             tenant_id=user.tenant_id)
    uow.commit()
    url = f"{settings.public_base_url.rstrip('/')}/reset-password?token={token}"
    return mail("password_reset", user.email,
                {"display_name": user.display_name or user.email, "reset_url": url,
                 "expires_minutes": settings.password_reset_minutes},
                f"reset:{row.id}", user.tenant_id)


def _use_your_provider(user: User, settings: IdentitySettings, now: datetime) -> SendMailRequest:
    provider = PROVIDER_NAMES.get(user.credential_type, user.credential_type.title())
    lines = [f"Someone asked to reset the password of {user.email} in the Backup Portal.",
             f"This user signs in with {provider}, and the portal keeps no password for it: "
             f"use \"Sign in with {provider}\" on the sign-in page. If you cannot sign in there, "
             f"your {provider} administrator can help.",
             "If you did not ask, you can ignore this mail."]
    return mail("notice", user.email,
                {"title": f"Sign in with {provider}", "lines": lines,
                 "action_url": f"{settings.public_base_url.rstrip('/')}/sign-in",
                 "action_label": "Open the sign-in page"},
                f"reset-provider:{user.id}:{now.strftime('%Y%m%d%H%M')}", user.tenant_id)


@dataclass(frozen=True)
class ResetDone:
    user_id: uuid.UUID


def confirm_reset(
    uow: UnitOfWork, request: PasswordResetConfirmRequest, origin: Request, mailer: Mailer,
    now: datetime | None = None,
) -> ResetDone:
    """Set the new password with a reset link: once, within its time, and only under the
    password policy. Every session of the user ends; the user is told by mail."""
    now = now or utc_now()
    hold_back(uow, link_try_limits(RESET, origin.ip), now, "password reset attempts")
    row = uow.session.execute(
        sa.select(EmailToken).where(EmailToken.token_hash == hash_token(request.token), EmailToken.purpose == RESET)
    ).scalar_one_or_none()
    user = uow.session.get(User, row.user_id) if row is not None else None
    if user is not None:  # tries at one user's links count wherever they come from
        hold_back(uow, link_owner_limits(RESET, user.email_normalised), now, "password reset attempts")
    if row is None or user is None or link_state(row.used_at, row.expires_at, now) != "usable":
        uow.commit()  # the try counts
        raise ValidationFailed.for_field("token", INVALID_LINK)
    uow.commit()
    # Checked and hashed with no write pending (a SQLite write lock must not wait on argon2).
    check_password(request.new_password, "new_password", user_inputs=[user.email])
    new_hash = hash_off_the_hub(request.new_password)
    won = uow.session.execute(
        sa.update(EmailToken).where(EmailToken.id == row.id, EmailToken.used_at.is_(None))
        .values(used_at=now).returning(EmailToken.id)
    ).first()
    if won is None:  # another tab used it a moment ago
        uow.rollback()
        raise ValidationFailed.for_field("token", INVALID_LINK)
    user.password_hash = new_hash
    user.password_changed_at = now
    uow.session.execute(
        sa.update(SessionRow).where(SessionRow.user_id == user.id, SessionRow.ended_at.is_(None)).values(ended_at=now)
    )
    # Whoever reads the mailbox is the owner: the account's sign-in back-off starts again.
    forget(uow, [f"email:{user.email_normalised}"])
    envelope = uow.emit(IdentityEvent.PASSWORD_RESET, {"user_id": str(user.id), "email": user.email},
                        tenant_id=user.tenant_id)
    announce_revocation(uow, user, "password_reset")
    uow.commit()
    send_notices(mailer, [user], "Password changed",
                 ["The password of your sign-in was reset with a link sent to this address, "
                  "and every session of yours was ended.",
                  changed_by(user.email, origin.ip)],
                 f"password-reset:{envelope.event_id}", user.tenant_id)
    return ResetDone(user.id)
