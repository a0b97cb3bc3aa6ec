"""The port through which tenancy asks identity whether an email already has a user: a new
partner's or customer account's first administrator is invited at the tenant's email, and
an email with a user cannot be invited (docs/decisions/0012-partner-email-and-user-email.md)."""

from __future__ import annotations

from typing import Any, Protocol

from servicekit.rpc_deadline import answered


class UserEmails(Protocol):
    def email_in_use(self, email: str) -> bool: ...


class IdentityUsers:
    """Identity's ``email_in_use`` RPC, with the caller's context and a deadline; identity
    down means nothing is created (503)."""

    def __init__(self, identity_proxy: Any) -> None:
        self._identity = identity_proxy

    def email_in_use(self, email: str) -> bool:
        with answered("identity did not answer: nothing was created"):
            return bool(self._identity.email_in_use(email))
