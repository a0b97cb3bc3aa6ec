"""Sign-in, sign-out, email confirmation, and the signed-in user's own settings."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
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
from gateway.auth import Authorised, SignedIn, revoking
from gateway.deps import Rpc

router = APIRouter(tags=["auth"])


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
