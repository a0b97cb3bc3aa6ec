"""Contracts of the billing service: method and details, cards, status, history, runs, events.

Money is a ``Decimal`` with a ISO 4217 ``currency`` beside it (a decimal string on the
wire); dates of bills are calendar dates (UTC); moments are timezone-aware UTC.

Card data never enters the portal: the client tokenises the card with the payment
processor and sends the token. Every billing request model refuses anything that looks
like a card number (a Luhn-valid run of 12-19 digits, spaces or dashes allowed between
groups) in any field, and any field named like a card number or a security code
(:class:`CardDataGuard`); the refusal never quotes the value.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.base import SafeText, WireModel
from contracts.dates import SaneDate
from contracts.tenancy import Country, Plan
from contracts.vocabulary import BillingStatus, RollupStatus

# ---- vocabularies --------------------------------------------------------------------------


class BillingMethod(StrEnum):
    CREDIT_CARD = "credit_card"  # one automated consolidated card charge per month
    INVOICE = "invoice"  # one consolidated invoice per month, due in 30 days


ROLLUP_LABELS: dict[RollupStatus, str] = {
    RollupStatus.ON_TRACK: "All bills on track",
    RollupStatus.WITH_EXCEPTIONS: "With exceptions",
}


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"
    BANK_TRANSFER = "bank_transfer"  # only for invoices over USD 1,000 (price book)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # sent to the processor, answer not recorded yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class InvoiceDelivery(StrEnum):
    LINK = "link"
    ATTACHMENT = "attachment"


class InvoiceKind(StrEnum):
    CONSOLIDATED = "consolidated"  # a distributor's monthly accounts, one line each
    ANNUAL = "annual"  # one annual account's year


class SkipReason(StrEnum):
    """Why a billing run billed nothing to a distributor that had something to bill."""

    METHOD_NOT_CHOSEN = "billing_method_not_chosen"  # billed by the first run after it chooses


SKIP_LABELS: dict[SkipReason, str] = {SkipReason.METHOD_NOT_CHOSEN: "billing method not chosen"}


class DocumentFormat(StrEnum):
    PDF = "pdf"
    CSV = "csv"


CONSOLIDATED_BILL = "Consolidated bill"

# ---- the card-data guard -------------------------------------------------------------------------

# Digit groups separated by single spaces or dashes, as people type card numbers.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9])*(?![0-9])")
_CARD_FIELD_NAMES = re.compile(
    r"(^|_)(pan|cvc\d?|cvv\d?|csc|cid|security_?code|card_?(number|no|num|code|verification)|"
    r"cardnumber|primary_account_number)($|_)",
    re.IGNORECASE,
)
# A telephone number in international format (E.164: at most 15 digits after the "+").
_PHONE = re.compile(r"^\s*\+[0-9][0-9 ()./-]*$")
# Ids and dates are not card numbers, whatever digits they happen to hold.
_UUID = re.compile(r"^\s*[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\s*$")
MAX_SCANNED_DEPTH = 8


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """Whether ``text`` holds a Luhn-valid run of 12-19 digits anywhere in it.

    A value written as an international phone number ("+" and at most 15 digits) is not
    taken for one: about one phone number in ten is Luhn-valid by chance.
    """
    if _UUID.match(text) or (_PHONE.match(text) and sum(c.isdigit() for c in text) <= 15):
        return False
    for match in _DIGIT_RUN.finditer(text):
        digits = match.group(0).replace(" ", "").replace("-", "")
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def is_card_field_name(name: str) -> bool:
    normalised = re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower())
    return bool(_CARD_FIELD_NAMES.search(normalised))


def find_card_data(value: Any, path: str = "", depth: int = 0) -> str | None:
    """The dotted path of the first field holding card data, or None. Never the value."""
    if depth > MAX_SCANNED_DEPTH:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_card_field_name(key):
                return where
            found = find_card_data(item, where, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_card_data(item, f"{path}.{index}" if path else str(index), depth + 1)
            if found:
                return found
    elif isinstance(value, str | int) and not isinstance(value, bool) and looks_like_card_number(str(value)):
        return path or "input"
    return None


CARD_DATA_REFUSED = "looks like card data: send the payment processor's token, never a card number or security code"


class CardDataGuard(WireModel):
    """A request model that refuses card numbers and security codes in any field.

    Its validation errors never carry the input (``hide_input_in_errors``): a refused card
    number must not travel on in an error text or a log line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_card_data(cls, data: Any) -> Any:
        """Card-like field names anywhere, and card numbers in fields the model does not have."""
        if isinstance(data, dict):
            for key, value in data.items():
                where = str(key) if is_card_field_name(str(key)) else (
                    None if key in cls.model_fields else find_card_data(value, str(key)))
                if where is not None:
                    # The field name is in the message; the value is not (it never reaches a log).
                    raise ValueError(f"{where}: {CARD_DATA_REFUSED}")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_card_number(cls, value: Any, info: ValidationInfo) -> Any:
        """Card numbers in the model's own fields, reported on the field."""
        where = find_card_data(value, info.field_name or "")
        if where is not None:
            raise ValueError(CARD_DATA_REFUSED if where == info.field_name else f"{where}: {CARD_DATA_REFUSED}")
        return value


