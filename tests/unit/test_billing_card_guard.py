"""The card-data guard: billing requests refuse card numbers and security codes anywhere."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from contracts.billing import (
    BillingDetails,
    CardAddRequest,
    RecordPaymentRequest,
    find_card_data,
    looks_like_card_number,
    luhn_valid,
)

DETAILS = {
    "first_name": "Dana", "last_name": "Reyes", "billing_email": "ap@northwind.example", "company": "Northwind",
    "company_tax_id": "GB123456789", "address_line1": "1 Harbour St", "city": "Leeds", "zip": "LS1 4AP",
    "country": "GB", "phone": "+44 113 496 0000",
}


@pytest.mark.parametrize("number", ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242",
                                    "378282246310005", "6011111111111117", "5555555555554444", "4000056655665556"])
def test_test_card_numbers_in_any_spelling_are_recognised(number):
    assert looks_like_card_number(number)
    assert looks_like_card_number(f"my card is {number}, exp 12/34")


@pytest.mark.parametrize("text", ["4242424242424241",  # Luhn fails
                                  "12345678901",  # 11 digits: too short
                                  "42424242424242424242",  # 20 digits: too long
                                  "+44 113 496 0000 1",  # an international phone number
                                  "3f1c9b2e-1234-4567-8901-234567890123",  # an id
                                  "2026-11-30"])
def test_other_digits_are_not_card_numbers(text):
    assert not looks_like_card_number(text)


def test_luhn_checksum_matches_known_values():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_a_card_number_in_a_billing_detail_is_refused_naming_the_field_not_the_value():
    with pytest.raises(ValidationError) as refused:
        BillingDetails.model_validate({**DETAILS, "address_line2": "card 4242 4242 4242 4242"})

    message = str(refused.value)
    assert "address_line2" in message and "card data" in message
    assert "4242" not in message


@pytest.mark.parametrize("field", ["cvc", "cvv", "CVC2", "card_number", "cardNumber", "security_code", "pan"])
def test_card_field_names_are_refused_whatever_their_value(field):
    with pytest.raises(ValidationError) as refused:
        CardAddRequest.model_validate({"token": "tok_visa", field: "x"})
    assert "card data" in str(refused.value)


def test_nested_card_data_is_found_by_its_path():
    assert find_card_data({"a": [{"b": "4111111111111111"}]}) == "a.0.b"
    assert find_card_data({"a": {"card": {"cvv": "1"}}}) == "a.card.cvv"
    assert find_card_data({"a": 4111111111111111}) == "a"


def test_clean_requests_pass_the_guard():
    assert BillingDetails.model_validate(DETAILS).company == "Northwind"
    assert CardAddRequest(token="tok_visa").token == "tok_visa"
    assert RecordPaymentRequest.model_validate({"reference": "INV-2026-000001", "method": "paypal", "amount": "10.00",
                                                "currency": "usd", "external_reference": str(uuid.uuid4())}
                                               ).currency == "USD"


@pytest.mark.parametrize(("field", "value"), [("billing_email", "not-an-email"), ("country", "XX"),
                                              ("zip", ""), ("phone", "call me"), ("payment_day", 31),
                                              ("company_tax_id", "#"), ("first_name", "")])
def test_billing_details_are_validated_field_by_field(field, value):
    with pytest.raises(ValidationError) as refused:
        BillingDetails.model_validate({**DETAILS, field: value})
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


def test_required_billing_details_are_named_when_missing():
    with pytest.raises(ValidationError) as refused:
        BillingDetails.model_validate({})
    missing = {error["loc"][0] for error in refused.value.errors()}
    assert missing == {"first_name", "last_name", "billing_email", "company", "company_tax_id", "address_line1",
                       "city", "zip", "country", "phone"}
