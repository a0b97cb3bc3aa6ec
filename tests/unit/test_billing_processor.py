"""The local test-mode payment processor: test tokens, and one charge per idempotency key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.billing.adapters.processor import CardRejected, IdempotencyMismatch, LocalTestProcessor


@pytest.fixture
def processor(tmp_path) -> LocalTestProcessor:
    return LocalTestProcessor(tmp_path / "processor.db")


def test_a_test_card_is_described_by_display_data_only(processor):
    card = processor.describe_card("tok_visa")
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "4242", 12, 2034)
    assert len(card.fingerprint) == 24 and card.fingerprint == processor.describe_card("tok_visa").fingerprint


@pytest.mark.parametrize(("token", "code"), [("tok_expiredCard", "expired_card"), ("tok_nope", "invalid_token")])
def test_unusable_tokens_are_refused_when_saved(processor, token, code):
    with pytest.raises(CardRejected) as refused:
        processor.describe_card(token)
    assert refused.value.code == code


@pytest.mark.parametrize(("token", "succeeded", "code"), [
    ("tok_visa", True, None), ("tok_chargeDeclined", False, "card_declined"),
    ("tok_insufficientFunds", False, "insufficient_funds"),
])
def test_test_tokens_succeed_decline_or_lack_funds(processor, token, succeeded, code):
    result = processor.charge(token, Decimal("10.00"), "USD", f"key-{token}", "test")
    assert (result.succeeded, result.failure_code) == (succeeded, code)


def test_the_same_idempotency_key_is_one_charge_answered_the_same(processor, tmp_path):
    first = processor.charge("tok_visa", Decimal("64.81"), "USD", "invoice-1", "test")
    again = LocalTestProcessor(tmp_path / "processor.db").charge("tok_visa", Decimal("64.81"), "USD", "invoice-1",
                                                                 "after a restart")
    assert again == first
    assert processor.charges() == 1


def test_an_idempotency_key_cannot_be_reused_for_another_amount(processor):
    processor.charge("tok_visa", Decimal("1.00"), "USD", "k", "test")
    with pytest.raises(IdempotencyMismatch):
        processor.charge("tok_visa", Decimal("2.00"), "USD", "k", "test")