# ---- field types -------------------------------------------------------------------------------


CurrencyCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
Text = Annotated[SafeText, Field(min_length=1, max_length=200)]
OptionalText = Annotated[SafeText, Field(max_length=200)]
AddressLine = Annotated[SafeText, Field(max_length=300)]
Phone = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[0-9+()./ -]{3,40}$")]
Zip = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]{1,20}$")]
TaxId = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9 .\-/]{2,40}$")]
Page = Annotated[int, Field(ge=1, le=1_000_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]
Reference = Annotated[str, Field(pattern=r"^INV-[0-9]{4}-[0-9]{6,}$")]

# ---- billing method ---------------------------------------------------------------------------------


class BillingMethodRequest(CardDataGuard):
    method: BillingMethod
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose method to switch")


class BillingMethodView(WireModel):
    distributor_id: uuid.UUID
    method: BillingMethod | None = Field(description="null until the distributor has chosen")
    chosen_at: AwareDatetime | None = None
    can_change: bool = Field(description="false once chosen: switching is an operator's (Support's) job")


# ---- billing details --------------------------------------------------------------------------------


class BillingDetails(CardDataGuard):
    """Billing details of a distributor. PUT replaces them whole."""

    title: OptionalText | None = None
    first_name: Text
    last_name: Text
    billing_email: Annotated[EmailStr, Field(max_length=320)]
    company: Text
    company_tax_id: TaxId
    address_line1: Annotated[AddressLine, Field(min_length=1)]
    address_line2: AddressLine | None = None
    address_line3: AddressLine | None = None
    city: Text
    state: OptionalText | None = None
    zip: Zip
    country: Country
    phone: Phone
    currency: CurrencyCode | None = Field(default=None, description="default USD; must be in the price book")
    payment_day: int | None = Field(default=None, ge=1, le=28, description="day of the month cards are charged")
    invoice_delivery: InvoiceDelivery = InvoiceDelivery.LINK
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose details")


class BillingDetailsView(WireModel):
    distributor_id: uuid.UUID
    details: BillingDetails | None = Field(description="null until entered")
    updated_at: AwareDatetime | None = None


# ---- cards -----------------------------------------------------------------------------------------


class CardAddRequest(CardDataGuard):
    token: str = Field(min_length=5, max_length=200, pattern=r"^tok_[A-Za-z0-9_]+$",
                       description="the payment processor's card token (never the card number)")
    activate: bool = Field(default=False, description="make it the active card (the first card always is)")


class CardView(WireModel):
    id: uuid.UUID
    brand: str
    last4: str = Field(pattern=r"^[0-9]{4}$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2200)
    active: bool
    created_at: AwareDatetime


class CardList(WireModel):
    items: list[CardView]


# ---- status, roll-ups, history ------------------------------------------------------------------------


class StatusQuery(CardDataGuard):
    partner_id: uuid.UUID | None = Field(default=None, description="only this partner's accounts")
    direct: bool = Field(default=False, description="only the distributor's direct accounts")
    account_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    billing_status: BillingStatus | None = None
    as_of: SaneDate | None = Field(default=None, description="the day to judge Due/Overdue on; default today (UTC)")
    distributor_id: uuid.UUID | None = Field(default=None, description="operators: whose accounts")
    sort: StatusSort = Field(default="name", description="by account name, billing status or amount due")
    page: Page = 1
    page_size: PageSize = 25


class AccountBillingRow(WireModel):
    account_id: uuid.UUID
    account_name: str
    email: str | None = None
    partner_id: uuid.UUID | None = None
    billing_status: BillingStatus
    subscription: Plan | None = None
    renewal_date: date | None = None
    amount_due: Money
    currency: str
    next_payment_forecast: Money | None = None
    partner_name: str | None = Field(default=None, description="the gateway fills it (and account_name) from tenancy")


class AccountBillingPage(WireModel):
    items: list[AccountBillingRow]
    page: int
    page_size: int
    total: int


class RollupQuery(CardDataGuard):
    owner_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000,
                                              description="partners (and the distributor: Direct Accounts)")
    distributor_id: uuid.UUID | None = None
    as_of: SaneDate | None = None


class OwnerRollup(WireModel):
    owner_id: uuid.UUID = Field(description="the partner, or the distributor for its Direct Accounts")
    direct: bool
    amount_owed: Money
    currency: str
    billing_status: RollupStatus
    label: str


class RollupList(WireModel):
    items: list[OwnerRollup]


class BillingFilterRequest(CardDataGuard):
    """Ids matching a billing status, for the dashboard's filters (tenancy pages them)."""

    level: Literal["owners", "accounts"]
    owner_status: RollupStatus | None = None
    account_status: BillingStatus | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="accounts: only under this partner/distributor")
    distributor_id: uuid.UUID | None = None
    as_of: SaneDate | None = None

    @model_validator(mode="after")
    def _status_for_level(self) -> Self:
        if self.level == "owners" and self.owner_status is None:
            raise ValueError("owner_status is required for level 'owners'")
        if self.level == "accounts" and self.account_status is None:
            raise ValueError("account_status is required for level 'accounts'")
        return self


