"""Sign-in, sign-out, email confirmation, and the signed-in user's own settings."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from contracts.errors import SsoNotConfigured
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    SignInReply,
    SignInRequest,
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


@router.post(
    "/auth/sso/{provider}",
    status_code=status.HTTP_409_CONFLICT,
    summary="Start a Microsoft or Google sign-in",
    description="Answers 409 `sso_not_configured` until an identity provider is configured for the portal.",
    responses={409: {"description": "`sso_not_configured`"}},
)
def sso_sign_in(provider: Literal["microsoft", "google"]) -> Response:
    raise SsoNotConfigured(f"{provider.title()} sign-in is not configured for this portal yet; "
                           "ask your administrator for an email and password account",
                           {"provider": provider})


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
