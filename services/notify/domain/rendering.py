"""Mail templates: the catalogue, the context each needs, and rendering. Pure domain code.

Every template is a folder under ``templates/`` with ``subject.txt``, ``body.txt`` and
``body.html``; HTML is autoescaped, and an undefined variable is an error
(``StrictUndefined``), never an empty string. What a template needs in its context is a
pydantic model in :data:`CATALOGUE`: a missing or wrong key is refused as
``ValidationFailed`` on ``context.<key>`` before anything is stored.

Besides its context, every template sees ``recipient_name`` (the ``to_name`` of the
request, or None).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.errors import ValidationFailed
from servicekit.validation import parse

TEMPLATES_DIR = Path(__file__).parent / "templates"


class TemplateContext(BaseModel):
    # Unknown keys are ignored, not refused: a caller may already send what a newer
    # template will use (tolerant reader across rolling upgrades).
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class EmailConfirmationContext(TemplateContext):
    display_name: str | None = Field(default=None, max_length=200)
    # Only web links: a "javascript:" URL in an <a href> would run in some clients.
    confirm_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    expires_hours: int = Field(gt=0, le=24 * 31)
    # The user was invited without a password and chooses one on the confirmation page.
    needs_password: bool = False


class PasswordResetContext(TemplateContext):
    display_name: str | None = Field(default=None, max_length=200)
    reset_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    expires_minutes: int = Field(gt=0, le=24 * 60)


class SecurityNoticeContext(TemplateContext):
    title: str = Field(min_length=1, max_length=200)
    lines: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        min_length=1, max_length=50
    )


WebLink = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class NoticeContext(TemplateContext):
    """A plain notice with an optional button (reminders, invoices, a disabled endpoint)."""

    title: str = Field(min_length=1, max_length=200)
    lines: list[Line] = Field(min_length=1, max_length=50)
    action_url: WebLink | None = None
    action_label: str = Field(default="Open the portal", max_length=100)


class Figure(TemplateContext):
    label: str = Field(min_length=1, max_length=100)
    value: str = Field(max_length=100)


class ScheduledReportContext(TemplateContext):
    title: str = Field(min_length=1, max_length=200)
    tenant_name: str = Field(min_length=1, max_length=200)
    period_label: str = Field(min_length=1, max_length=100)
    figures: list[Figure] = Field(default_factory=list, max_length=30)
    lines: list[Line] = Field(default_factory=list, max_length=50)
    csv_url: WebLink | None = None
    csv_expires: str | None = Field(default=None, max_length=100)
    csv_attached: bool = False


class BackupRadarCsvContext(TemplateContext):
    partner_name: str = Field(min_length=1, max_length=200)
    report_date: str = Field(min_length=1, max_length=20)
    rows: int = Field(ge=0)


CATALOGUE: dict[str, type[TemplateContext]] = {
    "email_confirmation": EmailConfirmationContext,
    "password_reset": PasswordResetContext,
    "security_notice": SecurityNoticeContext,
    "notice": NoticeContext,
    "scheduled_report": ScheduledReportContext,
    "backup_radar_csv": BackupRadarCsvContext,
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def one_line(text: str) -> str:
    """Collapse all whitespace: a subject or display name never spans header lines."""
    return " ".join(text.split())


class MailRenderer:
    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False,
                                         default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def check(self, template: str, context: Mapping[str, Any]) -> TemplateContext:
        """The validated context, or ValidationFailed naming ``template`` or ``context.<key>``."""
        model = CATALOGUE.get(template)
        if model is None:
            raise ValidationFailed.for_field("template", f"unknown template (known: {', '.join(sorted(CATALOGUE))})")
        return parse(model, context, prefix="context")

    def render(self, template: str, context: Mapping[str, Any],
               recipient_name: str | None = None) -> RenderedMail:
        variables = self.check(template, context).model_dump()
        variables["recipient_name"] = one_line(recipient_name) if recipient_name else None

        def part(name: str) -> str:
            return self.env.get_template(f"{template}/{name}").render(variables)

        return RenderedMail(
            subject=one_line(part("subject.txt")),
            text=part("body.txt").strip() + "\n",
            html=part("body.html"),
        )


@functools.cache
def default_renderer() -> MailRenderer:
    return MailRenderer()
