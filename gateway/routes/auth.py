"""Sign-in, sign-out, email confirmation, and the signed-in user's own settings."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    EmailLinkView,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    ResendConfirmationRequest,
    SignInReply,
    SignInRequest,
    SsoCallbackRequest,
    SsoProviders,
    SsoSecondFactorRequest,
    SsoSignInReply,
    SsoStarted,
    SsoStartRequest,
    TwoFactorEnableReply,
    TwoFactorSetupReply,
    UserView,
)
from gateway.auth import Authorised, SignedIn, forget_sessions, revoking
from gateway.deps import Rpc

router = APIRouter(tags=["auth"])


class EmailLinkRequest(BaseModel):
    token: str = Field(min_length=16, max_length=200, description="the token of the link in the mail")


class CodeRequest(BaseModel):
    code: str = Field(min_length=6, max_length=12, description="the current code of the authenticator app")


@router.post(
    "/auth/sign-in",
    response_model=SignInReply,
    summary="Sign in with email and password (and a TOTP or recovery code when 2FA is on)",
    responses={
        401: {"description": "`invalid_credentials`, `two_factor_required` or `email_not_confirmed`"},
        403: {"description": "`access_denied`: the address is not trusted by the IP restrictions"},
        429: {"description": "`throttled`, with `Retry-After`"},
    },
)
def sign_in(body: SignInRequest, rpc: Rpc) -> SignInReply:
    return rpc.identity.sign_in(body.to_wire())


SsoProviderName = Literal["microsoft", "google"]
# The callback exchanges the code and fetches the provider's keys: longer than a plain call.
SSO_CALL_TIMEOUT = 20.0


@router.get("/auth/sso/providers", response_model=SsoProviders,
            summary="The identity providers (Microsoft, Google) configured for this portal")
def sso_providers(rpc: Rpc) -> SsoProviders:
    return rpc.identity.sso_providers()


@router.post(
    "/auth/sso/second-factor",
    response_model=SsoSignInReply,
    summary="Finish a Microsoft or Google sign-in with the TOTP or recovery code of a user with 2FA",
    responses={
        401: {"description": "`invalid_credentials` (wrong or used code) or `two_factor_required` (no code)"},
        403: {"description": "`sso_refused` (`second_factor_expired`) or `access_denied` (IP restrictions)"},
        429: {"description": "`throttled`, with `Retry-After`"},
    },
)
def sso_second_factor(body: SsoSecondFactorRequest, rpc: Rpc) -> SsoSignInReply:
    return rpc.identity.sso_second_factor(body.to_wire())


@router.post(
    "/auth/sso/{provider}",
    response_model=SsoStarted,
    summary="Start a Microsoft or Google sign-in: the provider's authorization URL",
    description="Send the browser to `authorization_url` and keep `browser_key` in that browser (an HttpOnly "
                "cookie): the callback must present it. Answers 409 `sso_not_configured` when the provider "
                "is not configured for this portal.",
    responses={409: {"description": "`sso_not_configured`"}, 503: {"description": "the provider is unreachable"}},
)
def sso_start(provider: SsoProviderName, rpc: Rpc, body: SsoStartRequest | None = None) -> SsoStarted:
    return rpc.identity.sso_start(provider, (body or SsoStartRequest()).to_wire(), timeout=SSO_CALL_TIMEOUT)


@router.post(
    "/auth/sso/{provider}/callback",
    response_model=SsoSignInReply,
    summary="Finish a Microsoft or Google sign-in with what the provider sent to the redirect URI",
    description="Validates the ID token (signature, issuer, audience, expiry, nonce), matches the user by the "
                "provider's subject (or, the first time, by a verified email of a user of this credential type) "
                "and applies the IP restrictions. Answers a session, or a `second_factor_ticket` for "
                "`POST /auth/sso/second-factor` when the user has 2FA on.",
    responses={
        403: {"description": "`sso_refused` with `details.reason`, or `access_denied` (IP restrictions)"},
        409: {"description": "`sso_not_configured`"},
    },
)
def sso_callback(provider: SsoProviderName, body: SsoCallbackRequest, rpc: Rpc) -> SsoSignInReply:
    return rpc.identity.sso_finish(provider, body.to_wire(), timeout=SSO_CALL_TIMEOUT)


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
def sign_out(request: Request, principal: SignedIn, rpc: Rpc) -> Response:
    with revoking(request, principal.user.id, [principal.session_id]):
        rpc.identity.sign_out(str(principal.session_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/confirm-email",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an email address with the token from the confirmation mail",
    description="`password` is required when the user was invited without one.",
)
def confirm_email(body: ConfirmEmailRequest, rpc: Rpc) -> Response:
    rpc.identity.confirm_email(body.to_wire())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/confirm-email/check",
    response_model=EmailLinkView,
    summary="What a confirmation link stands for, without using it",
    description="`state` is `usable`, `used`, `expired` or `unknown`; a usable link also names the email and "
                "whether the user still chooses a password (`needs_password`). The console's `/confirm-email` "
                "page asks this first.",
)
def check_email_link(body: EmailLinkRequest, rpc: Rpc) -> EmailLinkView:
    return rpc.identity.inspect_email_link(body.token)


ACCEPTED = {"status": "accepted"}


@router.post(
    "/auth/confirm-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a new confirmation link (with the old link's token, or the email)",
    description="Always 202 with the same body: a user who has not confirmed yet gets a new link (older links "
                "stop working); nobody learns whether the address is a user's.",
    responses={429: {"description": "`throttled`, with `Retry-After` (per address and per email)"}},
)
def resend_email_link(body: ResendConfirmationRequest, rpc: Rpc) -> dict[str, str]:
    rpc.identity.resend_email_link(body.to_wire())
    return {**ACCEPTED, "message": "If this address is waiting for its confirmation, a new link is on its way."}


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Forgot your password? Ask for a reset link",
    description="Always 202 with the same body. A confirmed user who signs in with a password gets a link to "
                "`/reset-password?token=` (single use, 60 minutes; a newer request voids the older link); a "
                "Microsoft or Google user gets a mail saying to sign in with the provider.",
    responses={429: {"description": "`throttled`, with `Retry-After` (per address and per email)"}},
)
def request_password_reset(body: PasswordResetRequest, rpc: Rpc) -> dict[str, str]:
    rpc.identity.request_password_reset(body.to_wire())
    return {**ACCEPTED, "message": "If this address belongs to a portal user, a mail is on its way."}


@router.post(
    "/auth/password-reset/check",
    response_model=EmailLinkView,
    summary="What a password reset link stands for, without using it",
    description="`state` is `usable`, `used`, `expired` or `unknown`; a usable link also names the email. "
                "The console's `/reset-password` page asks this first.",
)
def check_reset_link(body: EmailLinkRequest, rpc: Rpc) -> EmailLinkView:
    return rpc.identity.inspect_email_link(body.token, "reset")


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the token from the reset mail; ends every session of the user",
    responses={422: {"description": "`validation_failed` on `token` (invalid, used or expired) or "
                                    "`new_password` (the password policy's reasons)"},
               429: {"description": "`throttled`, with `Retry-After`"}},
)
def confirm_password_reset(body: PasswordResetConfirmRequest, request: Request, rpc: Rpc) -> Response:
    since = time.monotonic()
    user_id = rpc.identity.confirm_password_reset(body.to_wire())
    forget_sessions(request, user_id, since)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserView, summary="The signed-in user, tenant, role, permissions, accounts")
def me(principal: SignedIn) -> UserView:
    return principal.user


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the password (allowed even when it has expired); ends the user's other sessions",
)
def change_password(body: ChangePasswordRequest, request: Request, principal: SignedIn, rpc: Rpc) -> Response:
    with revoking(request, principal.user.id):  # the other sessions end; this one is checked again
        rpc.identity.change_password(body.to_wire())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/two-factor/setup", response_model=TwoFactorSetupReply, summary="Start TOTP setup")
def two_factor_setup(principal: Authorised, rpc: Rpc) -> TwoFactorSetupReply:
    return rpc.identity.two_factor_setup()


@router.post(
    "/me/two-factor/enable",
    response_model=TwoFactorEnableReply,
    summary="Turn TOTP on with a current code; returns 10 recovery codes, shown once",
)
def two_factor_enable(body: CodeRequest, principal: Authorised, rpc: Rpc) -> TwoFactorEnableReply:
    return rpc.identity.two_factor_enable(body.code)


@router.delete("/me/two-factor", status_code=status.HTTP_204_NO_CONTENT, summary="Turn TOTP off (needs a code)")
def two_factor_disable(body: CodeRequest, principal: Authorised, rpc: Rpc) -> Response:
    rpc.identity.two_factor_disable(body.code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
