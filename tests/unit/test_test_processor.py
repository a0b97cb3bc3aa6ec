"""The test payment processor's card checks, hosted form and token store (no suite needed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from testprocessor.app import create_app
from testprocessor.cards import check_entry, luhn_valid
from testprocessor.settings import ProcessorSettings
from testprocessor.store import ProcessorStore, UnknownToken

TODAY = date(2026, 12, 3)
CONSOLE = "http://127.0.0.1:8000"


def test_luhn_accepts_test_numbers_and_refuses_a_changed_digit():
    assert luhn_valid("4242424242424242")
    assert luhn_valid("378282246310005")
    assert not luhn_valid("4242424242424241")


def test_a_test_card_entry_is_accepted_with_a_two_or_four_digit_year():
    entry, errors = check_entry("4242 4242 4242 4242", "12 / 34", "123", "Dana Lee", TODAY)
    assert errors == {} and entry is not None
    assert (entry.last4, entry.exp_month, entry.exp_year, entry.profile.brand) == ("4242", 12, 2034, "Visa")
    entry, _ = check_entry("5555-5555-5555-4444", "03/2031", "1234", "Dana Lee", TODAY)
    assert entry is not None and entry.profile.brand == "Mastercard"


def test_each_wrong_field_gets_its_own_reason():
    entry, errors = check_entry("4242 4242 4242 4241", "13/30", "12", " ", TODAY)
    assert entry is None
    assert errors == {"number": "Enter a valid card number.", "expiry": "Enter the expiry as MM / YY.",
                      "cvc": "Enter the 3 or 4 digits on the card.", "name": "Enter the name on the card."}


def test_an_expired_card_and_a_real_card_number_are_refused():
    assert check_entry("4242424242424242", "11/26", "123", "A", TODAY)[1] == {"expiry": "This card has expired."}
    # A valid number that is not a test number: test mode never takes a real card.
    assert "test card numbers" in check_entry("4111111111111111", "12/30", "123", "A", TODAY)[1]["number"]


def test_a_token_describes_the_card_and_the_store_never_holds_the_number(tmp_path):
    store = ProcessorStore(tmp_path / "processor.db")
    entry, _ = check_entry("4000000000000002", "12/34", "123", "Dana Lee", TODAY)
    assert entry is not None
    token = store.tokenise(entry)
    card = store.card(token)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "0002", 12, 2034)
    assert store.charge(token, Decimal("10.00"), "USD", "key-1").failure_code == "card_declined"
    assert b"4000000000000002" not in (tmp_path / "processor.db").read_bytes()
    with pytest.raises(UnknownToken):
        store.card("tok_000000000000000000000000")


def test_the_same_card_twice_has_the_same_fingerprint_and_different_tokens(tmp_path):
    store = ProcessorStore(tmp_path / "processor.db")
    entry, _ = check_entry("4242424242424242", "12/34", "123", "Dana Lee", TODAY)
    assert entry is not None
    first, second = store.tokenise(entry), store.tokenise(entry)
    assert first != second
    assert store.card(first).fingerprint == store.card(second).fingerprint


@pytest.fixture
def client(tmp_path):
    settings = ProcessorSettings(store=tmp_path / "processor.db", allowed_origins=CONSOLE)
    return TestClient(create_app(settings))


def test_the_form_is_framed_only_by_an_allowed_console(client):
    shown = client.get("/card-form", params={"origin": CONSOLE})
    assert shown.status_code == 200
    assert f"frame-ancestors {CONSOLE}" in shown.headers["content-security-policy"]
    refused = client.get("/card-form", params={"origin": "https://evil.example"})
    assert refused.status_code == 400
    assert "frame-ancestors 'none'" in refused.headers["content-security-policy"]


def test_a_posted_card_answers_a_token_for_the_console_and_never_echoes_the_number(client):
    answer = client.post("/card-form", data={"origin": CONSOLE, "number": "4242 4242 4242 4242", "expiry": "12/34",
                                              "cvc": "123", "name": "Dana Lee"})
    assert answer.status_code == 200
    assert 'data-token="tok_' in answer.text and f'data-origin="{CONSOLE}"' in answer.text
    assert "4242 4242 4242 4242" not in answer.text and "4242424242424242" not in answer.text
    wrong = client.post("/card-form", data={"origin": CONSOLE, "number": "4242 4242 4242 4241", "expiry": "12/34",
                                             "cvc": "123", "name": "Dana Lee"})
    assert wrong.status_code == 422
    assert "Enter a valid card number." in wrong.text and "4242 4242 4242 4241" not in wrong.text
    assert client.post("/card-form", data={"origin": "https://evil.example", "number": "4242424242424242",
                                           "expiry": "12/34", "cvc": "123", "name": "A"}).status_code == 400
