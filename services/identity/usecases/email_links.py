"""Use cases of the confirmation link: read what a link stands for (the console's page),
confirm with it (choosing the password of an invited user), and ask for a new one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from contracts.errors import ValidationFailed
from contracts.events import IdentityEvent
from contracts.identity import ConfirmEmailRequest, EmailLinkView, ResendConfirmationRequest
from contracts.notify import SendMailRequest
from servicekit.db import UnitOfWork
from services.identity.adapters.models import EmailToken, User
from services.identity.adapters.password_hashing import hash_off_the_hub
from services.identity.domain.email_links import link_state
from services.identity.domain.password_rules import check_password
from services.identity.domain.throttle import mail_request_limits
from services.identity.domain.tokens import hash_token
from services.identity.domain.user_rules import normalised_email
from services.identity.settings import IdentitySettings
from services.identity.usecases.authentication import Request, utc_now
from services.identity.usecases.mail_requests import hold_back
from services.identity.usecases.users import confirmation_mail, new_confirmation, void_confirmations

CONFIRM = "confirm"


def _link(uow: UnitOfWork, token: str, purpose: str) -> EmailToken | None:
    return uow.session.execute(
        sa.select(EmailToken).where(EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose)
    ).scalar_one_or_none()


def needs_password(user: User) -> bool:
    """An invited Email user chooses the password on the confirmation page."""
    return user.credential_type == "password" and user.password_hash is None


LINK_PURPOSES = (CONFIRM, "reset")


def inspect_link(uow: UnitOfWork, token: str, purpose: str = CONFIRM, now: datetime | None = None) -> EmailLinkView:
    """What the ``purpose`` link ``token`` stands for, without using it: the console's page
    asks this before it shows the password form or the "ask for a new link" form."""
    if purpose not in LINK_PURPOSES:
        raise ValidationFailed.for_field("purpose", f"must be one of {', '.join(LINK_PURPOSES)}")
    now = now or utc_now()
    row = _link(uow, token, purpose)
    user = uow.session.get(User, row.user_id) if row is not None else None
    state = link_state(row.used_at if row else None, row.expires_at if row else None, now, found=user is not None)
    if state != "usable" or user is None:
        return EmailLinkView(state=state)
    return EmailLinkView(state=state, email=user.email, needs_password=purpose == CONFIRM and needs_password(user))


def confirm_email(uow: UnitOfWork, request: ConfirmEmailRequest, now: datetime | None = None) -> None:
    now = now or utc_now()
    token = _link(uow, request.token, CONFIRM)
    if token is None or link_state(token.used_at, token.expires_at, now) != "usable":
        raise ValidationFailed.for_field(
            "token", "this confirmation link is invalid, used or expired; ask for a new one"
        )
    user = uow.session.get(User, token.user_id)
    assert user is not None
    if needs_password(user):
        if not request.password:
            raise ValidationFailed.for_field("password", "choose a password to finish the confirmation")
        check_password(request.password, "password", user_inputs=[user.email])
        user.password_hash = hash_off_the_hub(request.password)
        user.password_changed_at = now
    # Single use, also under concurrent confirmations: only one UPDATE matches used_at IS NULL.
    won = uow.session.execute(
        sa.update(EmailToken)
        .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))
        .values(used_at=now)
        .returning(EmailToken.id)
    ).first()
    if won is None:
        uow.rollback()
        raise ValidationFailed.for_field("token", "this confirmation link was already used")
    user.email_confirmed_at = user.email_confirmed_at or now
    uow.emit(IdentityEvent.EMAIL_CONFIRMED, {"user_id": str(user.id), "email": user.email}, tenant_id=user.tenant_id)
    uow.commit()


def resend_link(
    uow: UnitOfWork, request: ResendConfirmationRequest, origin: Request, settings: IdentitySettings,
    now: datetime | None = None,
) -> SendMailRequest | None:
    """A new confirmation link for whoever holds an old one (any state) or names the email.

    Only a user who has not confirmed yet gets one; the caller answers the same either way
    (the mail, if any, is sent after the answer). Older links stop working.
    """
    now = now or utc_now()
    if request.token is None and request.email is None:
        raise ValidationFailed.for_field("email", "name the email address, or send the token of the old link")
    user: User | None = None
    if request.token is not None:
        row = _link(uow, request.token, CONFIRM)
        user = uow.session.get(User, row.user_id) if row is not None else None
    else:
        email = normalised_email(request.email or "")
        user = uow.session.execute(sa.select(User).where(User.email_normalised == email)).scalar_one_or_none()
    email_key = user.email_normalised if user is not None else normalised_email(request.email or "") or None
    hold_back(uow, mail_request_limits(CONFIRM, email_key, origin.ip), now, "requests for a confirmation link")
    if user is None or user.email_confirmed_at is not None:
        uow.commit()
        return None
    void_confirmations(uow, user, now)
    token, row = new_confirmation(uow, user, settings, now)
    outgoing = confirmation_mail(user, token, row, settings)
    uow.commit()
    return outgoing
