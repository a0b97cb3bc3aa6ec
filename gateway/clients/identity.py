"""identity's RPC methods as the gateway calls them: typed arguments, typed replies.

Written once from the service's entry points (services/identity/entrypoints.py) and the contract
models; keep it in step with both by hand. Every call carries the request's correlation id
and caller, and a deadline (gateway.rpc).
"""

from __future__ import annotations

import uuid

from contracts.identity import (
    EmailLinkView,
    EngineKeyCreated,
    IpRestrictionsView,
    PasswordPolicyView,
    SignInReply,
    SsoProviders,
    SsoSignInReply,
    SsoStarted,
    TwoFactorEnableReply,
    TwoFactorSetupReply,
    UserPage,
    UserView,
)
from contracts.learning import CourseList, CourseView
from gateway.clients.base import ServiceClient, Wire, as_text, keyed


class IdentityClient(ServiceClient):
    service = "identity"

    def add_ip_entry(self, request: Wire, *, timeout: float | None = None) -> IpRestrictionsView:
        return IpRestrictionsView.from_wire(self._call("add_ip_entry", request, timeout=timeout))

    def change_password(self, request: Wire, *, timeout: float | None = None) -> None:
        self._call("change_password", request, timeout=timeout)

    def confirm_email(self, request: Wire, *, timeout: float | None = None) -> None:
        self._call("confirm_email", request, timeout=timeout)

    def confirm_password_reset(self, request: Wire, *, timeout: float | None = None) -> uuid.UUID:
        """The id of the user whose password was reset (their sessions were all ended)."""
        return uuid.UUID(str(self._call("confirm_password_reset", request, timeout=timeout)["user_id"]))

    def create_engine_key(self, request: Wire, *, timeout: float | None = None) -> EngineKeyCreated:
        return EngineKeyCreated.from_wire(self._call("create_engine_key", request, timeout=timeout))

    def create_user(
        self, request: Wire, *, idempotency_key: str | None = None, timeout: float | None = None
    ) -> UserView:
        return UserView.from_wire(self._call("create_user", request, **keyed(idempotency_key), timeout=timeout))

    def delete_ip_entry(self, entry_id: uuid.UUID | str, *, timeout: float | None = None) -> IpRestrictionsView:
        return IpRestrictionsView.from_wire(self._call("delete_ip_entry", as_text(entry_id), timeout=timeout))

    def delete_user(self, user_id: uuid.UUID | str, *, timeout: float | None = None) -> None:
        self._call("delete_user", as_text(user_id), timeout=timeout)

    def get_ip_restrictions(self, *, timeout: float | None = None) -> IpRestrictionsView:
        return IpRestrictionsView.from_wire(self._call("get_ip_restrictions", timeout=timeout))

    def get_password_policy(self, *, timeout: float | None = None) -> PasswordPolicyView:
        return PasswordPolicyView.from_wire(self._call("get_password_policy", timeout=timeout))

    def get_user(self, user_id: uuid.UUID | str, *, timeout: float | None = None) -> UserView:
        return UserView.from_wire(self._call("get_user", as_text(user_id), timeout=timeout))

    def inspect_email_link(self, token: str, purpose: str = "confirm", *,
                           timeout: float | None = None) -> EmailLinkView:
        return EmailLinkView.from_wire(self._call("inspect_email_link", token, purpose, timeout=timeout))

    def list_courses(self, search: str | None = None, *, timeout: float | None = None) -> CourseList:
        return CourseList.from_wire(self._call("list_courses", search, timeout=timeout))

    def list_users(
        self, page: int = 1, page_size: int = 25, search: str | None = None, sort: str = "email", *,
        timeout: float | None = None,
    ) -> UserPage:
        return UserPage.from_wire(self._call("list_users", page, page_size, search, sort, timeout=timeout))

    def record_course_progress(
        self, course_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None
    ) -> CourseView:
        return CourseView.from_wire(self._call("record_course_progress", as_text(course_id), request, timeout=timeout))

    def request_password_reset(self, request: Wire, *, timeout: float | None = None) -> None:
        self._call("request_password_reset", request, timeout=timeout)

    def resend_email_link(self, request: Wire, *, timeout: float | None = None) -> None:
        self._call("resend_email_link", request, timeout=timeout)

    def resend_confirmation(self, user_id: uuid.UUID | str, *, timeout: float | None = None) -> Wire:
        return self._call("resend_confirmation", as_text(user_id), timeout=timeout)

    def set_ip_restrictions(self, enabled: bool, *, timeout: float | None = None) -> IpRestrictionsView:
        return IpRestrictionsView.from_wire(self._call("set_ip_restrictions", enabled, timeout=timeout))

    def set_password_policy(self, request: Wire, *, timeout: float | None = None) -> PasswordPolicyView:
        return PasswordPolicyView.from_wire(self._call("set_password_policy", request, timeout=timeout))

    def sign_in(self, request: Wire, *, timeout: float | None = None) -> SignInReply:
        return SignInReply.from_wire(self._call("sign_in", request, timeout=timeout))

    def sign_out(self, session_id: uuid.UUID | str, *, timeout: float | None = None) -> None:
        self._call("sign_out", as_text(session_id), timeout=timeout)

    def two_factor_disable(self, code: str, *, timeout: float | None = None) -> None:
        self._call("two_factor_disable", code, timeout=timeout)

    def two_factor_enable(self, code: str, *, timeout: float | None = None) -> TwoFactorEnableReply:
        return TwoFactorEnableReply.from_wire(self._call("two_factor_enable", code, timeout=timeout))

    def two_factor_setup(self, *, timeout: float | None = None) -> TwoFactorSetupReply:
        return TwoFactorSetupReply.from_wire(self._call("two_factor_setup", timeout=timeout))

    def update_ip_entry(
        self, entry_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None
    ) -> IpRestrictionsView:
        return IpRestrictionsView.from_wire(self._call("update_ip_entry", as_text(entry_id), request, timeout=timeout))

    def update_user(self, user_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None) -> UserView:
        return UserView.from_wire(self._call("update_user", as_text(user_id), request, timeout=timeout))

    def check_session(self, token: str, *, timeout: float | None = None) -> Wire:
        """The session a bearer token or cookie stands for (a ``Principal``), or NotAuthenticated."""
        return dict(self._call("check_session", token, timeout=timeout))

    def check_engine_key(self, key: str, *, timeout: float | None = None) -> Wire:
        """The backup engine an API key stands for, or NotAuthenticated."""
        return dict(self._call("check_engine_key", key, timeout=timeout))

    # ---- Microsoft and Google sign-in ----------------------------------------------------------

    def sso_providers(self, *, timeout: float | None = None) -> SsoProviders:
        return SsoProviders.from_wire(self._call("sso_providers", timeout=timeout))

    def sso_start(self, provider: str, request: Wire, *, timeout: float | None = None) -> SsoStarted:
        return SsoStarted.from_wire(self._call("sso_start", provider, request, timeout=timeout))

    def sso_finish(self, provider: str, request: Wire, *, timeout: float | None = None) -> SsoSignInReply:
        return SsoSignInReply.from_wire(self._call("sso_finish", provider, request, timeout=timeout))

    def sso_second_factor(self, request: Wire, *, timeout: float | None = None) -> SsoSignInReply:
        return SsoSignInReply.from_wire(self._call("sso_second_factor", request, timeout=timeout))
