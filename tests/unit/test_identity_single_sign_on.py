"""The pure rules of a Microsoft or Google sign-in (services/identity/domain/single_sign_on.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.errors import SsoRefused
from services.identity.domain.single_sign_on import (
    KnownUser,
    ProviderIdentity,
    SsoRefusal,
    attempt_refusal,
    match_refusal,
    provider_identity,
    refusal_message,
    refused,
    second_factor_usable,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
VERIFIED = ProviderIdentity(subject="sub-1", email="ada@example.com", email_verified=True)


def attempt(**overrides: object) -> SsoRefusal | None:
    values: dict[str, object] = {"found": True, "used": False, "created_at": NOW - timedelta(minutes=1),
                                 "browser_matches": True, "now": NOW}
    return attempt_refusal(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_fresh_attempt_from_the_same_browser_continues() -> None:
    assert attempt() is None


def test_a_state_the_portal_never_issued_is_refused() -> None:
    assert attempt(found=False, created_at=None) is SsoRefusal.STATE_UNKNOWN


def test_a_replayed_state_is_refused_as_used() -> None:
    assert attempt(used=True) is SsoRefusal.STATE_USED


def test_an_attempt_expires_after_10_minutes() -> None:
    assert attempt(created_at=NOW - timedelta(minutes=10)) is None
    assert attempt(created_at=NOW - timedelta(minutes=10, seconds=1)) is SsoRefusal.STATE_EXPIRED


def test_a_callback_from_another_browser_is_refused() -> None:
    assert attempt(browser_matches=False) is SsoRefusal.OTHER_BROWSER


def test_a_used_state_is_refused_as_used_even_from_another_browser() -> None:
    assert attempt(used=True, browser_matches=False) is SsoRefusal.STATE_USED


def test_the_second_factor_ticket_lasts_until_its_expiry_inclusive() -> None:
    assert second_factor_usable(NOW, NOW)
    assert not second_factor_usable(NOW - timedelta(seconds=1), NOW)
    assert not second_factor_usable(None, NOW)


@pytest.mark.parametrize("value", [False, "true", 1, None])
def test_email_verified_counts_only_as_json_true(value: object) -> None:
    claims = {"sub": "s", "email": "a@example.com", "email_verified": value}
    assert provider_identity(claims).email_verified is False


def test_claims_without_email_verified_are_unverified() -> None:
    assert provider_identity({"sub": "s", "email": "a@example.com"}).email_verified is False


def test_claims_with_email_verified_true_give_the_subject_and_email() -> None:
    identity = provider_identity({"sub": "s-9", "email": " a@example.com ", "email_verified": True})
    assert identity == ProviderIdentity(subject="s-9", email="a@example.com", email_verified=True)


def test_a_linked_user_is_matched_by_subject_whatever_the_email_says() -> None:
    moved = ProviderIdentity(subject="sub-1", email="new@elsewhere.example", email_verified=False)
    assert match_refusal("microsoft", moved, KnownUser("microsoft", "sub-1"), None) is None


def test_a_linked_user_made_a_password_user_since_is_refused() -> None:
    assert match_refusal("microsoft", VERIFIED, KnownUser("password", "sub-1"), None) \
        is SsoRefusal.OTHER_CREDENTIAL_TYPE


def test_the_first_sign_in_matches_a_user_of_this_provider_by_verified_email() -> None:
    assert match_refusal("google", VERIFIED, None, KnownUser("google", None)) is None


def test_the_first_sign_in_needs_a_verified_email() -> None:
    unverified = ProviderIdentity(subject="sub-1", email="ada@example.com", email_verified=False)
    assert match_refusal("google", unverified, None, KnownUser("google", None)) is SsoRefusal.EMAIL_NOT_VERIFIED


def test_an_unknown_email_is_refused_there_is_no_self_sign_up() -> None:
    assert match_refusal("google", VERIFIED, None, None) is SsoRefusal.UNKNOWN_USER


def test_a_password_user_cannot_be_taken_over_through_a_provider() -> None:
    assert match_refusal("google", VERIFIED, None, KnownUser("password", None)) is SsoRefusal.OTHER_CREDENTIAL_TYPE


def test_a_user_of_the_other_provider_is_refused() -> None:
    assert match_refusal("google", VERIFIED, None, KnownUser("microsoft", None)) is SsoRefusal.OTHER_CREDENTIAL_TYPE


def test_a_user_linked_to_another_subject_is_not_linked_again() -> None:
    assert match_refusal("google", VERIFIED, None, KnownUser("google", "sub-0")) is SsoRefusal.OTHER_CREDENTIAL_TYPE


def test_every_refusal_has_a_message_naming_the_provider_where_it_matters() -> None:
    for refusal in SsoRefusal:
        assert refusal_message(refusal, "microsoft")
    assert "Microsoft" in refusal_message(SsoRefusal.WRONG_AUDIENCE, "microsoft")
    assert "Google" in refusal_message(SsoRefusal.EMAIL_NOT_VERIFIED, "google")


def test_a_refusal_reaches_the_caller_as_sso_refused_with_its_reason() -> None:
    error = refused(SsoRefusal.TOKEN_EXPIRED, "google")
    assert isinstance(error, SsoRefused)
    assert error.status == 403
    assert error.details == {"reason": "token_expired", "provider": "google"}


def test_a_provider_is_configured_only_with_issuer_client_id_and_secret() -> None:
    from services.identity.settings import IdentitySettings

    complete = IdentitySettings(microsoft_issuer="https://login.example/tenant/v2.0/", microsoft_client_id="app",
                                microsoft_client_secret="s3cret")  # type: ignore[arg-type]
    provider = complete.sso_provider("microsoft")
    assert provider is not None and provider.issuer == "https://login.example/tenant/v2.0"
    assert complete.sso_provider("google") is None
    assert IdentitySettings(google_issuer="https://accounts.google.example", google_client_id="app",
                            google_client_secret="").sso_provider("google") is None  # type: ignore[arg-type]


def test_the_redirect_uri_is_built_from_the_public_base_url() -> None:
    from services.identity.settings import IdentitySettings

    settings = IdentitySettings(PORTAL_PUBLIC_BASE_URL="https://portal.example/")  # type: ignore[call-arg]
    assert settings.sso_redirect_uri("google") == "https://portal.example/sign-in/google/callback"
