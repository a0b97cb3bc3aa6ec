"""Tenancy's events, built the way tenancy publishes them: for billing's tests, the
benchmark and demos, which need accounts with seats without running tenancy itself.

Each builder returns an :class:`EventEnvelope` for ``tenancy.events`` (routing key =
``type``); :func:`publish` sends envelopes there with any AMQP connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.events import TenancyEvent
from contracts.tenancy import (
    AccountCreated,
    AccountGone,
    AccountStatus,
    AccountSubscribed,
    BackupRunRecorded,
    BackupRunsRecorded,
    BackupService,
    BackupTaskChanged,
    DefaultSubscription,
    Plan,
    RunStatus,
    TaskState,
    TrialExpired,
)

SOURCE = "tenancy"


def _envelope(event_type: TenancyEvent, payload: dict[str, Any], tenant_id: uuid.UUID | None,
              at: datetime | None = None) -> EventEnvelope:
    return EventEnvelope(type=event_type.value, source=SOURCE, tenant_id=tenant_id, payload=payload,
                         occurred_at=at or datetime.now(UTC))


def tenant_created(tenant_id: uuid.UUID, parent_id: uuid.UUID, kind: str, name: str,
                   code: str | None = None) -> EventEnvelope:
    return _envelope(TenancyEvent.TENANT_CREATED, {"tenant_id": str(tenant_id), "parent_id": str(parent_id),
                                                   "kind": kind, "name": name, "code": code}, parent_id)


def account_created(account_id: uuid.UUID, owner_id: uuid.UUID, owner_kind: str, name: str,
                    subscription: DefaultSubscription = DefaultSubscription.SUBSCRIBE_MONTHLY,
                    at: datetime | None = None) -> EventEnvelope:
    trial = subscription.value.startswith("trial")
    status = AccountStatus.TRIAL_STARTED if trial else (
        AccountStatus.ANNUAL_SUBSCRIBED if subscription is DefaultSubscription.SUBSCRIBE_ANNUAL
        else AccountStatus.MONTHLY_SUBSCRIBED)
    created = at or datetime.now(UTC)
    payload = AccountCreated(account_id=account_id, owner_id=owner_id, owner_kind=owner_kind, name=name,
                             email=f"it@{name.lower().replace(' ', '-')}.example", subscription=subscription,
                             account_status=status, trial_ends_at=created + timedelta(days=14) if trial else None)
    return _envelope(TenancyEvent.ACCOUNT_CREATED, payload.to_wire(), owner_id, created)


def account_subscribed(account_id: uuid.UUID, owner_id: uuid.UUID, plan: Plan, at: datetime) -> EventEnvelope:
    payload = AccountSubscribed(account_id=account_id, owner_id=owner_id, plan=plan, reason="created",
                                subscribed_at=at)
    return _envelope(TenancyEvent.ACCOUNT_SUBSCRIBED, payload.to_wire(), owner_id, at)


def trial_expired(account_id: uuid.UUID, owner_id: uuid.UUID, at: datetime) -> EventEnvelope:
    payload = TrialExpired(account_id=account_id, owner_id=owner_id, trial_ends_at=at)
    return _envelope(TenancyEvent.TRIAL_EXPIRED, payload.to_wire(), owner_id, at)


def account_removed(account_id: uuid.UUID, owner_id: uuid.UUID, name: str, at: datetime) -> EventEnvelope:
    payload = AccountGone(account_id=account_id, owner_id=owner_id, name=name, at=at, data_removal_approved=True)
    return _envelope(TenancyEvent.ACCOUNT_REMOVED, payload.to_wire(), owner_id, at)


def task_added(task_id: uuid.UUID, account_id: uuid.UUID, service: BackupService) -> EventEnvelope:
    payload = BackupTaskChanged(task_id=task_id, account_id=account_id, service=service, name=service.value,
                                state=TaskState.ACTIVE, change="activated")
    return _envelope(TenancyEvent.BACKUP_TASK_CHANGED, payload.to_wire(), account_id)


def run_recorded(task_id: uuid.UUID, account_id: uuid.UUID, owner_id: uuid.UUID, finished_at: datetime,
                 seats: int) -> EventEnvelope:
    """A batch of one run."""
    return runs_recorded([(task_id, account_id, owner_id, finished_at, seats)])


def runs_recorded(runs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime, int]]) -> EventEnvelope:
    """One ingest batch: ``(task_id, account_id, owner_id, finished_at, seats)`` per run."""
    payload = BackupRunsRecorded(runs=[
        BackupRunRecorded(run_id=uuid.uuid4(), task_id=task_id, account_id=account_id, owner_id=owner_id,
                          status=RunStatus.SUCCESS, started_at=finished_at - timedelta(minutes=30),
                          finished_at=finished_at, size_bytes=seats * 2**30, seats=seats, latest=True)
        for task_id, account_id, owner_id, finished_at, seats in runs
    ])
    # As tenancy sends it: a batch belongs to no single tenant.
    return _envelope(TenancyEvent.BACKUP_RUNS_RECORDED, payload.to_wire(), None,
                     max(run.finished_at for run in payload.runs))


def publish(amqp_uri: str, envelopes: Iterable[EventEnvelope]) -> int:
    """Send envelopes to ``tenancy.events`` as tenancy's outbox relay would."""
    from kombu import Connection

    from servicekit.outbox import declare_events_exchange

    exchange = declare_events_exchange(SOURCE)
    sent = 0
    # Confirmed: a message still in flight when the connection closes would be lost.
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(serializer="json")
        for envelope in envelopes:
            producer.publish(envelope.to_wire(), exchange=exchange, routing_key=envelope.routing_key,
                             declare=[exchange], message_id=str(envelope.event_id), delivery_mode=2)
            sent += 1
    return sent
