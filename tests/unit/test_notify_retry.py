from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.notify.domain.retry import RetryPolicy
from services.notify.settings import NotifySettings


def test_default_back_off_grows_from_seconds_to_an_hour_and_then_stays():
    policy = RetryPolicy()

    delays = [policy.delay_after(n) for n in range(1, 8)]

    assert delays == [timedelta(seconds=s) for s in (5, 30, 120, 600, 3600, 3600, 3600)]


def test_no_retry_once_the_attempts_are_used_up():
    policy = RetryPolicy(backoff_seconds=(1.0,), max_attempts=3)

    assert policy.delay_after(2) == timedelta(seconds=1)
    assert policy.delay_after(3) is None
    assert policy.delay_after(4) is None


def test_back_off_and_attempts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_BACKOFF_SECONDS", "0.2, 1,5")
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "4")

    settings = NotifySettings()

    assert settings.retry_backoff_seconds == (0.2, 1.0, 5.0)
    assert settings.max_attempts == 4


def test_back_off_may_be_given_as_a_json_list(monkeypatch):
    monkeypatch.setenv("NOTIFY_RETRY_BACKOFF_SECONDS", "[0.5, 2]")

    assert NotifySettings().retry_backoff_seconds == (0.5, 2.0)


@pytest.mark.parametrize("value", ["", "0", "5,-1"])
def test_a_back_off_without_positive_waits_is_refused(monkeypatch, value):
    monkeypatch.setenv("NOTIFY_RETRY_BACKOFF_SECONDS", value)

    with pytest.raises(ValidationError):
        NotifySettings()


def test_without_an_smtp_host_mail_goes_to_the_maildir(monkeypatch):
    monkeypatch.setenv("NOTIFY_SMTP_HOST", "")

    assert not NotifySettings().uses_smtp


def test_smtp_port_defaults_follow_the_tls_mode(monkeypatch):
    monkeypatch.setenv("NOTIFY_SMTP_HOST", "mail.example.com")
    assert NotifySettings().effective_smtp_port == 25
    assert NotifySettings(smtp_starttls=True).effective_smtp_port == 587
    assert NotifySettings(smtp_ssl=True).effective_smtp_port == 465
    with pytest.raises(ValidationError):
        NotifySettings(smtp_ssl=True, smtp_starttls=True)


def test_the_smtp_password_is_not_shown_by_the_settings(monkeypatch):
    monkeypatch.setenv("NOTIFY_SMTP_PASSWORD", "s3cret-pass")

    settings = NotifySettings()

    assert "s3cret-pass" not in repr(settings) and "s3cret-pass" not in str(settings.model_dump())


def test_an_smtp_ca_file_must_exist_and_an_empty_setting_means_none(monkeypatch, tmp_path):
    monkeypatch.setenv("NOTIFY_SMTP_CA_FILE", "")
    assert NotifySettings().smtp_ca_file is None
    monkeypatch.setenv("NOTIFY_SMTP_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="no such file"):
        NotifySettings()
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("NOTIFY_SMTP_CA_FILE", str(tmp_path / "ca.pem"))
    assert NotifySettings().smtp_ca_file == tmp_path / "ca.pem"