class BillingFilterReply(WireModel):
    ids: list[uuid.UUID]
    includes_direct: bool = Field(default=False, description="owners: the Direct Accounts row matches too")


AmountSort = Literal["amount", "-amount"]
MAX_CANDIDATES = 10_000
CandidateIds = Annotated[list[uuid.UUID], Field(max_length=MAX_CANDIDATES)]


class OwnerPageRequest(CardDataGuard):
    """The dashboard sorted by amount: one page of partners in the order of what they owe.

    ``ids`` are the candidates: tenancy's partners matching the search and its filters in
    the caller's scope. A candidate billing has no unpaid bill for owes 0 (a partner
    billing has not heard of yet too); ties go by name. ``owner_status`` narrows the
    candidates by billing status first. The Direct Accounts row is answered beside the page.
    """

    ids: CandidateIds
    sort: AmountSort = "-amount"
    owner_status: RollupStatus | None = None
    distributor_id: uuid.UUID | None = None
    as_of: SaneDate | None = None
    page: Page = 1
    page_size: PageSize = 25


class OwnerAmountPage(WireModel):
    items: list[OwnerRollup] = Field(description="the page, in amount order")
    direct: OwnerRollup | None = Field(default=None, description="the Direct Accounts row; null when it does not "
                                                                 "match owner_status")
    page: int
    page_size: int
    total: int = Field(description="candidates matching owner_status")


class AccountAmountRequest(CardDataGuard):
    """Billing status and amount due of accounts: of exactly ``ids`` (a page tenancy answered,
    no ``sort``), or ``ids`` as candidates ordered by amount and paged (``sort``).

    An account billing has no bill for (or has not heard of yet) is status None, amount 0.
    """

    ids: CandidateIds
    sort: AmountSort | None = None
    account_status: BillingStatus | None = None
    distributor_id: uuid.UUID | None = None
    as_of: SaneDate | None = None
    page: Page = 1
    page_size: PageSize = 25


class AccountAmount(WireModel):
    account_id: uuid.UUID
    billing_status: BillingStatus
    amount_due: Money
    currency: str


class AccountAmountPage(WireModel):
    items: list[AccountAmount]
    page: int
    page_size: int
    total: int = Field(description="accounts matching account_status (all given ids without sort)")


HistorySort = Literal["-date", "date", "-due", "due", "-amount", "amount"]
StatusSort = Literal["name", "-name", "status", "-status", "amount", "-amount"]


class HistoryQuery(CardDataGuard):
    distributor_id: uuid.UUID | None = None
    sort: HistorySort = Field(default="-date", description="by issue date (default newest first), due date or amount")
    page: Page = 1
    page_size: PageSize = 25


class HistoryRow(WireModel):
    reference: str
    account_id: uuid.UUID | None = None
    account_name: str = Field(description=f"the account, or '{CONSOLIDATED_BILL}'")
    issue_date: date
    due_date: date
    amount: Money
    currency: str
    consolidated: bool
    period_start: date
    period_end: date
    paid: bool
    document: Literal["invoice", "receipt"]


class HistoryPage(WireModel):
    items: list[HistoryRow]
    page: int
    page_size: int
    total: int


class DocumentRequest(CardDataGuard):
    reference: Reference
    format: DocumentFormat
    distributor_id: uuid.UUID | None = None


class DocumentReply(WireModel):
    filename: str
    content_type: str
    content_base64: str


# ---- billing runs and payments -------------------------------------------------------------------------


class BillingRunRequest(CardDataGuard):
    as_of: SaneDate = Field(description="bill what falls due on this day: the month that ended before it, "
                                    "annual terms started on or before it")
    distributor_id: uuid.UUID | None = Field(default=None, description="only this distributor")


