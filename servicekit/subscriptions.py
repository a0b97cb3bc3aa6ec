"""One way for a service to subscribe: a table of event handlers keyed by the contract's enums.

A service declares what it does with each event type it hears::

    EVENT_HANDLERS = {
        TenancyEvent.ACCOUNT_CREATED: On(usecases.invitations.invite_account_administrator),
        BillingEvent.INVOICE_ISSUED: On(queue_invoice_mail, gather=invoice_mail, then=wake_delivery),
    }

    @subscribe(EVENT_HANDLERS)
    class NotifyService(ServiceBase): ...

``subscribe`` turns each row into a method of the service class carrying the kit's reliable
``event_handler`` (a quorum queue with a delivery limit and a dead-letter queue,
servicekit/events.py), wrapped in ``idempotent_handler`` (the dedupe row commits with the
work, servicekit/idempotency.py) unless the row says the handler is idempotent by itself.

The method's name is ``on_<event type>`` unless the row names it; several event types may
share one method (audit records every audited event with ``record``). The name is part of the
queue's name, ``evt-<source>-<type>--<service>.<method>``, and of the dedupe key,
``<service>.<method>``: rename a method and its queue is new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from contracts.envelope import EventEnvelope
from contracts.events import source_of
from servicekit.events import event_handler
from servicekit.idempotency import idempotent_handler

S = TypeVar("S", bound=type)
E = TypeVar("E", bound=StrEnum)

Handle = Callable[..., object]  # what it returns is ignored


@dataclass(frozen=True)
class On:
    """What a service does with one event type.

    ``handle(service, envelope)`` runs in one transaction with the dedupe claim; with
    ``gather`` it is ``handle(service, envelope, gather(service, envelope))``, ``gather``
    running first, outside any transaction (remote calls go there). ``then(service)`` runs
    after the commit (e.g. to wake a delivery loop). ``exactly_once=False``: the handler gets
    the raw message body and dedupes by itself (tenancy's engine runs, keyed by run id).
    """

    handle: Handle
    method: str | None = None
    gather: Callable[[Any, EventEnvelope], Any] | None = None
    then: Callable[[Any], None] | None = None
    exactly_once: bool = True

    def method_name(self, event: StrEnum) -> str:
        return self.method or f"on_{event.value}"


def subscribe(table: Mapping[E, On]) -> Callable[[S], S]:
    """Class decorator: one event-handler method per distinct method name in ``table``."""

    def register(cls: S) -> S:
        grouped: dict[str, tuple[On, list[E]]] = {}
        for event, on in table.items():
            name = on.method_name(event)
            if hasattr(cls, name) and name not in grouped:
                raise TypeError(f"{cls.__name__}.{name} exists already: name the handler otherwise")
            first, events = grouped.setdefault(name, (on, []))
            if first != on:
                raise TypeError(f"{cls.__name__}.{name}: event types sharing a method must share the row")
            events.append(event)
        for name, (on, events) in grouped.items():
            method = _handler_method(vars(cls)["name"], name, on)  # the nameko service name
            for event in events:
                method = event_handler(source_of(event), event.value)(method)
            setattr(cls, name, method)
        return cls

    return register


def _handler_method(service: str, name: str, on: On) -> Callable[[Any, Any], None]:
    if on.exactly_once:
        def handle(self: Any, envelope: EventEnvelope, *gathered: Any) -> None:
            on.handle(self, envelope, *gathered)

        handle.__module__, handle.__qualname__ = service, name  # the dedupe key: "<service>.<name>"
        body_handler: Callable[[Any, Any], Any] = idempotent_handler(gather=on.gather)(handle)
    else:
        body_handler = on.handle

    def method(self: Any, body: Any) -> None:
        body_handler(self, body)
        if on.then is not None:
            on.then(self)

    method.__name__ = method.__qualname__ = name
    return method
