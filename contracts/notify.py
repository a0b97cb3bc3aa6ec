"""Contracts of the notify service: mail, recipients and settings, reports, Backup Radar."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, EmailStr, Field

from contracts.base import SafeText, WireModel


class SendMailRequest(WireModel):
    template: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9_]+$")
    to: EmailStr
    to_name: SafeText | None = Field(default=None, max_length=200)
    context: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: SafeText = Field(min_length=1, max_length=200)
    tenant_id: uuid.UUID | None = None


class SendMailReply(WireModel):
    message_id: uuid.UUID
    status: str
    duplicate: bool = False


# ---- recipients and settings -----------------------------------------------------------------


class NotificationType(StrEnum):
    SUMMARY_REPORT = "summary_report"
    RECOVERY_NOTIFICATION = "recovery_notification"
    EXCEPTIONS_NOTIFICATION = "exceptions_notification"
    AUTO_DISCOVERY_NOTIFICATION = "auto_discovery_notification"
    TRIAL_ACCOUNTS_REPORT = "trial_accounts_report"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"  # Monday to Monday (UTC)
    MONTHLY = "monthly"  # calendar months (UTC)


class CsvDelivery(StrEnum):
    ATTACHMENT = "attachment"
    LINK = "link"  # a signed URL that expires (NOTIFY_REPORT_LINK_DAYS)


def _distinct(types: list[NotificationType]) -> list[NotificationType]:
    return list(dict.fromkeys(types))


def _at_least_one(types: list[NotificationType]) -> list[NotificationType]:
    if not types:
        raise ValueError("choose at least one notification type")
    return types


NotificationTypes = Annotated[list[NotificationType], AfterValidator(_distinct), Field(max_length=10)]
# What a recipient receives: a recipient of nothing would only be a row to forget.
ChosenTypes = Annotated[NotificationTypes, AfterValidator(_at_least_one)]
DisplayName = Annotated[SafeText, Field(max_length=200)]
PageNumber = Annotated[int, Field(ge=1, le=1_000_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]


class RecipientRequest(WireModel):
    email: Annotated[EmailStr, Field(max_length=320)]
    display_name: DisplayName | None = None
    types: ChosenTypes


class RecipientUpdate(WireModel):
    """PATCH: only the fields given change."""

    email: Annotated[EmailStr, Field(max_length=320)] | None = None
    display_name: DisplayName | None = None
    types: ChosenTypes | None = None


class RecipientView(WireModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    display_name: str | None = None
    types: list[NotificationType]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class RecipientListQuery(WireModel):
    type: NotificationType | None = Field(default=None, description="only recipients of this type")
    page: PageNumber = 1
    page_size: PageSize = 25


class RecipientPage(WireModel):
    items: list[RecipientView]
    page: int
    page_size: int
    total: int


class NotificationSettings(WireModel):
    frequency: Frequency = Frequency.WEEKLY
    csv_delivery: CsvDelivery = CsvDelivery.ATTACHMENT


class ReportCsv(WireModel):
    """A report's CSV detail, fetched through its signed link (kept byte for byte: not stripped)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    filename: str
    content: str


# ---- Backup Radar ------------------------------------------------------------------------------------


class IntegrationStatus(StrEnum):
    OFF = "off"  # not enabled by an operator
    NOT_CONFIGURED = "not_configured"  # enabled, no endpoint URL yet
    ACTIVE = "active"
    DISABLED = "disabled"  # the endpoint answered 410, or failed for too long: set the URL again


class BackupRadarView(WireModel):
    distributor_id: uuid.UUID
    enabled: bool = Field(description="switched on by an operator")
    status: IntegrationStatus
    url: str | None = None
    report_email: str | None = Field(default=None, description="Backup Radar's inbound address for the daily CSV")
    secret: str | None = Field(default=None, description="whsec_…; shown to the distributor's administrators only")
    secret_set: bool = False
    disabled_reason: str | None = None
    disabled_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class BackupRadarUpdate(WireModel):
    """PUT: only the fields given change. ``enabled`` is an operator's; the rest the distributor's."""

    enabled: bool | None = None
    url: Annotated[SafeText, Field(min_length=8, max_length=2000)] | None = None
    report_email: Annotated[EmailStr, Field(max_length=320)] | None = None
    rotate_secret: bool = False
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose integration")


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # out of attempts, or the endpoint is gone


class DeliveryListQuery(WireModel):
    status: DeliveryStatus | None = None
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose deliveries")
    page: PageNumber = 1
    page_size: PageSize = 25


class DeliveryView(WireModel):
    id: uuid.UUID
    webhook_id: str = Field(description="the webhook-id header: the same on every attempt and replay")
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: AwareDatetime
    next_attempt_at: AwareDatetime | None = None
    last_attempt_at: AwareDatetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: AwareDatetime | None = None


class DeliveryPage(WireModel):
    items: list[DeliveryView]
    page: int
    page_size: int
    total: int


# ---- event payloads (routing keys in contracts.events.NotifyEvent) -------------------------------------


class RecipientChanged(WireModel):
    """``recipient_added``, ``recipient_changed`` (``fields`` names what changed) and ``recipient_removed``."""

    recipient_id: uuid.UUID
    email: str
    types: list[NotificationType] = Field(description="the notifications the recipient gets")
    fields: list[str] = Field(default_factory=list, description="recipient_changed: the names of the changed fields; "
                                                                "empty for the other two")


class MailDelivery(WireModel):
    """``mail_sent`` (the SMTP server took the mail) and ``mail_failed`` (notify gave up after its
    retries). Never the body or the template's context: they may carry a confirmation link."""

    message_id: uuid.UUID = Field(description="notify's id of the outgoing mail")
    template: str
    attempts: int = Field(ge=0, description="how many times notify tried to send it")


class NotificationSettingsChanged(WireModel):
    """``notification_settings_changed``: the tenant's report frequency or CSV delivery changed."""

    frequency: Frequency
    csv_delivery: CsvDelivery


class IntegrationSwitched(WireModel):
    """``integration_enabled`` and ``integration_disabled``: an operator switched a distributor's
    Backup Radar webhooks on or off."""

    distributor_id: uuid.UUID
    integration: Literal["backup_radar"] = "backup_radar"


class IntegrationChanged(IntegrationSwitched):
    """``integration_changed``: the integration's settings changed."""

    fields: list[str] = Field(min_length=1, description="url, report_email, secret: names, never the values")


class EndpointDisabled(IntegrationSwitched):
    """``endpoint_disabled``: notify stopped sending to a webhook endpoint that kept failing."""

    reason: str = Field(description="why, in words (the failures that made notify give up)")


class ReportSent(WireModel):
    """``report_sent``: a scheduled report went out (the report itself never travels)."""

    report_id: uuid.UUID
    report_type: NotificationType
    period_start: AwareDatetime
    period_end: AwareDatetime
    recipients: int = Field(ge=0, description="how many recipients it was sent to")
