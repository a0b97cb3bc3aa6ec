"""Which payload model each event type carries: ``EVENT_PAYLOADS[TenancyEvent.ACCOUNT_CREATED]``.

The models live beside the rest of each service's contract (``contracts.identity_events``,
the "event payloads" sections of ``contracts.tenancy``, ``billing``, ``notify`` and ``audit``).
gateway/asyncapi.py builds the AsyncAPI document from this map; tests check that every
declared event type is in it and that real events validate against it.

The models forbid unknown fields, so the published schema is strict for the producer (a
field the catalogue does not name fails the contract test). Consumers should still ignore
fields they do not know (docs/events.md "Versioning").
"""

from __future__ import annotations

from enum import StrEnum

from contracts import identity_events as identity
from contracts.audit import AuditExported, AuditPurged
from contracts.base import WireModel
from contracts.billing import (
    AccountBillingChanged,
    BillingDetailsChanged,
    BillingMethodChosen,
    CardChanged,
    InvoiceIssued,
    PaymentFailed,
    PaymentReceived,
)
from contracts.events import AuditEvent, BillingEvent, EngineEvent, IdentityEvent, NotifyEvent, TenancyEvent
from contracts.identity import SessionsRevoked
from contracts.notify import (
    EndpointDisabled,
    IntegrationChanged,
    IntegrationSwitched,
    MailDelivery,
    NotificationSettingsChanged,
    RecipientChanged,
    ReportSent,
)
from contracts.site_content import SiteContentChanged
from contracts.tenancy import (
    AccountAccessed,
    AccountCreated,
    AccountGone,
    AccountStatusChanged,
    AccountSubscribed,
    BackupRunsRecorded,
    BackupTaskChanged,
    EngineRunsCompleted,
    PartnerCreated,
    ProfileChanged,
    TenantCreated,
    TenantDeleted,
    TrialExpired,
)

EVENT_PAYLOADS: dict[StrEnum, type[WireModel]] = {
    IdentityEvent.OPERATOR_BOOTSTRAPPED: identity.OperatorBootstrapped,
    IdentityEvent.SIGNED_IN: identity.SignedIn,
    IdentityEvent.SIGN_IN_FAILED: identity.SignInFailed,
    IdentityEvent.SIGNED_OUT: identity.SignedOut,
    IdentityEvent.SESSIONS_REVOKED: SessionsRevoked,
    IdentityEvent.USER_CREATED: identity.UserCreated,
    IdentityEvent.ADMINISTRATOR_NOT_INVITED: identity.AdministratorNotInvited,
    IdentityEvent.USER_UPDATED: identity.UserUpdated,
    IdentityEvent.USER_DELETED: identity.UserDeleted,
    IdentityEvent.EMAIL_CONFIRMED: identity.EmailConfirmed,
    IdentityEvent.CONFIRMATION_SENT: identity.ConfirmationSent,
    IdentityEvent.PERMISSIONS_CHANGED: identity.PermissionsChanged,
    IdentityEvent.PASSWORD_CHANGED: identity.PasswordChanged,
    IdentityEvent.PASSWORD_RESET_REQUESTED: identity.PasswordResetRequested,
    IdentityEvent.PASSWORD_RESET: identity.PasswordReset,
    IdentityEvent.TWO_FACTOR_ENABLED: identity.TwoFactorEnabled,
    IdentityEvent.TWO_FACTOR_DISABLED: identity.TwoFactorDisabled,
    IdentityEvent.RECOVERY_CODE_USED: identity.RecoveryCodeUsed,
    IdentityEvent.IP_RESTRICTIONS_CHANGED: identity.IpRestrictionsChanged,
    IdentityEvent.PASSWORD_POLICY_CHANGED: identity.PasswordPolicyChanged,
    IdentityEvent.ENGINE_KEY_CREATED: identity.EngineKeyIssued,
    TenancyEvent.TENANT_CREATED: TenantCreated,
    TenancyEvent.TENANT_DELETED: TenantDeleted,
    TenancyEvent.PARTNER_CREATED: PartnerCreated,
    TenancyEvent.PARTNER_UPDATED: ProfileChanged,
    TenancyEvent.SETTINGS_CHANGED: ProfileChanged,
    TenancyEvent.ACCOUNT_CREATED: AccountCreated,
    TenancyEvent.ACCOUNT_SUBSCRIBED: AccountSubscribed,
    TenancyEvent.TRIAL_EXPIRED: TrialExpired,
    TenancyEvent.TRIAL_DELETED: AccountGone,
    TenancyEvent.ACCOUNT_REMOVED: AccountGone,
    TenancyEvent.ACCOUNT_STATUS_CHANGED: AccountStatusChanged,
    TenancyEvent.BACKUP_TASK_CHANGED: BackupTaskChanged,
    TenancyEvent.BACKUP_RUNS_RECORDED: BackupRunsRecorded,
    TenancyEvent.ACCOUNT_ACCESSED: AccountAccessed,
    TenancyEvent.SITE_CONTENT_CHANGED: SiteContentChanged,
    BillingEvent.BILLING_METHOD_CHOSEN: BillingMethodChosen,
    BillingEvent.BILLING_DETAILS_CHANGED: BillingDetailsChanged,
    BillingEvent.CARD_ADDED: CardChanged,
    BillingEvent.CARD_ACTIVATED: CardChanged,
    BillingEvent.CARD_DELETED: CardChanged,
    BillingEvent.INVOICE_ISSUED: InvoiceIssued,
    BillingEvent.PAYMENT_RECEIVED: PaymentReceived,
    BillingEvent.PAYMENT_FAILED: PaymentFailed,
    BillingEvent.ACCOUNT_BILLING_CHANGED: AccountBillingChanged,
    NotifyEvent.MAIL_SENT: MailDelivery,
    NotifyEvent.MAIL_FAILED: MailDelivery,
    NotifyEvent.RECIPIENT_ADDED: RecipientChanged,
    NotifyEvent.RECIPIENT_CHANGED: RecipientChanged,
    NotifyEvent.RECIPIENT_REMOVED: RecipientChanged,
    NotifyEvent.NOTIFICATION_SETTINGS_CHANGED: NotificationSettingsChanged,
    NotifyEvent.REPORT_SENT: ReportSent,
    NotifyEvent.INTEGRATION_ENABLED: IntegrationSwitched,
    NotifyEvent.INTEGRATION_DISABLED: IntegrationSwitched,
    NotifyEvent.INTEGRATION_CHANGED: IntegrationChanged,
    NotifyEvent.ENDPOINT_DISABLED: EndpointDisabled,
    AuditEvent.AUDIT_EXPORTED: AuditExported,
    AuditEvent.AUDIT_PURGED: AuditPurged,
    EngineEvent.BACKUP_RUN_COMPLETED: EngineRunsCompleted,
}

# Messages published without the envelope: the backup engine's own format (docs/events.md).
UNENVELOPED: frozenset[StrEnum] = frozenset({EngineEvent.BACKUP_RUN_COMPLETED})
