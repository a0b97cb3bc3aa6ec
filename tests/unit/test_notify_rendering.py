from typing import Any

import pytest

from contracts.errors import ValidationFailed
from services.notify.domain.rendering import CATALOGUE, MailRenderer

CONFIRMATION = {"confirm_url": "https://portal.test/confirm?token=abc&x=1", "expires_hours": 24}
SAMPLES: dict[str, dict[str, Any]] = {
    "email_confirmation": CONFIRMATION,
    "password_reset": {"display_name": "Ann", "reset_url": "https://portal.test/reset-password?token=abc",
                       "expires_minutes": 60},
    "security_notice": {"title": "IP restrictions changed", "lines": ["Enabled by ann@example.com"]},
    "notice": {"title": "Invoice INV-2026-000001", "lines": ["Due on 2026-12-26."],
               "action_url": "https://portal.test/api/v1/billing/invoices/INV-2026-000001.pdf"},
    "scheduled_report": {"title": "Backup summary report", "tenant_name": "Northwind", "period_label": "2026-11-25",
                         "figures": [{"label": "Accounts", "value": "3"}], "lines": ["Coho: 1 failed"],
                         "csv_attached": True},
    "backup_radar_csv": {"partner_name": "Contoso IT", "report_date": "2026-11-25", "rows": 4},
}


@pytest.fixture(scope="module")
def renderer():
    return MailRenderer()


def fields_of(caught):
    return [f["field"] for f in caught.value.details["fields"]]


def test_every_template_in_the_catalogue_has_a_sample_and_renders_all_three_parts(renderer):
    assert set(SAMPLES) == set(CATALOGUE)
    for name, context in SAMPLES.items():
        rendered = renderer.render(name, context, recipient_name="Ann")
        assert rendered.subject and "\n" not in rendered.subject
        assert rendered.text.strip() and "<html" not in rendered.text
        assert rendered.html.lstrip().startswith("<!DOCTYPE html>")


def test_confirmation_mail_carries_the_link_and_validity(renderer):
    rendered = renderer.render("email_confirmation", {**CONFIRMATION, "display_name": "Ann"})

    assert "https://portal.test/confirm?token=abc&x=1" in rendered.text
    assert 'href="https://portal.test/confirm?token=abc&amp;x=1"' in rendered.html
    assert "24 hours" in rendered.text and "Hello Ann," in rendered.text


def test_a_missing_required_context_key_is_refused_naming_it(renderer):
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("email_confirmation", {"expires_hours": 24})

    assert fields_of(caught) == ["context.confirm_url"]


def test_an_optional_context_key_may_be_left_out(renderer):
    rendered = renderer.render("email_confirmation", CONFIRMATION)

    assert "Hello there," in rendered.text


def test_an_unknown_template_is_refused_on_the_template_field(renderer):
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("generic", {})

    assert fields_of(caught) == ["template"]


def test_html_escapes_context_values_and_text_keeps_them_verbatim(renderer):
    rendered = renderer.render(
        "security_notice", {"title": "<script>alert(1)</script>", "lines": ["a & b", "<b>bold</b>"]}
    )

    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered.html and "a &amp; b" in rendered.html
    assert "<b>bold</b>" in rendered.text and "a & b" in rendered.text


def test_a_link_that_is_not_http_is_refused(renderer):
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("email_confirmation", {**CONFIRMATION, "confirm_url": "javascript:alert(1)"})

    assert fields_of(caught) == ["context.confirm_url"]


def test_context_values_of_the_wrong_shape_are_refused_per_key(renderer):
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("security_notice", {"title": "t", "lines": "not a list"})

    assert fields_of(caught) == ["context.lines"]


def test_a_subject_never_spans_lines_whatever_the_context(renderer):
    rendered = renderer.render("security_notice", {"title": "two\r\nBcc: evil@example.com", "lines": ["x"]})

    assert rendered.subject == "Security notice: two Bcc: evil@example.com"


def test_a_template_using_an_undeclared_variable_fails_loudly(tmp_path):
    (tmp_path / "security_notice").mkdir()
    for part in ("subject.txt", "body.txt", "body.html"):
        (tmp_path / "security_notice" / part).write_text("{{ title }} {{ not_in_context }}")

    with pytest.raises(Exception, match="not_in_context"):
        MailRenderer(tmp_path).render("security_notice", SAMPLES["security_notice"])


def test_a_confirmation_for_an_invited_user_says_a_password_will_be_chosen(renderer):
    invited = renderer.render("email_confirmation", {**CONFIRMATION, "needs_password": True})
    plain = renderer.render("email_confirmation", CONFIRMATION)

    assert "choose your password" in invited.text and "choose your password" in invited.html
    assert "choose your password" not in plain.text


def test_context_keys_no_template_knows_are_ignored(renderer):
    rendered = renderer.render("email_confirmation", {**CONFIRMATION, "from_a_newer_caller": 1})

    assert "from_a_newer_caller" not in rendered.text


def test_a_report_with_a_link_names_the_link_and_its_expiry_instead_of_an_attachment(renderer):
    link = "https://portal.test/api/v1/notifications/reports/x.csv?expires=1&signature=abc"
    rendered = renderer.render("scheduled_report", {**SAMPLES["scheduled_report"], "csv_attached": False,
                                                    "csv_url": link, "csv_expires": "2026-12-02 00:00 UTC"})

    assert link in rendered.text and "until 2026-12-02 00:00 UTC" in rendered.text
    assert "attached" not in rendered.text
    assert rendered.subject == "Backup summary report: Northwind, 2026-11-25"


def test_the_backup_radar_mail_subject_starts_the_way_its_parser_expects(renderer):
    rendered = renderer.render("backup_radar_csv", SAMPLES["backup_radar_csv"])

    assert rendered.subject.startswith("Backup Report CSV")
    assert "Contoso IT" in rendered.subject and "2026-11-25" in rendered.subject


def test_a_notice_button_refuses_a_script_link(renderer):
    with pytest.raises(ValidationFailed) as caught:
        renderer.render("notice", {**SAMPLES["notice"], "action_url": "javascript:alert(1)"})

    assert fields_of(caught) == ["context.action_url"]
