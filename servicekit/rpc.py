"""RPC plumbing shared by services (and the gateway's client side).

- Boundary errors from :mod:`contracts.errors` are registered with nameko so the caller
  gets the same typed exception back instead of a ``RemoteError``.
- The patient reply publisher (docs/runtime-traps.md §2): a worker that finishes while the broker
  is briefly away retries its reply for minutes instead of crashing the service.
- ``rpc`` is nameko's decorator with boundary errors marked as expected (logged as
  warnings, not as crashes), consuming from a quorum queue with a delivery limit and a
  dead-letter queue (:mod:`servicekit.rpc_queues`).
"""

from __future__ import annotations

from typing import Any

import nameko.rpc
from nameko.amqp.publish import Publisher
from nameko.exceptions import get_module_path, registry

from contracts.errors import BOUNDARY_ERRORS
from servicekit.rpc_queues import Rpc as QuorumRpc

PATIENT_RETRY_POLICY = {
    "max_retries": 120,
    "interval_start": 0.5,
    "interval_step": 1,
    "interval_max": 5,
}


class PatientPublisher(Publisher):
    """Publishes a service's RPC replies: retried for minutes while the broker is away, and
    not confirmed. The caller waits for the reply itself, so a confirm tells it nothing; a
    reply lost with its broker ends as the caller's timeout either way (a failed confirm
    would only leave the request unacknowledged, to be run again for nobody). Waiting for
    each confirm cost the service and the broker a round trip per call."""

    retry_policy = PATIENT_RETRY_POLICY
    use_confirms = False


def register_boundary_errors() -> None:
    for exc_type in BOUNDARY_ERRORS:
        registry[get_module_path(exc_type)] = exc_type


def install() -> None:
    register_boundary_errors()
    nameko.rpc.Responder.publisher_cls = PatientPublisher


install()

def rpc(fn: Any = None, **options: Any) -> Any:
    """nameko's ``@rpc`` with boundary errors expected; usable bare or with options.

    (nameko's own decorator drops keyword options when used bare, hence this wrapper.) The
    entrypoint is :class:`servicekit.rpc_queues.Rpc`: every RPC method of a service
    must come from here, never from ``nameko.rpc.rpc``.
    """
    options.setdefault("expected_exceptions", BOUNDARY_ERRORS)
    if fn is None:
        return QuorumRpc.decorator(**options)
    return QuorumRpc.decorator(**options)(fn)
