"""Billing method, billing details and cards of a distributor (Billing > Payment details)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from contracts.billing import (
    BillingDetails,
    BillingDetailsChanged,
    BillingDetailsView,
    BillingMethod,
    BillingMethodChosen,
    BillingMethodView,
    CardAddRequest,
    CardChanged,
    CardList,
    CardView,
)
from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.events import BillingEvent
from servicekit.db import UnitOfWork
from services.billing.adapters.models import Card, Owner, Profile
from services.billing.adapters.processor import CardRejected, PaymentProcessor
from services.billing.adapters.sql import insert_ignore
from services.billing.domain.pricebook import PriceBook
from services.billing.usecases.access import BillingScope

DETAIL_FIELDS = tuple(name for name in BillingDetails.model_fields if name != "distributor_id")


def _now() -> datetime:
    return datetime.now(UTC)


def profile_of(uow: UnitOfWork, distributor_id: uuid.UUID, lock: bool = False) -> Profile:
    insert_ignore(uow.session, Profile.__table__, {"distributor_id": distributor_id, "currency": "USD"})
    profile = uow.session.get(Profile, distributor_id, with_for_update=lock or None, populate_existing=True)
    assert profile is not None
    return profile


def stored_details(profile: Profile) -> BillingDetails | None:
    return BillingDetails.model_validate(profile.details) if profile.details else None


def bill_to(profile: Profile, owner: Owner | None) -> list[str]:
    """The "Bill to" block of a document, as the details stood when the bill was made."""
    details = stored_details(profile)
    if details is None:
        return [owner.name if owner and owner.name else "Distributor", f"Distributor ID {profile.distributor_id}"]
    name = " ".join(part for part in (details.title, details.first_name, details.last_name) if part)
    place = " ".join(part for part in (details.zip, details.city) if part)
    return [line for line in (
        details.company, name, details.address_line1, details.address_line2, details.address_line3, place,
        details.state, details.country, f"Tax ID {details.company_tax_id}", str(details.billing_email),
    ) if line]


# ---- method ----------------------------------------------------------------------------------------


def method_view(profile: Profile, scope: BillingScope) -> BillingMethodView:
    return BillingMethodView(
        distributor_id=profile.distributor_id,
        method=BillingMethod(profile.method) if profile.method else None,
        chosen_at=profile.method_chosen_at,
        can_change=scope.is_operator or profile.method is None,
    )


def get_method(uow: UnitOfWork, scope: BillingScope) -> BillingMethodView:
    profile = profile_of(uow, scope.distributor_id)
    uow.commit()
    return method_view(profile, scope)


def choose_method(uow: UnitOfWork, scope: BillingScope, method: BillingMethod) -> BillingMethodView:
    """Chosen once by the distributor; after that only an operator (Support) switches it."""
    profile = profile_of(uow, scope.distributor_id, lock=True)
    previous = BillingMethod(profile.method) if profile.method else None
    if previous is not None and not scope.is_operator:
        raise Conflict("the billing method is already chosen; contact Support to switch it",
                       {"method": previous.value})
    if previous is not method:
        profile.method = method.value
        profile.method_chosen_at = _now()
        profile.method_chosen_by = scope.user_id
        uow.emit(BillingEvent.BILLING_METHOD_CHOSEN,
                 BillingMethodChosen(distributor_id=scope.distributor_id, method=method, previous_method=previous,
                                     by_operator=scope.is_operator).to_wire(),
                 tenant_id=scope.distributor_id)
    uow.commit()
    return method_view(profile, scope)


# ---- details ---------------------------------------------------------------------------------------


def get_details(uow: UnitOfWork, scope: BillingScope) -> BillingDetailsView:
    profile = profile_of(uow, scope.distributor_id)
    uow.commit()
    return BillingDetailsView(distributor_id=scope.distributor_id, details=stored_details(profile),
                              updated_at=profile.details_updated_at)


def set_details(uow: UnitOfWork, scope: BillingScope, details: BillingDetails, book: PriceBook) -> BillingDetailsView:
    currency = details.currency or book.default_currency
    book.prices(currency)  # a currency the price book has, or a 422 on "currency"
    stored = details.model_copy(update={"distributor_id": None, "currency": currency})
    profile = profile_of(uow, scope.distributor_id, lock=True)
    before = stored_details(profile)
    changed = [name for name in DETAIL_FIELDS
               if before is None or getattr(before, name) != getattr(stored, name)]
    if changed:
        profile.details = stored.model_dump(mode="json", exclude={"distributor_id"})
        profile.currency = currency
        profile.payment_day = stored.payment_day
        profile.details_updated_at = _now()
        uow.emit(BillingEvent.BILLING_DETAILS_CHANGED,
                 BillingDetailsChanged(distributor_id=scope.distributor_id, fields=changed).to_wire(),
                 tenant_id=scope.distributor_id)
    uow.commit()
    return BillingDetailsView(distributor_id=scope.distributor_id, details=stored_details(profile),
                              updated_at=profile.details_updated_at)


# ---- cards -----------------------------------------------------------------------------------------


def card_view(card: Card) -> CardView:
    return CardView(id=card.id, brand=card.brand, last4=card.last4, exp_month=card.exp_month,
                    exp_year=card.exp_year, active=card.active, created_at=card.created_at)


def _cards(uow: UnitOfWork, distributor_id: uuid.UUID) -> list[Card]:
    return list(uow.session.execute(
        sa.select(Card).where(Card.distributor_id == distributor_id, Card.deleted_at.is_(None))
        .order_by(Card.created_at, Card.id)
    ).scalars())


def list_cards(uow: UnitOfWork, scope: BillingScope) -> CardList:
    return CardList(items=[card_view(card) for card in _cards(uow, scope.distributor_id)])


def _card_event(uow: UnitOfWork, event: BillingEvent, card: Card) -> None:
    uow.emit(event, CardChanged(distributor_id=card.distributor_id, card_id=card.id, brand=card.brand,
                                active=card.active).to_wire(), tenant_id=card.distributor_id)


def add_card(uow: UnitOfWork, scope: BillingScope, request: CardAddRequest, processor: PaymentProcessor) -> CardView:
    try:
        described = processor.describe_card(request.token)
    except CardRejected as rejected:
        details = {"fields": [{"field": "token", "reason": rejected.message}], "decline_code": rejected.code}
        raise ValidationFailed("token: " + rejected.message, details) from None
    profile_of(uow, scope.distributor_id, lock=True)  # serialises card changes of this distributor
    cards = _cards(uow, scope.distributor_id)
    if any(card.fingerprint == described.fingerprint for card in cards):
        raise Conflict("this card is already saved", {"fields": [{"field": "token", "reason": "card already saved"}]})
    activate = request.activate or not any(card.active for card in cards)
    if activate:
        for card in cards:
            card.active = False
        uow.session.flush()
    card = Card(id=uuid.uuid4(), distributor_id=scope.distributor_id, processor=processor.name,
                processor_token=request.token, brand=described.brand, last4=described.last4,
                exp_month=described.exp_month, exp_year=described.exp_year, fingerprint=described.fingerprint,
                active=activate, created_at=_now())
    uow.session.add(card)
    _card_event(uow, BillingEvent.CARD_ADDED, card)
    if activate:
        _card_event(uow, BillingEvent.CARD_ACTIVATED, card)
    try:
        uow.commit()
    except IntegrityError:
        uow.rollback()
        raise Conflict("the cards changed meanwhile; try again") from None
    return card_view(card)


def _card(uow: UnitOfWork, scope: BillingScope, card_id: uuid.UUID) -> Card:
    card = uow.session.get(Card, card_id)
    if card is None or card.deleted_at is not None or card.distributor_id != scope.distributor_id:
        raise NotFound("card not found")
    return card


def activate_card(uow: UnitOfWork, scope: BillingScope, card_id: uuid.UUID) -> CardView:
    profile_of(uow, scope.distributor_id, lock=True)
    card = _card(uow, scope, card_id)
    if not card.active:
        for other in _cards(uow, scope.distributor_id):
            other.active = False
        uow.session.flush()
        card.active = True
        _card_event(uow, BillingEvent.CARD_ACTIVATED, card)
    uow.commit()
    return card_view(card)


def delete_card(uow: UnitOfWork, scope: BillingScope, card_id: uuid.UUID) -> None:
    """The active card goes only when no other card could take its place, and not while the
    monthly charge depends on it."""
    profile = profile_of(uow, scope.distributor_id, lock=True)
    card = _card(uow, scope, card_id)
    others = [c for c in _cards(uow, scope.distributor_id) if c.id != card.id]
    if card.active and others:
        raise Conflict("activate another card before deleting the active one")
    if card.active and profile.method == BillingMethod.CREDIT_CARD.value:
        raise Conflict("the monthly charge uses this card: add another card, or ask Support to switch to invoice")
    card.active = False
    card.deleted_at = _now()
    # The token is of no use once deleted: keep only the display data for the history.
    card.processor_token = f"deleted:{card.id}"
    _card_event(uow, BillingEvent.CARD_DELETED, card)
    uow.commit()


def active_card(uow: UnitOfWork, distributor_id: uuid.UUID) -> Card | None:
    return uow.session.execute(
        sa.select(Card).where(Card.distributor_id == distributor_id, Card.active.is_(True),
                              Card.deleted_at.is_(None))
    ).scalar_one_or_none()
