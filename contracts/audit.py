"""Contracts of the audit service: the security audit trail, its search, export and verification.

The trail is append-only: one entry per security-relevant event of the suite
(docs/audit.md). A tenant's trail holds its own entries and those of every tenant below it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from contracts.base import SafeText, WireModel
from contracts.dates import SaneDatetime


class Activity(StrEnum):
    """The activity column: a stable vocabulary (filters and exports name these values)."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    ACCOUNT_ACCESSED = "account_accessed"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_RENAMED = "account_renamed"
    SETTINGS_CHANGED = "settings_changed"
    SECURITY_SETTINGS_CHANGED = "security_settings_changed"
    USER_MANAGEMENT = "user_management"
    PERMISSIONS_CHANGED = "permissions_changed"
    BILLING_DETAILS_CHANGED = "billing_details_changed"
    PAYMENT = "payment"
    SUBSCRIBED_TO_PLAN = "subscribed_to_plan"
    TRIAL_CANCELED = "trial_canceled"
    ACCOUNT_REMOVED = "account_removed"
    NOTIFICATION = "notification"
    RETENTION = "retention"


def activity_label(activity: Activity) -> str:
    """How the portal shows an activity: ``security_settings_changed`` → "Security settings changed"."""
    return activity.value.replace("_", " ").capitalize()


class AuditStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


VIEW_SECURITY_AUDIT = "view_security_audit"
MAX_PAGE_SIZE = 200
MAX_EXPORT_PAGE = 5000
TOTAL_CAP = 10_000

Cursor = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$")]


class AuditFilters(WireModel):
    """What a search or an export is narrowed to. ``date_from`` inclusive, ``date_to`` exclusive."""

    date_from: SaneDatetime | None = None
    date_to: SaneDatetime | None = None
    activity: list[Activity] = Field(default_factory=list, max_length=len(Activity))
    status: AuditStatus | None = None
    account: SafeText | None = Field(
        default=None, min_length=1, max_length=200,
        description="an account id (exact), else part of the account name (any case)",
    )
    performed_by: SafeText | None = Field(default=None, min_length=1, max_length=320,
                                     description="the performer's email (exact, any case)")

    @model_validator(mode="after")
    def _range_in_order(self) -> Self:
        if self.date_from is not None and self.date_to is not None and self.date_to <= self.date_from:
            raise ValueError("date_to must be after date_from")
        return self


class AuditQuery(WireModel):
    """``search``: filters and one page, by number (``page``) or after a ``cursor`` (keyset)."""

    filters: AuditFilters = Field(default_factory=AuditFilters)
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE)
    cursor: Cursor | None = Field(default=None, description="next_cursor of the previous page; overrides page")
    sort: Literal["-date", "date"] = Field(default="-date", description="newest first (`-date`) or oldest first; "
                                           "a cursor continues the order it was made in")


class AuditEntryView(WireModel):
    id: uuid.UUID = Field(description="the event id the entry was recorded from")
    occurred_at: AwareDatetime
    activity: Activity
    status: AuditStatus
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    performed_by: str | None = Field(default=None, description="the performer's email; none for the system")
    ip: str | None = None
    user_agent: str | None = None
    description: str
    tenant_id: uuid.UUID = Field(description="the tenant whose trail holds the entry")
    correlation_id: str | None = None


class AuditPage(WireModel):
    items: list[AuditEntryView]
    page: int
    page_size: int
    total: int = Field(description=f"entries matching the filters, counted up to {TOTAL_CAP}")
    total_capped: bool = Field(description=f"true when more than {TOTAL_CAP} match: total is then {TOTAL_CAP}")
    next_cursor: str | None = Field(default=None, description="the page after this one (keyset); none at the end")


class ExportPageRequest(WireModel):
    """One chunk of a CSV export. The first chunk (no cursor) records the export in the trail."""

    export_id: uuid.UUID = Field(description="one id per export: recording it twice makes one entry")
    filters: AuditFilters = Field(default_factory=AuditFilters)
    cursor: Cursor | None = None
    limit: int = Field(default=MAX_EXPORT_PAGE, ge=1, le=MAX_EXPORT_PAGE)


class ExportPage(WireModel):
    # Chunks are concatenated: the line end after the last row must survive.
    model_config = ConfigDict(str_strip_whitespace=False)

    csv: str = Field(description="RFC 4180 text; the first chunk starts with the header line")
    rows: int
    next_cursor: str | None = None


class ChainBreak(WireModel):
    tenant_id: uuid.UUID
    seq: int = Field(description="position in the tenant's chain where it breaks")
    entry_id: uuid.UUID | None = Field(default=None, description="event id of the entry found there, if any")
    problem: str = Field(description="hash_mismatch | prev_hash_mismatch | missing_entries | missing_tail")
    message: str


class VerifyReport(WireModel):
    tenants_checked: int
    entries_checked: int
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


# ---- event payloads (routing keys in contracts.events.AuditEvent) -------------------------------------------


class AuditExported(WireModel):
    """``audit_exported``: a CSV export of an audit trail started."""

    export_id: uuid.UUID
    tenant_id: uuid.UUID
    filters: AuditFilters


class AuditPurged(WireModel):
    """``audit_purged``: retention removed the oldest entries of a tenant's trail."""

    tenant_id: uuid.UUID
    removed: int
    older_than: AwareDatetime
    anchor_seq: int = Field(description="the last removed entry's place in the chain: the new anchor")
    anchor_hash: str