class BillingRunReply(WireModel):
    as_of: date
    period_start: date
    period_end: date
    consolidated_invoices: int
    annual_invoices: int
    already_billed: int = Field(description="bills of this run that existed before: not issued again")
    accounts_billed: int
    accounts_unassigned: int = Field(default=0, description="accounts whose distributor is not known yet")
    charges_succeeded: int = 0
    charges_failed: int = 0
    references: list[str] = Field(default_factory=list, max_length=100, description="the first 100 new ones")
    distributors_skipped: dict[SkipReason, int] = Field(
        default_factory=dict,
        description="distributors with something to bill that were billed nothing, by reason "
                    "(billing_method_not_chosen: a later run bills them once they choose)")


class PayInvoiceRequest(CardDataGuard):
    card_id: uuid.UUID | None = Field(default=None, description="default: the active card")
    distributor_id: uuid.UUID | None = None


class RecordPaymentRequest(CardDataGuard):
    """An operator records a payment made outside the processor (PayPal, bank transfer, card by phone)."""

    reference: Reference
    method: PaymentMethod
    amount: Money = Field(gt=0)
    currency: CurrencyCode
    paid_on: SaneDate | None = Field(default=None, description="default today")
    external_reference: Annotated[str, Field(max_length=100, pattern=r"^[A-Za-z0-9 ._:/#-]*$")] | None = None


class PaymentView(WireModel):
    id: uuid.UUID
    reference: str
    method: PaymentMethod
    amount: Money
    currency: str
    status: PaymentStatus
    failure_code: str | None = None
    failure_message: str | None = None
    created_at: AwareDatetime
    settled_at: AwareDatetime | None = None


# ---- event payloads (routing keys in contracts.events.BillingEvent; billing.events) ----------------------


class BillingMethodChosen(WireModel):
    """``billing_method_chosen``: a distributor's billing method was chosen or switched."""

    distributor_id: uuid.UUID
    method: BillingMethod
    previous_method: BillingMethod | None = Field(default=None, description="null on the first choice")
    by_operator: bool = Field(description="whether an operator switched it for the distributor")


class BillingDetailsChanged(WireModel):
    """``billing_details_changed``: which fields changed (names, never the values)."""

    distributor_id: uuid.UUID
    fields: list[str]


class CardChanged(WireModel):
    """``card_added``, ``card_activated``, ``card_deleted``: no card data, only the brand."""

    distributor_id: uuid.UUID
    card_id: uuid.UUID
    brand: str
    active: bool


class InvoiceIssued(WireModel):
    """``invoice_issued``: a bill was issued (an invoice, or a card charge's receipt)."""

    invoice_id: uuid.UUID
    reference: str
    distributor_id: uuid.UUID
    account_id: uuid.UUID | None = Field(default=None, description="annual invoices: the account")
    consolidated: bool
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    amount: Money
    currency: str
    lines: int = Field(description="how many lines the bill has")
    method: BillingMethod


class PaymentEvent(WireModel):
    """What ``payment_received`` and ``payment_failed`` both carry."""

    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    reference: str
    distributor_id: uuid.UUID
    method: PaymentMethod
    amount: Money
    currency: str


class PaymentReceived(PaymentEvent):
    """``payment_received``: a card charge succeeded or a payment was recorded."""

    paid_at: AwareDatetime


class PaymentFailed(PaymentEvent):
    """``payment_failed``: a card charge failed."""

    failure_code: str
    failure_message: str


class AccountBillingChanged(WireModel):
    """An account's bills changed (a bill issued or paid): the facts its billing status and
    amount due follow from, for the lists that show them (tenancy keeps them on its rows).

    ``version`` grows by one with each change of the account's bills: a reader keeps the
    highest it has seen and ignores an older or repeated one, in whatever order they come.
    The status is read from the facts on the day it is shown: **None** with no bill,
    **Current** when nothing is unpaid, **Overdue** from ``overdue_from`` on, else **Due**.
    """

    account_id: uuid.UUID
    distributor_id: uuid.UUID
    version: int = Field(ge=1)
    bills: int = Field(ge=0, description="how many bills the account is on")
    amount_due: Decimal = Field(ge=0, description="its share of its unpaid bills")
    currency: str
    overdue_from: date | None = Field(default=None, description="the day after the earliest unpaid due date; "
                                                                "null when nothing is unpaid")


class BillingFactsRequest(WireModel):
    """Announce every billed account's facts again (operators): one distributor's, or all."""

    distributor_id: uuid.UUID | None = None


class BillingFactsReply(WireModel):
    accounts: int = Field(description="how many accounts' facts were announced")
