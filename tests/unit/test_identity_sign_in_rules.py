from datetime import UTC, datetime, timedelta

import pytest

from contracts.errors import (
    AccessDenied,
    EmailNotConfirmed,
    InvalidCredentials,
    TwoFactorRequired,
    ValidationFailed,
)
from services.identity.domain.sign_in_rules import (
    USER_AGENT_KEPT,
    Refusal,
    SecondFactor,
    check_new_password,
    counts_as_guess,
    kept_user_agent,
    last_seen_due,
    password_refusal,
    refused,
    second_factor,
    session_expired,
    session_expires_at,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _refusal(found=True, password_ok=True, credential_type="password", email_confirmed=True):
    return password_refusal(found=found, password_ok=password_ok, credential_type=credential_type,
                            email_confirmed=email_confirmed)


def test_a_confirmed_password_user_with_the_right_password_is_not_refused():
    assert _refusal() is None


@pytest.mark.parametrize("attempt", [
    {"found": False, "credential_type": None},
    {"password_ok": False},
    {"credential_type": "microsoft"},
    {"found": False, "password_ok": False, "credential_type": None, "email_confirmed": False},
    {"password_ok": False, "email_confirmed": False},
])
def test_unknown_emails_wrong_passwords_and_other_sign_in_ways_are_all_bad_credentials(attempt):
    assert _refusal(**attempt) is Refusal.BAD_CREDENTIALS


def test_the_right_password_of_an_unconfirmed_email_is_refused_for_that():
    assert _refusal(email_confirmed=False) is Refusal.EMAIL_NOT_CONFIRMED


def test_only_wrong_secrets_count_as_guesses():
    assert {refusal for refusal in Refusal if counts_as_guess(refusal)} == {
        Refusal.BAD_CREDENTIALS, Refusal.BAD_TOTP_CODE, Refusal.BAD_RECOVERY_CODE}


def test_each_refusal_is_its_error_and_reasons_are_the_events_words():
    assert [refusal.value for refusal in Refusal] == [
        "bad_credentials", "email_not_confirmed", "ip_not_trusted", "bad_totp_code", "bad_recovery_code"]
    assert type(refused(Refusal.BAD_CREDENTIALS)) is InvalidCredentials
    assert type(refused(Refusal.EMAIL_NOT_CONFIRMED)) is EmailNotConfirmed
    assert type(refused(Refusal.BAD_TOTP_CODE)) is InvalidCredentials
    assert type(refused(Refusal.BAD_RECOVERY_CODE)) is InvalidCredentials
    untrusted = refused(Refusal.IP_NOT_TRUSTED, "203.0.113.9")
    assert type(untrusted) is AccessDenied
    assert untrusted.details == {"your_ip": "203.0.113.9"}


def test_the_authenticator_code_goes_first_then_a_recovery_code_and_one_is_needed():
    assert second_factor("123456", "abcd-efgh") is SecondFactor.TOTP
    assert second_factor(None, "abcd-efgh") is SecondFactor.RECOVERY_CODE
    assert second_factor("", "abcd-efgh") is SecondFactor.RECOVERY_CODE
    for codes in ((None, None), ("", "")):
        with pytest.raises(TwoFactorRequired):
            second_factor(*codes)


def test_a_session_ends_at_its_absolute_expiry_or_when_idle_too_long():
    expires = session_expires_at(NOW, 12)
    assert expires == NOW + timedelta(hours=12)
    assert not session_expired(NOW + timedelta(minutes=29), expires, NOW, idle_minutes=30)
    assert not session_expired(NOW + timedelta(minutes=30), expires, NOW, idle_minutes=30)
    assert session_expired(NOW + timedelta(minutes=30, seconds=1), expires, NOW, idle_minutes=30)
    seen_lately = expires - timedelta(minutes=1)
    assert not session_expired(expires, expires, seen_lately, idle_minutes=30)
    assert session_expired(expires + timedelta(seconds=1), expires, seen_lately, idle_minutes=30)


def test_last_seen_is_written_again_only_after_a_minute():
    assert not last_seen_due(NOW + timedelta(seconds=60), NOW)
    assert last_seen_due(NOW + timedelta(seconds=61), NOW)


def test_a_sessions_user_agent_is_kept_short_and_an_empty_one_not_at_all():
    assert kept_user_agent("x" * 1000) == "x" * USER_AGENT_KEPT
    assert kept_user_agent("Firefox") == "Firefox"
    assert kept_user_agent("") is None
    assert kept_user_agent(None) is None


def test_a_new_password_is_typed_twice_alike_and_differs_from_the_current_one():
    check_new_password("old secret", "new secret", "new secret")
    with pytest.raises(ValidationFailed) as error:
        check_new_password("old secret", "new secret", "new secrte")
    assert error.value.details["fields"][0]["field"] == "confirm_password"
    with pytest.raises(ValidationFailed) as error:
        check_new_password("same secret", "same secret", "same secret")
    assert error.value.details["fields"][0]["field"] == "new_password"
