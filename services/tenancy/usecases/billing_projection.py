"""Billing's facts on tenancy's rows: the projection of ``account_billing_changed``.

Billing is the one writer of these facts; tenancy only keeps the newest version of each
account's (domain/billing_facts.py), so the lists filter and sort by billing status and
amount in one query of their own. Idempotent by version, so the handler needs no dedupe row:
a repeated or late announcement changes nothing. The account row is locked first, then its
owner's roll-up (the suite's lock order).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from contracts.billing import AccountBillingChanged
from contracts.envelope import EventEnvelope
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.tenancy.adapters.models import Account
from services.tenancy.adapters.rows import add_to_owner_billing, billing_facts_of, write_billing_facts
from services.tenancy.domain.billing_facts import BillingFacts, owner_delta, supersedes

log = get_logger(__name__)


def facts_of(event: AccountBillingChanged) -> BillingFacts:
    return BillingFacts(version=event.version, bills=event.bills, amount_due=event.amount_due,
                        currency=event.currency, overdue_from=event.overdue_from)


def record_account_billing(uow: UnitOfWork, event: AccountBillingChanged) -> bool:
    """Keep ``event``'s facts if they are newer than the account's; True when they were."""
    account = uow.session.get(Account, event.account_id, with_for_update=True, populate_existing=True)
    if account is None:
        uow.rollback()
        log.warning("billing facts of an account tenancy does not have", account_id=str(event.account_id))
        return False
    stored, incoming = billing_facts_of(account), facts_of(event)
    if not supersedes(incoming, stored):
        uow.rollback()
        return False
    write_billing_facts(account, incoming)
    delta = owner_delta(stored, incoming)
    if delta or stored.currency != incoming.currency:
        add_to_owner_billing(uow.session, account.owner_id, delta, incoming.currency)
    uow.commit()
    return True


def record_account_billing_message(uow: UnitOfWork, body: Any) -> bool:
    """The event as it arrives; a malformed one is dropped (acknowledged) with a log line."""
    try:
        event = AccountBillingChanged.model_validate(EventEnvelope.model_validate(body).payload)
    except ValidationError as refused:
        log.warning("account billing message refused", errors=refused.error_count())
        return False
    return record_account_billing(uow, event)
