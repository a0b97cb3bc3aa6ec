"""Service-to-service RPC with a deadline.

nameko's ``RpcProxy`` waits for a reply forever. A service that is down while its queue
stays in place would then hold the calling worker for good, and enough such workers stop
the caller from answering anything at all (identity waiting on a stopped notify would no
longer answer sign-ins). Here every call gives up after ``timeout`` seconds with
:class:`RpcTimeout`, and its request expires unread in the other service's queue at the
same moment: nobody works on a question no one waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import eventlet
from kombu import Queue
from nameko.exceptions import UnknownService
from nameko.rpc import ReplyListener, RpcProxy, ServiceProxy

from contracts.errors import ServiceUnavailable


class RpcTimeout(TimeoutError):
    """The other service did not answer in time (it is down, or too busy)."""


@contextmanager
def answered(outcome: str) -> Iterator[None]:
    """Another service that is down (no answer in time, or no queue at all) becomes a
    ``ServiceUnavailable`` (503) saying ``outcome``: what was therefore not done."""
    try:
        yield
    except (RpcTimeout, UnknownService) as silent:
        raise ServiceUnavailable(f"{outcome} ({silent})") from None


class TimedServiceProxy:
    """A nameko ServiceProxy whose calls raise :class:`RpcTimeout` after ``timeout`` seconds."""

    def __init__(self, proxy: ServiceProxy, timeout: float) -> None:
        self._proxy = proxy
        self._timeout = timeout

    def __getattr__(self, method_name: str) -> Any:
        method = getattr(self._proxy, method_name)
        service, timeout = self._proxy.service_name, self._timeout

        def call(*args: Any, **kwargs: Any) -> Any:
            reply = method.call_async(*args, **kwargs)
            deadline = eventlet.Timeout(timeout)
            try:
                return reply.result()
            except eventlet.Timeout as expired:
                if expired is not deadline:
                    raise  # someone else's deadline
                raise RpcTimeout(f"{service}.{method_name} did not answer within {timeout:g}s") from None
            finally:
                deadline.cancel()

        return call

    def send_without_waiting(self, method_name: str, *args: Any, **kwargs: Any) -> None:
        """Publish the request and return at once; the answer, when it comes, is dropped.
        For a request whose caller must not wait (nor take longer) for the other service."""
        getattr(self._proxy, method_name).call_async(*args, **kwargs)


class TransientReplyListener(ReplyListener):
    """nameko's reply listener with a transient reply queue.

    nameko declares the queue durable. In a RabbitMQ cluster a durable classic queue
    belongs to the node it was declared on; while that node is down, declaring the queue
    again fails ("home node … is down"), and since the service's consumer declares all its
    queues at once, the service consumes nothing, its RPC queue included, until that node
    is back. A transient queue goes away with its node and is declared afresh on the node
    the service reconnects to. Losing it loses only the replies in flight, which their
    callers' deadlines cover.
    """

    def setup(self) -> None:
        super().setup()
        declared: Any = self.queue  # type: ignore[has-type]  # nameko is untyped
        self.queue = Queue(declared.name, exchange=declared.exchange, routing_key=declared.routing_key,
                           durable=False, auto_delete=True, queue_arguments=declared.queue_arguments)


class DeadlineRpcProxy(RpcProxy):
    """``RpcProxy(target)`` whose calls give up after ``timeout()`` seconds (read at start,
    so it comes from the service's settings)."""

    rpc_reply_listener = TransientReplyListener()
    options: dict[str, Any]

    def __init__(self, target_service: str, timeout: Callable[[], float], **options: Any) -> None:
        super().__init__(target_service, **options)
        self._timeout_setting = timeout
        self.timeout = 0.0  # read from the setting in setup()

    def setup(self) -> None:
        super().setup()
        self.timeout = float(self._timeout_setting())
        self.options = {**self.options, "expiration": self.timeout}

    def calling_context(self, worker_ctx: Any) -> Any:
        """The context the call carries (the worker's own: its caller and correlation id)."""
        return worker_ctx

    def get_dependency(self, worker_ctx: Any) -> Any:
        proxy = ServiceProxy(self.calling_context(worker_ctx), self.target_service, self.rpc_reply_listener,
                             **self.options)
        return TimedServiceProxy(proxy, self.timeout)
