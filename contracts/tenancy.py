"""Contracts of the tenancy service: the tenant tree, accounts, trials, backup tasks and runs.

Requests are validated with these models on the service side (``servicekit.validation.parse``)
and by the gateway; replies are built with them and parsed back by the caller. Event
payloads are models too, so their fields are written down once (docs/tenancy.md).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.base import SafeText, WireModel
from contracts.countries import COUNTRY_CODES
from contracts.dates import SaneDatetime
from contracts.vocabulary import BillingStatus, RollupStatus, TenantKind

# ---- vocabularies --------------------------------------------------------------------------


class DefaultSubscription(StrEnum):
    """What a new account starts with (the owner's default; each account may override it)."""

    TRIAL_EXPIRING = "trial_expiring"  # 14-day trial that expires unless subscribed
    TRIAL_AUTO_MONTHLY = "trial_auto_monthly"  # 14-day trial, then a monthly subscription
    TRIAL_AUTO_ANNUAL = "trial_auto_annual"  # 14-day trial, then an annual subscription
    SUBSCRIBE_MONTHLY = "subscribe_monthly"  # subscribed at once, no trial
    SUBSCRIBE_ANNUAL = "subscribe_annual"


class Plan(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class DataCenter(StrEnum):
    US_EAST_1 = "us-east-1"
    US_WEST_2 = "us-west-2"
    CA_CENTRAL_1 = "ca-central-1"
    EU_WEST_1 = "eu-west-1"
    EU_CENTRAL_1 = "eu-central-1"
    EU_WEST_2 = "eu-west-2"
    AP_SOUTHEAST_2 = "ap-southeast-2"
    CUSTOMER_AWS = "customer_aws"


DATA_CENTER_LABELS: dict[DataCenter, str] = {
    DataCenter.US_EAST_1: "US East (N. Virginia)",
    DataCenter.US_WEST_2: "US West (Oregon)",
    DataCenter.CA_CENTRAL_1: "Canada (Central)",
    DataCenter.EU_WEST_1: "EU (Ireland)",
    DataCenter.EU_CENTRAL_1: "EU (Frankfurt)",
    DataCenter.EU_WEST_2: "EU (London)",
    DataCenter.AP_SOUTHEAST_2: "Asia Pacific (Sydney)",
    DataCenter.CUSTOMER_AWS: "Customer's own AWS storage",
}


class AccountStatus(StrEnum):
    TRIAL_STARTED = "trial_started"
    TRIAL_EXPIRING = "trial_expiring"  # the last 3 days of the trial
    TRIAL_EXPIRED = "trial_expired"
    MONTHLY_SUBSCRIBED = "monthly_subscribed"
    ANNUAL_SUBSCRIBED = "annual_subscribed"
    REMOVED = "removed"


class BackupStatus(StrEnum):
    """An account's backups, from the latest run of each of its tasks."""

    NO_BACKUP = "no_backup"
    SUCCESSFUL = "successful"
    PARTIALLY_FAILED = "partially_failed"
    FAILED = "failed"


class TaskStatus(StrEnum):
    """A partner's (or the Direct Accounts') task status on the dashboard."""

    SUCCESSFUL = "successful"
    FAILURES = "failures"
    NO_TASKS_YET = "no_tasks_yet"
    NO_ACCOUNTS_YET = "no_accounts_yet"


class BackupService(StrEnum):
    EXCHANGE = "exchange"
    ONEDRIVE = "onedrive"
    SHAREPOINT = "sharepoint"
    TEAMS = "teams"
    GMAIL = "gmail"
    GOOGLE_DRIVE = "google_drive"
    SALESFORCE = "salesforce"
    DROPBOX = "dropbox"
    BOX = "box"


class TaskState(StrEnum):
    INACTIVE = "inactive"  # added, not yet activated
    ACTIVE = "active"
    PAUSED = "paused"


class RunStatus(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILURE = "failure"


# ---- field types -------------------------------------------------------------------------------


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _known_country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. US, GB, DE")
    return value


Country = Annotated[str, BeforeValidator(_upper), AfterValidator(_known_country)]
Name = Annotated[SafeText, Field(min_length=1, max_length=200)]
Email = Annotated[EmailStr, Field(max_length=320)]
ContactName = Annotated[SafeText, Field(max_length=200)]
Address = Annotated[SafeText, Field(max_length=500)]
Phone = Annotated[str, Field(max_length=40, pattern=r"^[0-9+()./ -]{3,40}$")]
Search = Annotated[SafeText, Field(min_length=1, max_length=200)]
Page = Annotated[int, Field(ge=1, le=1_000_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]
# ``status``: a partner row's task status, an account's status; ``-`` descending.
ListSort = Literal["name", "-name", "size", "-size", "status", "-status", "amount", "-amount"]
AccountListSort = Literal["name", "-name", "size", "-size", "status", "-status", "backup_status", "-backup_status",
                          "amount", "-amount"]
IdFilter = Annotated[list[uuid.UUID], Field(max_length=10_000)]

# ---- the tree: distributors, partners, Settings > Account ----------------------------------------------


class TenantProfile(WireModel):
    """A distributor's or partner's profile: the partner view and Settings > Account."""

    id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None = None
    name: str
    email: str | None = None
    partner_code: str | None = Field(default=None, description="the human partner ID, e.g. P-7K2M9Q")
    contact_name: str | None = None
    country: str | None = None
    data_center: DataCenter | None = None
    data_center_label: str | None = None
    address: str | None = None
    phone: str | None = None
    default_subscription: DefaultSubscription = DefaultSubscription.TRIAL_EXPIRING
    created_at: AwareDatetime


class PartnerCreateRequest(WireModel):
    name: Name
    email: Email
    contact_name: ContactName | None = None
    country: Country
    data_center: DataCenter
    address: Address | None = None
    phone: Phone | None = None
    default_subscription: DefaultSubscription | None = Field(
        default=None, description="defaults to the distributor's default"
    )
    distributor_id: uuid.UUID | None = Field(default=None, description="defaults to the caller's own tenant")


class DistributorCreateRequest(WireModel):
    name: Name
    email: Email
    country: Country
    data_center: DataCenter
    contact_name: ContactName | None = None
    address: Address | None = None
    phone: Phone | None = None
    default_subscription: DefaultSubscription = DefaultSubscription.TRIAL_EXPIRING
    parent_id: uuid.UUID | None = Field(default=None, description="a sub-distributor's parent; default the root")


class TenantProfileUpdate(WireModel):
    """PATCH of a partner, PUT of Settings > Account: only the fields given change.

    ``data_center`` moves stored data: only an operator may change it.
    """

    name: Name | None = None
    email: Email | None = None
    contact_name: ContactName | None = None
    country: Country | None = None
    data_center: DataCenter | None = None
    address: Address | None = None
    phone: Phone | None = None
    default_subscription: DefaultSubscription | None = None


class PartnerListQuery(WireModel):
    distributor_id: uuid.UUID | None = Field(default=None, description="default: the caller's own tenant")
    search: Search | None = Field(default=None, description="part of the name or email, any case")
    task_status: TaskStatus | None = None
    billing_status: RollupStatus | None = Field(default=None, description="from billing's facts")
    ids: IdFilter | None = Field(default=None, description="only these partners")
    sort: ListSort = "name"
    page: Page = 1
    page_size: PageSize = 25


class PartnerRow(WireModel):
    id: uuid.UUID
    name: str
    email: str | None = None
    partner_code: str | None = None
    size_bytes: int
    seats: int
    accounts: int
    task_status: TaskStatus
    amount_owed: Decimal = Field(default=Decimal("0.00"), description="what its accounts owe (billing's facts)")
    currency: str | None = Field(default=None, description="null until billing has announced anything")
    billing_status: RollupStatus = RollupStatus.ON_TRACK


class PartnerPage(WireModel):
    items: list[PartnerRow]
    page: int
    page_size: int
    total: int = Field(description="partners matching the search and filters")
    total_partners: int = Field(description="partners in the list before search and filters")
    direct: PartnerRow | None = Field(default=None, description="the Direct Accounts row of the distributor")


# ---- customer accounts ---------------------------------------------------------------------------------------


class AccountCreateRequest(WireModel):
    name: Name
    email: Email
    partner_id: uuid.UUID | None = Field(default=None, description="none: a direct account of the distributor")
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose direct account it is")
    subscription: DefaultSubscription | None = Field(default=None, description="none: the owner's default")
    country: Country | None = None


class BackupRunView(WireModel):
    run_id: uuid.UUID
    task_id: uuid.UUID
    status: RunStatus
    started_at: AwareDatetime
    finished_at: AwareDatetime
    size_bytes: int
    seats: int


class BackupTaskView(WireModel):
    id: uuid.UUID
    account_id: uuid.UUID
    service: BackupService
    name: str
    state: TaskState
    created_at: AwareDatetime
    activated_at: AwareDatetime | None = None
    paused_at: AwareDatetime | None = None
    last_run: BackupRunView | None = None
    runs: int = 0


class AccountView(WireModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    owner_kind: str
    partner_id: uuid.UUID | None = None
    name: str
    email: str | None = None
    country: str | None = None
    data_center: DataCenter | None = None
    account_status: AccountStatus
    backup_status: BackupStatus
    subscription: DefaultSubscription = Field(description="the subscription choice the account was created with")
    plan: Plan | None = None
    auto_subscribe: Plan | None = None
    trial_started_at: AwareDatetime | None = None
    trial_ends_at: AwareDatetime | None = None
    subscribed_at: AwareDatetime | None = None
    expired_at: AwareDatetime | None = None
    removed_at: AwareDatetime | None = None
    size_bytes: int
    seats: int
    tasks: list[BackupTaskView] = Field(default_factory=list)
    created_at: AwareDatetime


class AccountRow(WireModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    email: str | None = None
    account_status: AccountStatus
    backup_status: BackupStatus
    plan: Plan | None = None
    trial_ends_at: AwareDatetime | None = None
    size_bytes: int
    seats: int
    tasks: int
    billing_status: BillingStatus = Field(default=BillingStatus.NONE, description="billing's facts, read today")
    amount_due: Decimal = Field(default=Decimal("0.00"), description="its share of unpaid bills (billing's facts)")
    currency: str | None = Field(default=None, description="null until billing has announced anything")


class AccountListQuery(WireModel):
    """A partner's accounts (``partner_id``), or a distributor's direct accounts."""

    partner_id: uuid.UUID | None = None
    distributor_id: uuid.UUID | None = Field(default=None, description="direct accounts; default the caller's")
    search: Search | None = None
    account_status: AccountStatus | None = None
    backup_status: BackupStatus | None = None
    billing_status: BillingStatus | None = Field(default=None, description="from billing's facts, read today")
    ids: IdFilter | None = Field(default=None, description="only these accounts")
    sort: AccountListSort = "name"
    page: Page = 1
    page_size: PageSize = 25

    @model_validator(mode="after")
    def _one_owner(self) -> Self:
        if self.partner_id is not None and self.distributor_id is not None:
            raise ValueError("give partner_id or distributor_id, not both")
        return self


class AccountSearchQuery(WireModel):
    """Accounts anywhere in the caller's subtree (the pickers: audit filter, accessible accounts)."""

    search: Search | None = None
    account_status: AccountStatus | None = None
    page: Page = 1
    page_size: PageSize = 25


class AccountPick(WireModel):
    id: uuid.UUID
    name: str
    email: str | None = None
    account_status: AccountStatus
    owner_id: uuid.UUID
    owner_name: str | None = Field(default=None, description="the partner's or distributor's name")


class AccountPickPage(WireModel):
    items: list[AccountPick]
    page: int
    page_size: int
    total: int


class TrialCounters(WireModel):
    in_progress: int = 0
    expiring: int = 0
    expired: int = 0


class BackupCounters(WireModel):
    no_backup: int = 0
    successful: int = 0
    partially_failed: int = 0
    failed: int = 0


class AccountCounters(WireModel):
    trial: TrialCounters
    backup: BackupCounters


class AccountPage(WireModel):
    items: list[AccountRow]
    page: int
    page_size: int
    total: int = Field(description="accounts matching the search and filters (the N of 'N of M')")
    total_accounts: int = Field(description="accounts in the list before search and filters (the M)")
    counters: AccountCounters


class IdList(WireModel):
    """Every id a list query matches, unpaged, in no particular order: the candidates another
    service (billing) orders and pages by an attribute it owns, e.g. the dashboard's amount sort."""

    ids: list[uuid.UUID]
    total: int = Field(description="how many matched (the length of ids)")


MAX_NAME_LOOKUP = 1000


class NameLookupRequest(WireModel):
    """Names of accounts and partners for a page another service answered (billing status)."""

    ids: Annotated[list[uuid.UUID], Field(max_length=MAX_NAME_LOOKUP)]


class TenantName(WireModel):
    id: uuid.UUID
    kind: str
    name: str
    email: str | None = None
    parent_id: uuid.UUID | None = None


class TenantNameList(WireModel):
    items: list[TenantName] = Field(description="only the tenants the caller sees; unknown and hidden ids are left out")


SubscribeScope = Literal["direct", "partner", "all"]


class SubscribeTrialsRequest(WireModel):
    """Which trials "Subscribe all trials" applies to: exactly the list it is shown on, named.

    ``direct``: the list ``GET /direct-accounts`` shows (``distributor_id``'s direct accounts,
    default the caller's own: a distributor's direct accounts, a partner's own accounts);
    ``partner``: ``partner_id``'s accounts (a partner user may leave it out: its own);
    ``all``: every trial the caller can see, asked for by name. ``scope`` may be left out only
    where the request names its accounts anyway: with ``partner_id`` it is ``partner`` (what
    such a request meant before ``scope`` existed), with ``account_ids`` alone it is ``all``
    narrowed to exactly those accounts. A plan alone names nothing and is refused.
    """

    plan: Plan
    scope: SubscribeScope = Field(description="which list: 'direct', 'partner' or 'all' (see above)")
    partner_id: uuid.UUID | None = Field(default=None, description="scope 'partner': whose accounts")
    distributor_id: uuid.UUID | None = Field(default=None, description="scope 'direct': whose direct accounts "
                                                                       "(operators); default the caller's own")
    account_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000,
                                                description="only these accounts (each must be in the scope)")

    @model_validator(mode="before")
    @classmethod
    def _scope_from_named_accounts(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("scope") is None:
            if data.get("partner_id") is not None:
                return {**data, "scope": "partner"}
            if data.get("account_ids") is not None:
                return {**data, "scope": "all"}
        return data

    @field_validator("partner_id")
    @classmethod
    def _partner_for_partner_scope(cls, value: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        return _only_in_scope(value, info, "partner")

    @field_validator("distributor_id")
    @classmethod
    def _distributor_for_direct_scope(cls, value: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        return _only_in_scope(value, info, "direct")


def _only_in_scope(value: uuid.UUID | None, info: ValidationInfo, scope: str) -> uuid.UUID | None:
    """An owner id belongs to one scope; with another it would silently mean something else."""
    given = info.data.get("scope")
    if value is not None and given is not None and given != scope:
        raise ValueError(f"only with scope '{scope}' (scope is '{given}')")
    return value


class SubscribeTrialsReply(WireModel):
    changed: int


class RemoveAccountRequest(WireModel):
    approve_data_removal: bool = False


# ---- backup tasks and runs --------------------------------------------------------------------------------


class BackupTaskRequest(WireModel):
    service: BackupService
    name: Name


class BackupRunReport(WireModel):
    """One run as the backup engine reports it. ``size_bytes`` is the task's stored size after the run."""

    run_id: uuid.UUID
    task_id: uuid.UUID
    status: RunStatus
    started_at: SaneDatetime
    finished_at: SaneDatetime
    size_bytes: int = Field(ge=0, le=2**62)
    seats: int = Field(ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _finished_after_start(self) -> Self:
        if self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self


MAX_INGEST_BATCH = 1000


class EngineRunsCompleted(WireModel):
    """``backup_run_completed`` on ``engine.events``, the backup engine's own message (no envelope):
    the runs it finished, as ``POST /ingest/backup-runs`` takes them; a single run object is accepted too."""

    runs: list[BackupRunReport] = Field(max_length=MAX_INGEST_BATCH)


class IngestRejection(WireModel):
    index: int
    run_id: uuid.UUID
    task_id: uuid.UUID
    code: str
    message: str


class IngestReply(WireModel):
    accepted: int = Field(description="new runs recorded")
    duplicates: int = Field(description="runs already recorded (same run_id): ignored")
    rejected: list[IngestRejection] = Field(default_factory=list)


# ---- the trial clock ------------------------------------------------------------------------------------------


class TrialExpiryRequest(WireModel):
    as_of: SaneDatetime | None = Field(default=None, description="the moment to apply; default now")
    distributor_id: uuid.UUID | None = Field(default=None, description="only the trials below this distributor")


class TrialExpiryReply(WireModel):
    as_of: AwareDatetime
    expired: int
    auto_subscribed: int


# ---- event payloads (routing keys in contracts.events.TenancyEvent) ---------------------------------------------


class TenantCreated(WireModel):
    """``tenant_created``: any node of the tree was added (a distributor, a partner, an account)."""

    tenant_id: uuid.UUID
    parent_id: uuid.UUID
    kind: TenantKind
    name: str
    code: str | None = Field(description="the partner's or distributor's code; null when it has none")


class PartnerCreated(WireModel):
    """``partner_created``: a partner was added; identity invites its first administrator."""

    partner_id: uuid.UUID
    parent_id: uuid.UUID
    name: str
    email: str
    contact_name: str | None = None
    partner_code: str
    country: str
    data_center: DataCenter


class ProfileChanged(WireModel):
    """``partner_updated`` and ``settings_changed``: which fields changed (not their values),
    and the tenant's name after the change; ``previous_name`` only when ``fields`` holds ``name``."""

    tenant_id: uuid.UUID
    kind: str
    fields: list[str]
    name: str | None = Field(default=None, description="the tenant's name after the change")
    previous_name: str | None = Field(default=None, description="the name before, when the change renamed it")


class AccountAccessed(WireModel):
    """``account_accessed``: a distributor's or partner's user opened a customer account
    (not the account's own users, not the system)."""

    account_id: uuid.UUID
    account_name: str
    owner_id: uuid.UUID


class AccountCreated(WireModel):
    """``account_created``: a customer account was added; identity invites its first administrator
    at the account's email (no password: the confirmation link sets one)."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    owner_kind: str
    name: str
    email: str
    subscription: DefaultSubscription
    account_status: AccountStatus
    trial_ends_at: AwareDatetime | None = None


class AccountSubscribed(WireModel):
    """``account_subscribed``: an account was subscribed to a plan."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    plan: Plan
    reason: Literal["created", "auto_subscription", "subscribe_trials"]
    subscribed_at: AwareDatetime


class TrialExpired(WireModel):
    """``trial_expired``: the clock expired a trial (its owner had no auto-subscription)."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    trial_ends_at: AwareDatetime


class AccountGone(WireModel):
    """``trial_deleted`` (a trial deleted before it was subscribed) and ``account_removed``."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    email: str | None = None
    at: AwareDatetime
    data_removal_approved: bool


class BackupTaskChanged(WireModel):
    """``backup_task_changed``: a backup task was added, activated or paused."""

    task_id: uuid.UUID
    account_id: uuid.UUID
    service: BackupService
    name: str
    state: TaskState
    change: Literal["added", "activated", "paused"]


class BackupRunRecorded(WireModel):
    """One run of a ``backup_runs_recorded`` batch."""

    run_id: uuid.UUID
    task_id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID
    status: RunStatus
    started_at: AwareDatetime
    finished_at: AwareDatetime
    size_bytes: int
    seats: int
    latest: bool = Field(description="false when a newer run of the task was already recorded")


class BackupRunsRecorded(WireModel):
    """The new runs of one ingest call: one event per batch, not per run.

    At thousands of runs a second, an event per run cost every subscriber a delivery, a
    transaction and a dedupe row per run (docs/decisions/0009-one-event-per-ingest-batch.md).
    """

    runs: list[BackupRunRecorded] = Field(min_length=1, max_length=MAX_INGEST_BATCH)


class AccountStatusChanged(WireModel):
    """The account's lifecycle or backup status changed (not the time-driven 'expiring')."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    account_status: AccountStatus
    previous_account_status: AccountStatus
    backup_status: BackupStatus
    previous_backup_status: BackupStatus
    size_bytes: int
    seats: int


class TenantDeleted(WireModel):
    """``tenant_deleted``: an empty distributor was undone (an operator's compensation)."""

    tenant_id: uuid.UUID
    kind: str
    name: str


class RunListQuery(WireModel):
    """Runs of a subtree finished within a period (notify's reports), oldest first."""

    tenant_id: uuid.UUID
    finished_from: AwareDatetime
    finished_to: AwareDatetime
    page: Page = 1
    page_size: PageSize = 200


class RunListRow(WireModel):
    run_id: uuid.UUID
    task_id: uuid.UUID
    task_name: str
    service: str
    account_id: uuid.UUID
    account_name: str
    owner_id: uuid.UUID
    status: str
    started_at: AwareDatetime
    finished_at: AwareDatetime
    size_bytes: int = 0
    seats: int = 0


class RunListPage(WireModel):
    items: list[RunListRow]
    page: int
    page_size: int
    total: int
