"""Billing method, billing details, cards, and who may see any of it."""

from __future__ import annotations

import json
import uuid

import pytest

from contracts.billing import BillingDetails, BillingMethod, CardAddRequest
from contracts.context import Caller
from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from servicekit.context import CallContext
from services.billing.adapters.price_book_file import load_price_book
from services.billing.usecases import profiles
from services.billing.usecases.access import billing_scope, require_operator
from tests.usecases import test_billing_runs

BOOK = load_price_book()
OPERATOR = test_billing_runs.OPERATOR
billing_db = test_billing_runs.billing_db  # the same fixtures
processor = test_billing_runs.processor
DISTRIBUTOR = uuid.uuid4()
DETAILS = BillingDetails.model_validate({
    "first_name": "Dana", "last_name": "Reyes", "billing_email": "ap@northwind.example", "company": "Northwind",
    "company_tax_id": "GB123456789", "address_line1": "1 Harbour St", "city": "Leeds", "zip": "LS1 4AP",
    "country": "GB", "phone": "+44 113 496 0000", "currency": "GBP",
})


def ctx(kind: str, tenant: uuid.UUID | None = None, role: str = "administrator", **extra) -> CallContext:
    return CallContext("billing", Caller(user_id=uuid.uuid4(), tenant_id=tenant or uuid.uuid4(), tenant_kind=kind,
                                         role=role, **extra), "test")


DISTRIBUTOR_ADMIN = billing_scope(ctx("distributor", DISTRIBUTOR))
SUPPORT = billing_scope(ctx("operator", OPERATOR), DISTRIBUTOR)


# ---- who sees money ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["partner", "account"])
def test_partner_and_customer_users_are_refused_by_the_service_itself(kind):
    with pytest.raises(PermissionDenied):
        billing_scope(ctx(kind))
    with pytest.raises(PermissionDenied):
        billing_scope(ctx(kind), DISTRIBUTOR)


def test_a_distributor_user_needs_view_billing():
    with pytest.raises(PermissionDenied):
        billing_scope(ctx("distributor", DISTRIBUTOR, role="custom", permissions=["view_dashboard"]))
    assert billing_scope(ctx("distributor", DISTRIBUTOR, role="custom", permissions=["view_billing"])
                         ).distributor_id == DISTRIBUTOR


def test_a_distributor_cannot_name_another_distributor():
    with pytest.raises(NotFound):
        billing_scope(ctx("distributor", DISTRIBUTOR), uuid.uuid4())


def test_an_operator_names_the_distributor_and_only_operators_run_support_actions():
    with pytest.raises(ValidationFailed):
        billing_scope(ctx("operator", OPERATOR))
    require_operator(ctx("operator", OPERATOR))
    with pytest.raises(PermissionDenied):
        require_operator(ctx("distributor", DISTRIBUTOR))


# ---- method -------------------------------------------------------------------------------------------


def test_the_distributor_chooses_the_method_once_and_an_operator_may_switch_it(billing_db):
    assert profiles.get_method(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN).method is None

    chosen = profiles.choose_method(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, BillingMethod.INVOICE)
    assert (chosen.method, chosen.can_change) == (BillingMethod.INVOICE, False)
    with pytest.raises(Conflict):
        profiles.choose_method(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, BillingMethod.CREDIT_CARD)

    switched = profiles.choose_method(billing_db.unit_of_work(), SUPPORT, BillingMethod.CREDIT_CARD)
    assert switched.method is BillingMethod.CREDIT_CARD
    events = [e["payload"] for e in billing_db.events("billing_method_chosen")]
    assert [(e["method"], e["previous_method"], e["by_operator"]) for e in events] == [
        ("invoice", None, False), ("credit_card", "invoice", True)]


# ---- details ------------------------------------------------------------------------------------------


def test_billing_details_are_stored_and_announced_by_field_name_only(billing_db):
    view = profiles.set_details(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, DETAILS, BOOK)
    assert view.details.company == "Northwind" and view.details.currency == "GBP"

    profiles.set_details(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN,
                         DETAILS.model_copy(update={"city": "York", "zip": "YO1 7HH"}), BOOK)

    changes = [e["payload"]["fields"] for e in billing_db.events("billing_details_changed")]
    assert changes[1] == ["city", "zip"]
    assert "York" not in json.dumps(billing_db.events("billing_details_changed"))


def test_a_currency_missing_from_the_price_book_is_refused(billing_db):
    with pytest.raises(ValidationFailed) as refused:
        profiles.set_details(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, DETAILS.model_copy(update={"currency": "JPY"}),
                             BOOK)
    assert refused.value.details["fields"][0]["field"] == "currency"


# ---- cards --------------------------------------------------------------------------------------------


def add(db, token: str, activate: bool = False, processor=None):
    return profiles.add_card(db.unit_of_work(), DISTRIBUTOR_ADMIN, CardAddRequest(token=token, activate=activate),
                             processor)


def test_the_first_card_is_active_and_activating_another_leaves_one_active(billing_db, processor):
    visa = add(billing_db, "tok_visa", processor=processor)
    master = add(billing_db, "tok_mastercard", processor=processor)
    assert (visa.active, master.active) == (True, False)

    profiles.activate_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, master.id)

    cards = profiles.list_cards(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN).items
    assert [(c.brand, c.last4, c.active) for c in cards] == [("Visa", "4242", False), ("Mastercard", "4444", True)]


def test_a_card_is_saved_once_and_a_refused_token_names_the_field(billing_db, processor):
    add(billing_db, "tok_visa", processor=processor)
    with pytest.raises(Conflict):
        add(billing_db, "tok_visa", processor=processor)
    with pytest.raises(ValidationFailed) as refused:
        add(billing_db, "tok_expiredCard", processor=processor)
    assert refused.value.details["decline_code"] == "expired_card"


def test_the_active_card_stays_while_others_exist_or_the_card_method_needs_it(billing_db, processor):
    visa = add(billing_db, "tok_visa", processor=processor)
    amex = add(billing_db, "tok_amex", processor=processor)
    with pytest.raises(Conflict):
        profiles.delete_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, visa.id)

    profiles.delete_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, amex.id)
    profiles.choose_method(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, BillingMethod.CREDIT_CARD)
    with pytest.raises(Conflict):
        profiles.delete_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, visa.id)
    with pytest.raises(NotFound):
        profiles.activate_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, amex.id)
    assert [c.id for c in profiles.list_cards(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN).items] == [visa.id]


def test_card_events_carry_no_card_data(billing_db, processor):
    card = add(billing_db, "tok_visa", processor=processor)
    profiles.delete_card(billing_db.unit_of_work(), DISTRIBUTOR_ADMIN, card.id)

    events = billing_db.events("card_added") + billing_db.events("card_activated") + billing_db.events("card_deleted")
    text = json.dumps(events)
    assert len(events) == 3
    assert "4242" not in text and "tok_visa" not in text and "2034" not in text


def test_another_distributors_card_does_not_exist(billing_db, processor):
    card = add(billing_db, "tok_visa", processor=processor)
    other = billing_scope(ctx("distributor"))
    with pytest.raises(NotFound):
        profiles.activate_card(billing_db.unit_of_work(), other, card.id)
