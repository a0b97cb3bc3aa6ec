"""Security notices: the mails that tell people a security setting changed.

Sent through notify's ``send_mail`` RPC with the ``security_notice`` template, after the
change is committed. They say what changed, by whom and from where — never a secret
(no password, code, token or TOTP secret ever reaches a notice's context).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from servicekit.db import UnitOfWork
from services.identity.adapters.mailer import Mailer, mail
from services.identity.adapters.models import User
from services.identity.domain.permissions import Role


def tenant_administrators(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[User]:
    """The tenant's confirmed administrators (an unconfirmed address may not be theirs yet)."""
    return list(
        uow.session.execute(
            sa.select(User).where(
                User.tenant_id == tenant_id,
                User.role == Role.ADMINISTRATOR.value,
                User.email_confirmed_at.is_not(None),
            ).order_by(User.email_normalised)
        ).scalars()
    )


def send_notices(
    mailer: Mailer,
    recipients: Iterable[User],
    title: str,
    lines: list[str],
    key: str,
    tenant_id: uuid.UUID,
) -> int:
    """One ``security_notice`` per distinct recipient, idempotent on ``key`` and the recipient."""
    sent, seen = 0, set()
    for recipient in recipients:
        if recipient.id in seen:
            continue
        seen.add(recipient.id)
        context = {"title": title, "lines": lines, "recipient_name": recipient.display_name or recipient.email}
        sent += mailer.send(mail("security_notice", recipient.email, context, f"{key}:{recipient.id}", tenant_id))
    return sent


def changed_by(actor_email: str, ip: str | None) -> str:
    return f"Changed by {actor_email} from {ip or 'an unknown address'}."
