"""identity: users, credentials, sessions, 2FA, IP and password policies.

Entrypoints only: parse the wire input, call a use case, return the wire output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.errors import NotAuthenticated, ValidationFailed
from contracts.events import TenancyEvent
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    CreateUserRequest,
    EmailLinkView,
    EngineKeyRequest,
    IpEntryRequest,
    PasswordPolicyView,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    ResendConfirmationRequest,
    SignInRequest,
    SsoCallbackRequest,
    SsoSecondFactorRequest,
    SsoStartRequest,
    UpdateUserRequest,
)
from contracts.learning import CourseProgressRequest
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging
from servicekit.request_keys import keyed_create
from servicekit.rpc import rpc
from servicekit.rpc_deadline import DeadlineRpcProxy
from servicekit.subscriptions import On, subscribe
from servicekit.validation import parse
from services.identity.adapters.mailer import NotifyMailer
from services.identity.adapters.models import request_keys
from services.identity.adapters.secrets_box import SecretBox, load_secret_box
from services.identity.adapters.sign_in_metrics import sign_in_outcomes
from services.identity.adapters.tenant_directory import TenancyDirectory
from services.identity.settings import IdentitySettings
from services.identity.usecases import authentication as auth
from services.identity.usecases import (
    email_links,
    engine_keys,
    invitations,
    learning,
    password_reset,
    security,
    single_sign_on,
    users,
)
from services.identity.usecases.bootstrap import bootstrap_operator
from services.identity.usecases.demo import seed_demo

configure_logging("identity")


MAX_PAGE = 1_000_000  # like the other services' lists: a larger offset overflows the database's bigint


def _page(page: Any, page_size: Any) -> tuple[int, int]:
    if not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise ValidationFailed.for_field("page", f"must be a whole number from 1 to {MAX_PAGE:,}")
    if not isinstance(page_size, int) or not 1 <= page_size <= 200:
        raise ValidationFailed.for_field("page_size", "must be a whole number from 1 to 200")
    return page, page_size


# A new partner or customer account gets its first administrator, invited at its email.
EVENT_HANDLERS: dict[TenancyEvent, On] = {
    TenancyEvent.PARTNER_CREATED: On(
        lambda service, envelope: invitations.invite_partner_administrator(
            service.db, envelope.payload, service.mailer, service.settings),
        method="invite_partner_administrator"),
    TenancyEvent.ACCOUNT_CREATED: On(
        lambda service, envelope: invitations.invite_account_administrator(
            service.db, envelope.payload, service.mailer, service.settings),
        method="invite_account_administrator"),
}


@subscribe(EVENT_HANDLERS)
class IdentityService(ServiceBase):
    name = "identity"

    db = Database(Path(__file__).parent / "adapters" / "migrations", on_start=bootstrap_operator)
    notify = DeadlineRpcProxy("notify", timeout=lambda: IdentitySettings().notify_timeout_seconds)
    tenancy = DeadlineRpcProxy("tenancy", timeout=lambda: IdentitySettings().tenancy_timeout_seconds)
    sign_in_metrics = sign_in_outcomes()

    @property
    def settings(self) -> IdentitySettings:
        return IdentitySettings()

    @property
    def box(self) -> SecretBox:
        return load_secret_box()

    @property
    def mailer(self) -> NotifyMailer:
        return NotifyMailer(self.notify)

    @property
    def origin(self) -> auth.Request:
        return auth.Request(ip=self.context.caller.ip, user_agent=self.context.caller.user_agent)

    # ---- sign-in and sessions ------------------------------------------------------

    @rpc
    def sign_in(self, request: dict[str, Any]) -> dict[str, Any]:
        return auth.sign_in(self.db, parse(SignInRequest, request), self.origin, self.settings, self.box).to_wire()

    @rpc
    def check_session(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not 16 <= len(token) <= 200:
            raise NotAuthenticated("sign in first")  # no session has such a token: the same answer as an unknown one
        return auth.check_session(self.db, token, self.origin, self.settings).to_wire()

    @rpc
    def sign_out(self, session_id: str) -> None:
        auth.sign_out(self.db, parse_uuid(session_id, "session_id"))

    # ---- links sent by mail: confirmation and password reset -----------------------

    @rpc
    def confirm_email(self, request: dict[str, Any]) -> None:
        email_links.confirm_email(self.db, parse(ConfirmEmailRequest, request))

    @rpc
    def inspect_email_link(self, token: str, purpose: str = "confirm") -> dict[str, Any]:
        if not isinstance(token, str) or not 16 <= len(token) <= 200:
            return EmailLinkView(state="unknown").to_wire()  # no link has such a token
        return email_links.inspect_link(self.db, token, purpose).to_wire()

    @rpc
    def resend_email_link(self, request: dict[str, Any]) -> None:
        outgoing = email_links.resend_link(self.db, parse(ResendConfirmationRequest, request), self.origin,
                                           self.settings)
        if outgoing is not None:
            self.mailer.post(outgoing)

    @rpc
    def request_password_reset(self, request: dict[str, Any]) -> None:
        outgoing = password_reset.request_reset(self.db, parse(PasswordResetRequest, request), self.origin,
                                                self.settings)
        if outgoing is not None:
            self.mailer.post(outgoing)

    @rpc
    def confirm_password_reset(self, request: dict[str, Any]) -> dict[str, Any]:
        done = password_reset.confirm_reset(self.db, parse(PasswordResetConfirmRequest, request), self.origin,
                                            self.mailer)
        return {"user_id": str(done.user_id)}

    @rpc
    def me(self) -> dict[str, Any]:
        return users.me(self.db, self.context).to_wire()

    @rpc
    def change_password(self, request: dict[str, Any]) -> None:
        users.change_own_password(self.db, self.context, parse(ChangePasswordRequest, request), self.mailer)

    # ---- two-factor ------------------------------------------------------------------

    @rpc
    def two_factor_setup(self) -> dict[str, Any]:
        return security.two_factor_setup(self.db, self.context, self.box, self.settings).to_wire()

    @rpc
    def two_factor_enable(self, code: str) -> dict[str, Any]:
        return security.two_factor_enable(self.db, self.context, str(code), self.box).to_wire()

    @rpc
    def two_factor_disable(self, code: str) -> None:
        security.two_factor_disable(self.db, self.context, str(code), self.box, self.mailer)

    # ---- learning hub ----------------------------------------------------------------

    @rpc
    def list_courses(self, search: str | None = None) -> dict[str, Any]:
        if search is not None and (not isinstance(search, str) or not 1 <= len(search) <= 200):
            raise ValidationFailed.for_field("search", "must be 1 to 200 characters")
        return learning.list_courses(self.db, self.context, search).to_wire()

    @rpc
    def record_course_progress(self, course_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return learning.record_course_progress(self.db, self.context, parse_uuid(course_id, "course_id"),
                                               parse(CourseProgressRequest, request)).to_wire()

    # ---- policies --------------------------------------------------------------------

    @rpc
    def get_password_policy(self) -> dict[str, Any]:
        return security.get_password_policy(self.db, self.context).to_wire()

    @rpc
    def set_password_policy(self, request: dict[str, Any]) -> dict[str, Any]:
        return security.set_password_policy(
            self.db, self.context, parse(PasswordPolicyView, request), self.mailer
        ).to_wire()

    @rpc
    def get_ip_restrictions(self) -> dict[str, Any]:
        return security.get_ip_restrictions(self.db, self.context).to_wire()

    @rpc
    def add_ip_entry(self, request: dict[str, Any]) -> dict[str, Any]:
        return security.add_ip_entry(self.db, self.context, parse(IpEntryRequest, request), self.mailer).to_wire()

    @rpc
    def update_ip_entry(self, entry_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return security.update_ip_entry(
            self.db, self.context, parse_uuid(entry_id, "id"), parse(IpEntryRequest, request), self.mailer
        ).to_wire()

    @rpc
    def delete_ip_entry(self, entry_id: str) -> dict[str, Any]:
        return security.delete_ip_entry(self.db, self.context, parse_uuid(entry_id, "id"), self.mailer).to_wire()

    @rpc
    def set_ip_restrictions(self, enabled: bool) -> dict[str, Any]:
        if not isinstance(enabled, bool):
            raise ValidationFailed.for_field("enabled", "must be true or false")
        return security.set_ip_restrictions_enabled(self.db, self.context, enabled, self.mailer).to_wire()

    # ---- user management ---------------------------------------------------------------

    @rpc
    def list_users(self, page: int = 1, page_size: int = 25, search: str | None = None,
                   sort: str = "email") -> dict[str, Any]:
        page, page_size = _page(page, page_size)
        if sort not in users.USER_ORDERS:
            raise ValidationFailed.for_field("sort", f"one of {', '.join(users.USER_ORDERS)}")
        return users.list_users(self.db, self.context, page, page_size, search, sort).to_wire()  # type: ignore[arg-type]  # checked above

    @rpc
    def list_password_expiring(self, query: dict[str, Any]) -> dict[str, Any]:
        within = query.get("within_days", 7) if isinstance(query, dict) else None
        if not isinstance(within, int) or not 0 <= within <= 365:
            raise ValidationFailed.for_field("within_days", "must be a whole number of days from 0 to 365")
        page, page_size = _page(query.get("page", 1), query.get("page_size", 200))
        return users.list_password_expiring(self.db, self.context, within, page, page_size)

    @rpc
    @keyed_create("create_user", request_keys)
    def create_user(self, request: dict[str, Any]) -> dict[str, Any]:
        return users.create_user(
            self.db, self.context, parse(CreateUserRequest, request), self.mailer, self.settings,
            tenants=TenancyDirectory(self.tenancy),
        ).to_wire()

    @rpc
    def email_in_use(self, email: str) -> bool:
        if not isinstance(email, str) or not 3 <= len(email) <= 320:
            raise ValidationFailed.for_field("email", "must be an email address of 3 to 320 characters")
        return users.email_in_use(self.db, self.context, email)

    @rpc
    def get_user(self, user_id: str) -> dict[str, Any]:
        return users.get_user(self.db, self.context, parse_uuid(user_id, "id")).to_wire()

    @rpc
    def update_user(self, user_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return users.update_user(
            self.db, self.context, parse_uuid(user_id, "id"), parse(UpdateUserRequest, request)
        ).to_wire()

    @rpc
    def delete_user(self, user_id: str) -> None:
        users.delete_user(self.db, self.context, parse_uuid(user_id, "id"))

    @rpc
    def resend_confirmation(self, user_id: str) -> dict[str, Any]:
        sent = users.resend_confirmation(self.db, self.context, parse_uuid(user_id, "id"), self.mailer, self.settings)
        return {"mail_queued": sent}

    # ---- the backup engine -----------------------------------------------------------------

    @rpc
    def create_engine_key(self, request: dict[str, Any]) -> dict[str, Any]:
        return engine_keys.create_engine_key(self.db, self.context, parse(EngineKeyRequest, request)).to_wire()

    @rpc
    def check_engine_key(self, key: str) -> dict[str, Any]:
        if not isinstance(key, str) or len(key) > 200:
            raise NotAuthenticated("not an engine key")
        return engine_keys.check_engine_key(self.db, key).to_wire()

    # ---- operations ----------------------------------------------------------------------

    @rpc
    def seed_demo_administrator(self, tenant_id: str, email: str, password: str) -> dict[str, Any]:
        return seed_demo(self.db, self.context, parse_uuid(tenant_id, "tenant_id"), email, password, self.box)

    # ---- Microsoft and Google sign-in (OpenID Connect) ------------------------------------

    @rpc
    def sso_providers(self) -> dict[str, Any]:
        return single_sign_on.configured_providers(self.settings).to_wire()

    @rpc
    def sso_start(self, provider: str, request: dict[str, Any]) -> dict[str, Any]:
        return single_sign_on.start(self.db, _provider_name(provider), parse(SsoStartRequest, request),
                                    self.settings, self.box).to_wire()

    @rpc
    def sso_finish(self, provider: str, request: dict[str, Any]) -> dict[str, Any]:
        return single_sign_on.finish(self.db, _provider_name(provider), parse(SsoCallbackRequest, request),
                                     self.origin, self.settings, self.box).to_wire()

    @rpc
    def sso_second_factor(self, request: dict[str, Any]) -> dict[str, Any]:
        return single_sign_on.finish_second_factor(self.db, parse(SsoSecondFactorRequest, request),
                                                   self.origin, self.settings, self.box).to_wire()


def _provider_name(value: Any) -> str:
    if value not in ("microsoft", "google"):
        raise ValidationFailed.for_field("provider", "must be microsoft or google")
    return str(value)
