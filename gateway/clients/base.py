"""What every typed service client shares: the request's RPC client, the service's name once,
and the fan-out form of a call (a :class:`~gateway.rpc.Call` for ``call_many``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from gateway.rpc import Call

if TYPE_CHECKING:
    from gateway.deps import RequestRpc

Wire = dict[str, Any]
"""A request or reply as it travels: JSON-ready, validated by the contract model on the other side."""


def as_text(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(value)


def trailing(value: uuid.UUID | str | None) -> tuple[str, ...]:
    """An optional last argument, sent only when given (a call without it is the one the
    service has always had: the caller's own tenant)."""
    return () if value is None else (str(value),)


def keyed(idempotency_key: str | None) -> dict[str, Any]:
    """The RPC keyword that makes a create idempotent (servicekit.request_keys), if any."""
    return {"idempotency_key": idempotency_key} if idempotency_key is not None else {}


class ServiceClient:
    service: ClassVar[str]

    def __init__(self, rpc: RequestRpc) -> None:
        self._rpc = rpc

    def _call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return self._rpc.call(self.service, method, *args, timeout=timeout, **kwargs)

    def ping(self) -> Wire:
        """A no-op round trip (every service has it: servicekit.base)."""
        return dict(self._call("ping"))

    def health_call(self) -> Call:
        """The service's ``health`` (servicekit.health) as one call of a fan-out."""
        return self.fan_out("health")

    def fan_out(self, method: str, *args: Any, **kwargs: Any) -> Call:
        """This service's ``method`` as one call of a ``call_many`` fan-out (answers arrive together)."""
        return Call(self.service, method, args, kwargs)
