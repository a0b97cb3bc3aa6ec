"""Every contract model survives the trip through kombu's JSON, and errors come back typed."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from kombu.serialization import dumps, loads
from nameko.exceptions import deserialize, serialize
from pydantic import ValidationError

import contracts
import servicekit.rpc  # noqa: F401  (registers the boundary errors)
from contracts import identity_events
from contracts.audit import (
    Activity,
    AuditEntryView,
    AuditExported,
    AuditFilters,
    AuditPage,
    AuditPurged,
    AuditQuery,
    AuditStatus,
    ChainBreak,
    ExportPage,
    ExportPageRequest,
    VerifyReport,
)
from contracts.base import WireModel
from contracts.billing import (
    AccountAmount,
    AccountAmountPage,
    AccountAmountRequest,
    AccountBillingChanged,
    AccountBillingPage,
    AccountBillingRow,
    BillingDetails,
    BillingDetailsChanged,
    BillingDetailsView,
    BillingFactsReply,
    BillingFactsRequest,
    BillingFilterReply,
    BillingFilterRequest,
    BillingMethodChosen,
    BillingMethodRequest,
    BillingMethodView,
    BillingRunReply,
    BillingRunRequest,
    CardAddRequest,
    CardChanged,
    CardDataGuard,
    CardList,
    CardView,
    DocumentReply,
    DocumentRequest,
    HistoryPage,
    HistoryQuery,
    HistoryRow,
    InvoiceIssued,
    OwnerAmountPage,
    OwnerPageRequest,
    OwnerRollup,
    PayInvoiceRequest,
    PaymentEvent,
    PaymentFailed,
    PaymentReceived,
    PaymentView,
    RecordPaymentRequest,
    RollupList,
    RollupQuery,
    StatusQuery,
)
from contracts.context import Caller
from contracts.envelope import Actor, EventEnvelope
from contracts.errors import BOUNDARY_ERRORS, Throttled, ValidationFailed
from contracts.health import HealthReply
from contracts.identity import (
    ChangePasswordRequest,
    ConfirmEmailRequest,
    CreateUserRequest,
    EmailLinkView,
    EngineIdentity,
    EngineKeyCreated,
    EngineKeyRequest,
    IpEntryRequest,
    IpEntryView,
    IpRestrictionsView,
    PasswordPolicyView,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    Principal,
    ResendConfirmationRequest,
    SessionsRevoked,
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
    UpdateUserRequest,
    UserPage,
    UserView,
)
from contracts.learning import CourseList, CourseProgressRequest, CourseView
from contracts.notify import (
    BackupRadarUpdate,
    BackupRadarView,
    DeliveryListQuery,
    DeliveryPage,
    DeliveryView,
    EndpointDisabled,
    IntegrationChanged,
    IntegrationSwitched,
    MailDelivery,
    NotificationSettings,
    NotificationSettingsChanged,
    RecipientChanged,
    RecipientListQuery,
    RecipientPage,
    RecipientRequest,
    RecipientUpdate,
    RecipientView,
    ReportCsv,
    ReportSent,
    SendMailReply,
    SendMailRequest,
)
from contracts.site_content import (
    PublishedLink,
    SiteContent,
    SiteContentChanged,
    SiteContentView,
    SupportEmail,
    SupportPhone,
)
from contracts.tenancy import (
    AccountAccessed,
    AccountCounters,
    AccountCreated,
    AccountCreateRequest,
    AccountGone,
    AccountListQuery,
    AccountPage,
    AccountPick,
    AccountPickPage,
    AccountRow,
    AccountSearchQuery,
    AccountStatusChanged,
    AccountSubscribed,
    AccountView,
    BackupCounters,
    BackupRunRecorded,
    BackupRunReport,
    BackupRunsRecorded,
    BackupRunView,
    BackupTaskChanged,
    BackupTaskRequest,
    BackupTaskView,
    DistributorCreateRequest,
    EngineRunsCompleted,
    IdList,
    IngestRejection,
    IngestReply,
    NameLookupRequest,
    PartnerCreated,
    PartnerCreateRequest,
    PartnerListQuery,
    PartnerPage,
    PartnerRow,
    ProfileChanged,
    RemoveAccountRequest,
    RunListPage,
    RunListQuery,
    RunListRow,
    SubscribeTrialsReply,
    SubscribeTrialsRequest,
    TenantCreated,
    TenantDeleted,
    TenantName,
    TenantNameList,
    TenantProfile,
    TenantProfileUpdate,
    TrialCounters,
    TrialExpired,
    TrialExpiryReply,
    TrialExpiryRequest,
)

USER = UserView(
    id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind="partner", email="u@example.com", display_name="U",
    credential_type="password", role="custom", permissions=["view_dashboard"],
    accessible_accounts=[uuid.uuid4()], email_confirmed=True, two_factor_enabled=False,
    created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
)
ENTRY = IpEntryView(id=uuid.uuid4(), description="office", addresses="203.0.113.7, 2001:db8::1")
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 1, 2, 40, tzinfo=UTC)
RUN = BackupRunView(run_id=uuid.uuid4(), task_id=uuid.uuid4(), status="partial", started_at=T0, finished_at=T1,
                    size_bytes=5 * 2**30, seats=42)
TASK = BackupTaskView(id=RUN.task_id, account_id=uuid.uuid4(), service="exchange", name="Mailboxes", state="active",
                      created_at=T0, activated_at=T0, last_run=RUN, runs=3)
PARTNER_ROW = PartnerRow(id=uuid.uuid4(), name="Contoso IT", email="msp@contoso.example", partner_code="P-7K2M9Q",
                         size_bytes=10**12, seats=300, accounts=12, task_status="failures")
COUNTERS = AccountCounters(trial=TrialCounters(in_progress=3, expiring=1, expired=2),
                           backup=BackupCounters(no_backup=1, successful=4, partially_failed=0, failed=1))
ACCOUNT_ROW = AccountRow(id=uuid.uuid4(), owner_id=uuid.uuid4(), name="Coho Winery", email="it@coho.example",
                         account_status="trial_expiring", backup_status="successful", trial_ends_at=T1,
                         size_bytes=2**30, seats=10, tasks=2)

AUDIT_FILTERS = AuditFilters(date_from=datetime(2026, 1, 1, tzinfo=UTC), date_to=datetime(2026, 2, 1, tzinfo=UTC),
                             activity=[Activity.SIGN_IN, Activity.PERMISSIONS_CHANGED], status=AuditStatus.FAILED,
                             account="Coho", performed_by="dana@northwind.example")
AUDIT_ENTRY = AuditEntryView(id=uuid.uuid4(), occurred_at=datetime(2026, 11, 26, 10, 3, 6, 512345, tzinfo=UTC),
                             activity=Activity.SIGN_IN, status=AuditStatus.COMPLETED, account_id=uuid.uuid4(),
                             account_name="Coho Winery", performed_by="dana@northwind.example", ip="89.138.0.116",
                             user_agent="Mozilla/5.0", description="Native sign in (OK) Chrome from ip 89.138.0.116",
                             tenant_id=uuid.uuid4(), correlation_id="req-1")
AUDIT_BREAK = ChainBreak(tenant_id=uuid.uuid4(), seq=7, entry_id=uuid.uuid4(), problem="hash_mismatch",
                         message="entry 7 was changed after it was written")
RECIPIENT = RecipientView(id=uuid.uuid4(), tenant_id=uuid.uuid4(), email="ops@contoso.example", display_name="Ops",
                          types=["summary_report", "exceptions_notification"], created_at=T0, updated_at=T1)
DELIVERY = DeliveryView(id=uuid.uuid4(), webhook_id="msg_" + "a" * 32, event_type="backup.result", status="pending",
                        attempts=2, created_at=T0, next_attempt_at=T1, last_attempt_at=T0, last_status_code=500,
                        last_error="HTTP 500")

BILLING_DETAILS = BillingDetails(
    title="Ms", first_name="Dana", last_name="Reyes", billing_email="ap@northwind.example", company="Northwind",
    company_tax_id="GB123456789", address_line1="1 Harbour St", address_line2="Floor 2", city="Leeds",
    state="West Yorkshire", zip="LS1 4AP", country="GB", phone="+44 113 496 0000", currency="GBP", payment_day=5,
    invoice_delivery="attachment",
)
CARD = CardView(id=uuid.uuid4(), brand="Visa", last4="4242", exp_month=12, exp_year=2034, active=True, created_at=T0)
BILLING_ROW = AccountBillingRow(account_id=uuid.uuid4(), account_name="Alpine Dental", email="it@alpine.example",
                                partner_id=uuid.uuid4(), billing_status="due", subscription="monthly",
                                renewal_date=date(2027, 1, 1), amount_due=Decimal("45.00"), currency="USD",
                                next_payment_forecast=Decimal("47.25"), partner_name="Contoso IT")
AMOUNT = AccountAmount(account_id=uuid.uuid4(), billing_status="overdue", amount_due=Decimal("45.00"), currency="USD")
TENANT_NAME = TenantName(id=uuid.uuid4(), kind="account", name="Alpine Dental", email="it@alpine.example",
                         parent_id=uuid.uuid4())
ROLLUP = OwnerRollup(owner_id=uuid.uuid4(), direct=False, amount_owed=Decimal("53.75"), currency="USD",
                     billing_status="with_exceptions", label="With exceptions")
HISTORY_ROW = HistoryRow(reference="INV-2026-000123", account_name="Consolidated bill", issue_date=date(2026, 12, 1),
                         due_date=date(2026, 12, 31), amount=Decimal("64.81"), currency="USD", consolidated=True,
                         period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), paid=False,
                         document="invoice")

RUN_ROW = RunListRow(run_id=uuid.uuid4(), task_id=uuid.uuid4(), task_name="Mail", service="exchange",
                     account_id=uuid.uuid4(), account_name="Alpine", owner_id=uuid.uuid4(), status="success",
                     started_at=datetime(2026, 11, 1, tzinfo=UTC), finished_at=datetime(2026, 11, 1, 1, tzinfo=UTC),
                     size_bytes=10, seats=2)

COURSE = CourseView(
    id=uuid.uuid4(), slug="portal-basics", title="Getting started with the portal", summary="Find your way around.",
    category="Basics", duration_minutes=20, progress_percent=100, completed_at=datetime(2026, 11, 26, tzinfo=UTC),
    updated_at=datetime(2026, 11, 26, tzinfo=UTC),
)

SUPPORT_PHONE = SupportPhone(region="UK", phone="+44 20 7946 0958")
SUPPORT_EMAIL = SupportEmail(purpose="Technical support", email="support@portal.example")
PUBLISHED_LINK = PublishedLink(title="Price list", url="https://portal.example/price-list.pdf",
                               description="Prices per seat and service")
SITE_CONTENT = SiteContent(support_phones=[SUPPORT_PHONE], support_emails=[SUPPORT_EMAIL], support_hours="Weekdays",
                           partner_zone=[PUBLISHED_LINK], resources=[PUBLISHED_LINK])

EXAMPLES: dict[type[WireModel], WireModel] = {
    SupportPhone: SUPPORT_PHONE,
    SupportEmail: SUPPORT_EMAIL,
    PublishedLink: PUBLISHED_LINK,
    SiteContent: SITE_CONTENT,
    SiteContentView: SiteContentView(**SITE_CONTENT.model_dump(), version=3,
                                     updated_at=datetime(2026, 12, 3, 17, 30, tzinfo=UTC)),
    SiteContentChanged: SiteContentChanged(operator_id=uuid.uuid4(), version=3, sections=["partner_zone"]),
    AuditFilters: AUDIT_FILTERS,
    AuditQuery: AuditQuery(filters=AUDIT_FILTERS, page=2, page_size=50, cursor="MjAyNi0xMS0yNlQxMDowMHwxMg=="),
    AuditEntryView: AUDIT_ENTRY,
    AuditPage: AuditPage(items=[AUDIT_ENTRY], page=1, page_size=25, total=10_000, total_capped=True,
                         next_cursor="MjAyNi0xMS0yNlQxMDowMHwxMg=="),
    ExportPageRequest: ExportPageRequest(export_id=uuid.uuid4(), filters=AUDIT_FILTERS, limit=5000),
    ExportPage: ExportPage(csv="Date (UTC),Activity\r\n2026-11-26 10:00:00,Sign in\r\n", rows=1),
    ChainBreak: AUDIT_BREAK,
    VerifyReport: VerifyReport(tenants_checked=3, entries_checked=120, breaks=[AUDIT_BREAK]),
    AuditExported: AuditExported(export_id=uuid.uuid4(), tenant_id=uuid.uuid4(), filters=AUDIT_FILTERS),
    AuditPurged: AuditPurged(tenant_id=uuid.uuid4(), removed=1200, older_than=T1, anchor_seq=1200, anchor_hash="a" * 64),
    Actor: Actor(user_id=uuid.uuid4(), email="a@example.com", ip="203.0.113.7", user_agent="curl/8"),
    EventEnvelope: EventEnvelope(
        type="user_created",
        source="identity",
        occurred_at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        tenant_id=uuid.uuid4(),
        actor=Actor(email="a@example.com"),
        correlation_id="req-1",
        payload={"user_id": str(uuid.uuid4()), "amount": "12.50"},
    ),
    Caller: Caller(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), role="administrator", ip="::1"),
    HealthReply: HealthReply(service="identity", status="ok", database="postgresql", schema_revision="0001"),
    CourseView: COURSE,
    CourseList: CourseList(items=[COURSE]),
    CourseProgressRequest: CourseProgressRequest(percent=60),
    SendMailRequest: SendMailRequest(
        template="email_confirmation", to="new.user@example.com", context={"confirm_url": "http://x/y"},
        idempotency_key="confirm:1", tenant_id=uuid.uuid4(),
    ),
    SendMailReply: SendMailReply(message_id=uuid.uuid4(), status="queued"),
    RecipientRequest: RecipientRequest(email="ops@contoso.example", display_name="Ops",
                                       types=["trial_accounts_report", "trial_accounts_report"]),
    RecipientUpdate: RecipientUpdate(types=["recovery_notification"]),
    RecipientView: RECIPIENT,
    RecipientListQuery: RecipientListQuery(type="summary_report", page=2, page_size=50),
    RecipientPage: RecipientPage(items=[RECIPIENT], page=1, page_size=25, total=1),
    NotificationSettings: NotificationSettings(frequency="monthly", csv_delivery="link"),
    ReportCsv: ReportCsv(filename="summary-report-2026-11-01.csv", content="Partner,Account\r\n"),
    BackupRadarView: BackupRadarView(distributor_id=uuid.uuid4(), enabled=True, status="active",
                                     url="https://radar.example/hooks", report_email="in@radar.example",
                                     secret="whsec_" + "A" * 44, secret_set=True, updated_at=T1),
    BackupRadarUpdate: BackupRadarUpdate(url="https://radar.example/hooks", rotate_secret=True),
    DeliveryListQuery: DeliveryListQuery(status="failed", distributor_id=uuid.uuid4()),
    DeliveryView: DELIVERY,
    DeliveryPage: DeliveryPage(items=[DELIVERY], page=1, page_size=25, total=1),
    RecipientChanged: RecipientChanged(recipient_id=RECIPIENT.id, email=RECIPIENT.email, types=RECIPIENT.types,
                                       fields=["types"]),
    IntegrationChanged: IntegrationChanged(distributor_id=uuid.uuid4(), fields=["url", "secret"]),
    IntegrationSwitched: IntegrationSwitched(distributor_id=uuid.uuid4()),
    EndpointDisabled: EndpointDisabled(distributor_id=uuid.uuid4(), reason="the endpoint answered 410 Gone"),
    MailDelivery: MailDelivery(message_id=uuid.uuid4(), template="notice", attempts=1),
    NotificationSettingsChanged: NotificationSettingsChanged(frequency="daily", csv_delivery="attachment"),
    TenantCreated: TenantCreated(tenant_id=uuid.uuid4(), parent_id=uuid.uuid4(), kind="partner", name="Contoso IT",
                                 code="P-7K2M9Q"),
    EngineRunsCompleted: EngineRunsCompleted(runs=[BackupRunReport(run_id=uuid.uuid4(), task_id=uuid.uuid4(),
                                                                   status="success", started_at=T0, finished_at=T1,
                                                                   size_bytes=1024, seats=3)]),
    ReportSent: ReportSent(report_id=uuid.uuid4(), report_type="summary_report", period_start=T0, period_end=T1,
                           recipients=2),
    SignInRequest: SignInRequest(email="u@example.com", password="pw", totp_code="123456"),
    UserView: USER,
    SignInReply: SignInReply(token="t" * 43, expires_at=datetime(2026, 1, 2, tzinfo=UTC), user=USER,
                             password_expired=False),
    Principal: Principal(session_id=uuid.uuid4(), user=USER, password_expired=True),
    SessionsRevoked: SessionsRevoked(user_id=uuid.uuid4(), session_ids=[uuid.uuid4()], reason="signed_out"),
    CreateUserRequest: CreateUserRequest(email="n@example.com", role="custom", permissions=["add_accounts"],
                                         accessible_accounts="all"),
    UpdateUserRequest: UpdateUserRequest(role="administrator", accessible_accounts=[uuid.uuid4()]),
    ConfirmEmailRequest: ConfirmEmailRequest(token="x" * 43, password="a long passphrase"),
    EmailLinkView: EmailLinkView(state="usable", email="ann@example.com", needs_password=True),
    ResendConfirmationRequest: ResendConfirmationRequest(email="ann@example.com"),
    PasswordResetRequest: PasswordResetRequest(email="ann@example.com"),
    PasswordResetConfirmRequest: PasswordResetConfirmRequest(token="x" * 43, new_password="a long passphrase"),
    ChangePasswordRequest: ChangePasswordRequest(current_password="a", new_password="b", confirm_password="b"),
    TwoFactorSetupReply: TwoFactorSetupReply(secret="JBSWY3DPEHPK3PXP", otpauth_uri="otpauth://totp/x"),
    TwoFactorEnableReply: TwoFactorEnableReply(recovery_codes=["abcd-efgh-jkmn"]),
    PasswordPolicyView: PasswordPolicyView(expiration_enabled=True, max_age_days=60),
    IpEntryRequest: IpEntryRequest(description="office", range_from="198.51.100.1", range_to="198.51.100.9"),
    IpEntryView: ENTRY,
    IpRestrictionsView: IpRestrictionsView(enabled=True, your_ip="203.0.113.7", entries=[ENTRY]),
    UserPage: UserPage(items=[USER], page=1, page_size=25, total=1),
    EngineKeyRequest: EngineKeyRequest(name="engine eu-1"),
    EngineKeyCreated: EngineKeyCreated(id=uuid.uuid4(), name="engine eu-1", key="bre_" + "k" * 43,
                                       created_at=datetime(2026, 1, 1, tzinfo=UTC)),
    EngineIdentity: EngineIdentity(key_id=uuid.uuid4(), name="engine eu-1"),
    TenantProfile: TenantProfile(
        id=uuid.uuid4(), kind="partner", parent_id=uuid.uuid4(), name="Contoso IT", email="msp@contoso.example",
        partner_code="P-7K2M9Q", contact_name="Dana", country="US", data_center="eu-west-1",
        data_center_label="EU (Ireland)", address="1 Main St", phone="+1 555 0100",
        default_subscription="trial_auto_annual", created_at=T0,
    ),
    PartnerCreateRequest: PartnerCreateRequest(name="Contoso IT", email="msp@contoso.example", contact_name="Dana",
                                               country="gb", data_center="customer_aws"),
    DistributorCreateRequest: DistributorCreateRequest(name="Northwind", email="d@northwind.example", country="US",
                                                       data_center="us-east-1"),
    TenantProfileUpdate: TenantProfileUpdate(phone="+44 20 7946 0000", default_subscription="subscribe_monthly"),
    PartnerListQuery: PartnerListQuery(search="contoso", task_status="failures", ids=[uuid.uuid4()], sort="-size",
                                       page=2, page_size=50),
    PartnerRow: PARTNER_ROW,
    PartnerPage: PartnerPage(items=[PARTNER_ROW], page=1, page_size=25, total=1, total_partners=3,
                             direct=PARTNER_ROW.model_copy(update={"partner_code": None})),
    AccountCreateRequest: AccountCreateRequest(name="Coho Winery", email="it@coho.example", partner_id=uuid.uuid4(),
                                               subscription="trial_auto_monthly"),
    BackupRunView: RUN,
    RunListQuery: RunListQuery(tenant_id=uuid.uuid4(), finished_from=datetime(2026, 11, 1, tzinfo=UTC),
                               finished_to=datetime(2026, 11, 2, tzinfo=UTC)),
    RunListRow: RUN_ROW,
    RunListPage: RunListPage(items=[RUN_ROW], page=1, page_size=200, total=1),
    BackupTaskView: TASK,
    AccountView: AccountView(
        id=TASK.account_id, owner_id=uuid.uuid4(), owner_kind="partner", partner_id=uuid.uuid4(), name="Coho Winery",
        email="it@coho.example", country="US", data_center="us-east-1", account_status="annual_subscribed",
        backup_status="partially_failed", subscription="subscribe_annual", plan="annual", subscribed_at=T0,
        size_bytes=RUN.size_bytes, seats=42, tasks=[TASK], created_at=T0,
    ),
    AccountRow: ACCOUNT_ROW,
    AccountSearchQuery: AccountSearchQuery(search="light", account_status="trial_started", page_size=50),
    AccountPick: AccountPick(id=uuid.uuid4(), name="Lighthouse Dental", email="it@dental.example",
                             account_status="trial_started", owner_id=uuid.uuid4(), owner_name="Harbour MSP"),
    AccountPickPage: AccountPickPage(items=[], page=1, page_size=25, total=0),
    AccountListQuery: AccountListQuery(partner_id=uuid.uuid4(), account_status="trial_expired",
                                       backup_status="failed", search="coho"),
    TrialCounters: COUNTERS.trial,
    BackupCounters: COUNTERS.backup,
    AccountCounters: COUNTERS,
    AccountPage: AccountPage(items=[ACCOUNT_ROW], page=1, page_size=25, total=1, total_accounts=7, counters=COUNTERS),
    SubscribeTrialsRequest: SubscribeTrialsRequest(plan="annual", partner_id=uuid.uuid4()),
    SubscribeTrialsReply: SubscribeTrialsReply(changed=3),
    RemoveAccountRequest: RemoveAccountRequest(approve_data_removal=True),
    BackupTaskRequest: BackupTaskRequest(service="google_drive", name="Shared drives"),
    BackupRunReport: BackupRunReport(run_id=RUN.run_id, task_id=RUN.task_id, status="success", started_at=T0,
                                     finished_at=T1, size_bytes=123, seats=4),
    IngestRejection: IngestRejection(index=2, run_id=uuid.uuid4(), task_id=uuid.uuid4(), code="not_found",
                                     message="unknown task"),
    IngestReply: IngestReply(accepted=10, duplicates=1, rejected=[]),
    TrialExpiryRequest: TrialExpiryRequest(as_of=T1),
    TrialExpiryReply: TrialExpiryReply(as_of=T1, expired=2, auto_subscribed=1),
    PartnerCreated: PartnerCreated(partner_id=uuid.uuid4(), parent_id=uuid.uuid4(), name="Contoso IT",
                                   email="msp@contoso.example", contact_name=None, partner_code="P-7K2M9Q",
                                   country="US", data_center="us-east-1"),
    ProfileChanged: ProfileChanged(tenant_id=uuid.uuid4(), kind="partner", fields=["name", "phone"],
                                   name="Contoso Cloud", previous_name="Contoso IT"),
    AccountAccessed: AccountAccessed(account_id=uuid.uuid4(), account_name="Coho Winery", owner_id=uuid.uuid4()),
    AccountCreated: AccountCreated(account_id=uuid.uuid4(), owner_id=uuid.uuid4(), owner_kind="distributor",
                                   name="Blue Yonder", email="it@blueyonder.example", subscription="trial_expiring",
                                   account_status="trial_started", trial_ends_at=T1),
    AccountSubscribed: AccountSubscribed(account_id=uuid.uuid4(), owner_id=uuid.uuid4(), plan="monthly",
                                         reason="auto_subscription", subscribed_at=T1),
    TrialExpired: TrialExpired(account_id=uuid.uuid4(), owner_id=uuid.uuid4(), trial_ends_at=T1),
    AccountGone: AccountGone(account_id=uuid.uuid4(), owner_id=uuid.uuid4(), name="Coho Winery", email=None, at=T1,
                             data_removal_approved=True),
    BackupTaskChanged: BackupTaskChanged(task_id=uuid.uuid4(), account_id=uuid.uuid4(), service="box", name="Box",
                                         state="paused", change="paused"),
    BackupRunRecorded: BackupRunRecorded(run_id=RUN.run_id, task_id=RUN.task_id, account_id=uuid.uuid4(),
                                         owner_id=uuid.uuid4(), status="failure", started_at=T0, finished_at=T1,
                                         size_bytes=0, seats=0, latest=True),
    BackupRunsRecorded: BackupRunsRecorded(runs=[BackupRunRecorded(
        run_id=RUN.run_id, task_id=RUN.task_id, account_id=uuid.uuid4(), owner_id=uuid.uuid4(), status="success",
        started_at=T0, finished_at=T1, size_bytes=2**30, seats=12, latest=True)]),
    AccountStatusChanged: AccountStatusChanged(
        account_id=uuid.uuid4(), owner_id=uuid.uuid4(), account_status="trial_started",
        previous_account_status="trial_started", backup_status="failed", previous_backup_status="no_backup",
        size_bytes=0, seats=0,
    ),
    TenantDeleted: TenantDeleted(tenant_id=uuid.uuid4(), kind="distributor", name="Northwind"),
    # ---- billing ----
    CardDataGuard: CardDataGuard(),
    BillingMethodRequest: BillingMethodRequest(method="credit_card", distributor_id=uuid.uuid4()),
    BillingMethodView: BillingMethodView(distributor_id=uuid.uuid4(), method="invoice", chosen_at=T0,
                                         can_change=False),
    BillingDetails: BILLING_DETAILS,
    BillingDetailsView: BillingDetailsView(distributor_id=uuid.uuid4(), details=BILLING_DETAILS, updated_at=T0),
    CardAddRequest: CardAddRequest(token="tok_visa", activate=True),
    CardView: CARD,
    CardList: CardList(items=[CARD]),
    StatusQuery: StatusQuery(partner_id=uuid.uuid4(), billing_status="overdue", as_of=date(2027, 1, 1), page=2),
    AccountBillingRow: BILLING_ROW,
    AccountBillingPage: AccountBillingPage(items=[BILLING_ROW], page=1, page_size=25, total=1),
    RollupQuery: RollupQuery(owner_ids=[uuid.uuid4()], as_of=date(2026, 12, 1)),
    OwnerRollup: ROLLUP,
    RollupList: RollupList(items=[ROLLUP]),
    BillingFilterRequest: BillingFilterRequest(level="accounts", account_status="due", owner_id=uuid.uuid4()),
    BillingFilterReply: BillingFilterReply(ids=[uuid.uuid4()], includes_direct=True),
    OwnerPageRequest: OwnerPageRequest(ids=[uuid.uuid4()], sort="amount", owner_status="with_exceptions", page=2),
    OwnerAmountPage: OwnerAmountPage(items=[ROLLUP], direct=ROLLUP, page=1, page_size=25, total=1),
    AccountAmountRequest: AccountAmountRequest(ids=[uuid.uuid4()], sort="-amount", account_status="due",
                                               as_of=date(2027, 1, 1)),
    AccountAmount: AMOUNT,
    AccountAmountPage: AccountAmountPage(items=[AMOUNT], page=1, page_size=25, total=1),
    IdList: IdList(ids=[uuid.uuid4()], total=1),
    NameLookupRequest: NameLookupRequest(ids=[uuid.uuid4(), uuid.uuid4()]),
    TenantName: TENANT_NAME,
    TenantNameList: TenantNameList(items=[TENANT_NAME]),
    HistoryQuery: HistoryQuery(page=3, page_size=50),
    HistoryRow: HISTORY_ROW,
    HistoryPage: HistoryPage(items=[HISTORY_ROW], page=1, page_size=25, total=1),
    DocumentRequest: DocumentRequest(reference="INV-2026-000123", format="csv"),
    DocumentReply: DocumentReply(filename="INV-2026-000123.pdf", content_type="application/pdf",
                                 content_base64="JVBERi0xLjQ="),
    BillingRunRequest: BillingRunRequest(as_of=date(2026, 12, 1), distributor_id=uuid.uuid4()),
    BillingRunReply: BillingRunReply(as_of=date(2026, 12, 1), period_start=date(2026, 11, 1),
                                     period_end=date(2026, 11, 30), consolidated_invoices=3, annual_invoices=1,
                                     already_billed=0, accounts_billed=42, charges_succeeded=2, charges_failed=1,
                                     references=["INV-2026-000123"]),
    PayInvoiceRequest: PayInvoiceRequest(card_id=uuid.uuid4()),
    RecordPaymentRequest: RecordPaymentRequest(reference="INV-2026-000123", method="bank_transfer",
                                               amount=Decimal("1080.00"), currency="USD", paid_on=date(2026, 12, 3),
                                               external_reference="BANK 2026/118"),
    PaymentView: PaymentView(id=uuid.uuid4(), reference="INV-2026-000123", method="card", amount=Decimal("54.43"),
                             currency="USD", status="failed", failure_code="card_declined",
                             failure_message="Your card was declined.", created_at=T0, settled_at=T1),
    BillingMethodChosen: BillingMethodChosen(distributor_id=uuid.uuid4(), method="credit_card",
                                             previous_method="invoice", by_operator=True),
    BillingDetailsChanged: BillingDetailsChanged(distributor_id=uuid.uuid4(), fields=["city", "zip"]),
    CardChanged: CardChanged(distributor_id=uuid.uuid4(), card_id=CARD.id, brand="Visa", active=True),
    InvoiceIssued: InvoiceIssued(invoice_id=uuid.uuid4(), reference="INV-2026-000123", distributor_id=uuid.uuid4(),
                                 consolidated=True, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                                 issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31),
                                 amount=Decimal("64.81"), currency="USD", lines=4, method="invoice"),
    PaymentEvent: PaymentEvent(payment_id=uuid.uuid4(), invoice_id=uuid.uuid4(), reference="INV-2026-000123",
                               distributor_id=uuid.uuid4(), method="card", amount=Decimal("1.00"), currency="EUR"),
    BillingFactsRequest: BillingFactsRequest(distributor_id=uuid.uuid4()),
    BillingFactsReply: BillingFactsReply(accounts=3),
    AccountBillingChanged: AccountBillingChanged(account_id=uuid.uuid4(), distributor_id=uuid.uuid4(), version=3,
                                                 bills=2, amount_due=Decimal("64.81"), currency="USD",
                                                 overdue_from=date(2026, 12, 31)),
    PaymentReceived: PaymentReceived(payment_id=uuid.uuid4(), invoice_id=uuid.uuid4(), reference="INV-2026-000123",
                                     distributor_id=uuid.uuid4(), method="paypal", amount=Decimal("64.81"),
                                     currency="USD", paid_at=T1),
    PaymentFailed: PaymentFailed(payment_id=uuid.uuid4(), invoice_id=uuid.uuid4(), reference="INV-2026-000123",
                                 distributor_id=uuid.uuid4(), method="card", amount=Decimal("64.81"),
                                 currency="USD", failure_code="insufficient_funds",
                                 failure_message="Your card has insufficient funds."),
    SsoProviders: SsoProviders(providers=["microsoft", "google"]),
    SsoStartRequest: SsoStartRequest(next="/settings/users"),
    SsoStarted: SsoStarted(authorization_url="https://login.example/authorize?state=s", browser_key="b" * 43),
    SsoCallbackRequest: SsoCallbackRequest(state="s" * 43, code="c" * 40, browser_key="b" * 43),
    SsoSecondFactorRequest: SsoSecondFactorRequest(ticket="t" * 43, totp_code="123456"),
    SsoSignInReply: SsoSignInReply(next="/", second_factor_ticket="t" * 43),
}


_USER = {"user_id": uuid.uuid4(), "email": "ann@example.com"}
EXAMPLES |= {
    identity_events.UserEvent: identity_events.UserEvent(**_USER),
    identity_events.OperatorBootstrapped: identity_events.OperatorBootstrapped(**_USER),
    identity_events.UserCreated: identity_events.UserCreated(**_USER, role="custom", credential_type="password",
                                                             permissions=["add_accounts"], tenant_id=uuid.uuid4(),
                                                             tenant_kind="partner", tenant_name=None),
    identity_events.AdministratorNotInvited: identity_events.AdministratorNotInvited(
        tenant_id=uuid.uuid4(), tenant_kind="account", tenant_name="Coho Winery", email="it@coho.example",
        reason="email_in_use"),
    identity_events.ConfirmationSent: identity_events.ConfirmationSent(**_USER, expires_at=T1),
    identity_events.EmailConfirmed: identity_events.EmailConfirmed(**_USER),
    identity_events.UserUpdated: identity_events.UserUpdated(**_USER, fields=["display_name"]),
    identity_events.PermissionsChanged: identity_events.PermissionsChanged(
        **_USER, role="custom", permissions=["view_settings"], accessible_accounts=[uuid.uuid4()]),
    identity_events.UserDeleted: identity_events.UserDeleted(**_USER),
    identity_events.SignedIn: identity_events.SignedIn(**_USER, method="google", two_factor=True),
    identity_events.SignInFailed: identity_events.SignInFailed(email=None, user_id=None, reason="unknown_user",
                                                               method="microsoft"),
    identity_events.SignedOut: identity_events.SignedOut(user_id=uuid.uuid4(), email=None),
    identity_events.PasswordChanged: identity_events.PasswordChanged(**_USER),
    identity_events.PasswordResetRequested: identity_events.PasswordResetRequested(**_USER, expires_at=T1),
    identity_events.PasswordReset: identity_events.PasswordReset(**_USER),
    identity_events.TwoFactorEnabled: identity_events.TwoFactorEnabled(**_USER),
    identity_events.TwoFactorDisabled: identity_events.TwoFactorDisabled(**_USER),
    identity_events.RecoveryCodeUsed: identity_events.RecoveryCodeUsed(**_USER, remaining=9),
    identity_events.PasswordPolicyChanged: identity_events.PasswordPolicyChanged(expiration_enabled=True,
                                                                                 max_age_days=60),
    identity_events.IpRestrictionsChanged: identity_events.IpRestrictionsChanged(
        change="IP restrictions turned on", enabled=True, entries=2),
    identity_events.EngineKeyIssued: identity_events.EngineKeyIssued(key_id=uuid.uuid4(), name="engine-eu"),
}


def all_contract_models() -> list[type[WireModel]]:
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"contracts.{module.name}")
    found: list[type[WireModel]] = []
    pending = list(WireModel.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("contracts."):
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def kombu_round_trip(data: Any) -> Any:
    content_type, encoding, body = dumps(data, serializer="json")
    return loads(body, content_type, encoding)


def test_every_contract_model_has_an_example():
    missing = {cls.__qualname__ for cls in all_contract_models()} - {cls.__qualname__ for cls in EXAMPLES}
    assert not missing, f"add an example for {sorted(missing)}"


@pytest.mark.parametrize("model", EXAMPLES.values(), ids=lambda m: type(m).__name__)
def test_contract_model_survives_a_kombu_json_round_trip(model: WireModel):
    wire = model.to_wire()

    assert type(model).from_wire(kombu_round_trip(wire)) == model
    assert "__type__" not in str(kombu_round_trip(wire))  # plain JSON, no kombu wrappers


@pytest.mark.parametrize("error_type", BOUNDARY_ERRORS, ids=lambda e: e.__name__)
def test_boundary_error_crosses_rpc_as_the_same_type(error_type):
    error = error_type("it went wrong", {"fields": [{"field": "email", "reason": "already in use"}]})

    back = deserialize(kombu_round_trip(serialize(error)))

    assert type(back) is error_type
    assert back.code == error_type.code
    assert back.message == "it went wrong"
    assert back.details == {"fields": [{"field": "email", "reason": "already in use"}]}


def test_error_details_keep_their_types_across_rpc():
    back = deserialize(kombu_round_trip(serialize(Throttled("slow down", {"retry_after": 8, "strict": True}))))

    assert back.details == {"retry_after": 8, "strict": True}


def test_validation_failed_names_the_field():
    error = ValidationFailed.for_field("email", "must be an email address")

    assert error.details == {"fields": [{"field": "email", "reason": "must be an email address"}]}
    assert error.status == 422


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://portal.example/x", "https://portal.example/a b"])
def test_a_published_link_must_be_a_web_address(url):
    with pytest.raises(ValidationError, match="http"):
        PublishedLink(title="Bad", url=url)
