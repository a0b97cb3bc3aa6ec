"""The gateway's RPC client: nameko RPC from plain (threaded) FastAPI endpoints.

Two nameko pitfalls shape it: a standalone RPC proxy is not thread-safe, and a call to a
service that is down would wait forever. Hence:

- one long-lived broker connection and reply queue **per thread** (standalone proxies are
  not thread-safe; a proxy per request leaks reply queues), created lazily, replaced
  after a broker error;
- every call has a deadline: a service that is down gives ``ServiceUnavailable`` (503)
  in time instead of a hang;
- every request message carries an AMQP ``expiration`` equal to that deadline, so a
  request the gateway gave up on is dropped by RabbitMQ instead of being executed when
  the stopped service comes back;
- the reply queue is exclusive to its connection: it goes away with the connection
  instead of lingering for nameko's five minutes;
- the caller's correlation id and :class:`~contracts.context.Caller` travel as nameko
  context data with every call;
- boundary errors come back as their :mod:`contracts.errors` types (``servicekit.rpc``).

Use it through :class:`RpcClient`::

    client.call("tenancy", "get_account", payload, context=ctx, timeout=5)
    results = client.call_many({"tenancy": ("dashboard_rows", q), "billing": ("amounts", q)},
                               context=ctx)
    rows = results["tenancy"].unwrap()

Routes never name a service or method: they use the typed clients of :mod:`gateway.clients`,
bound to the request's context by ``gateway.deps.Rpc`` (``rpc.tenancy.get_account(account_id)``;
fan-outs from their ``*_call`` forms).
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import amqp.exceptions
import kombu.exceptions
import structlog
from kombu import Connection, Queue
from nameko import serialization
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.containers import WorkerContext
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import Entrypoint
from nameko.rpc import MethodProxy, RpcReply
from nameko.standalone.rpc import PollingQueueConsumer, SingleThreadedReplyListener

import servicekit.rpc  # noqa: F401  (registers boundary errors: they come back typed)
from contracts.context import CALLER_KEY, CORRELATION_ID_KEY, Caller
from contracts.errors import PortalError, ServiceUnavailable
from gateway.metrics import record_rpc
from gateway.tracing import ClientSpans, client_spans

log = structlog.stdlib.get_logger("gateway.rpc")

BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, broken pipe (socket.timeout is handled before)
    amqp.exceptions.AMQPError,  # the broker closed the channel or connection
    kombu.exceptions.OperationalError,
)
"""What means "the broker connection is broken": answer 503 and start afresh."""

FAST_FAIL_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class RequestContext(NamedTuple):
    """What travels with every call of one HTTP request: its correlation id and caller.

    The sending side only; a service reads them back into its own per-call context
    (``servicekit.context``)."""

    correlation_id: str
    caller: Caller

    def as_context_data(self) -> dict[str, Any]:
        return {CORRELATION_ID_KEY: self.correlation_id, CALLER_KEY: self.caller.to_wire()}


@dataclass(frozen=True)
class Call:
    """One RPC of a :meth:`RpcClient.call_many` fan-out."""

    service: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


CallSpec = Call | tuple[Any, ...]
"""A :class:`Call`, or ``(method, *args)`` when the fan-out's key names the service."""


@dataclass(frozen=True)
class CallResult:
    """The outcome of one call of a fan-out: a value or an error, never both."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    def raise_refusal(self) -> None:
        """Raise the service's refusal of the request itself (a 4xx: bad input, no permission):
        that is the caller's answer. Any other failure is left for the caller to degrade on."""
        if isinstance(self.error, PortalError) and 400 <= self.error.status < 500:
            raise self.error


def unavailable(service: str, reason: str) -> ServiceUnavailable:
    """The error of a call that got no answer; ``details.reason`` says why."""
    return ServiceUnavailable(
        f"the {service} service is not available right now ({reason})",
        {"service": service, "reason": reason},
    )


class RpcClient(ABC):
    """What the routes need. :class:`NamekoRpcClient` is the real one; tests subclass it
    with fakes that answer from a table."""

    def call(
        self,
        service: str,
        method: str,
        *args: Any,
        context: RequestContext | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """One RPC; raises the service's boundary error, or ServiceUnavailable (503)."""
        result = self.call_many(
            {service: Call(service, method, args, kwargs)}, context=context, timeout=timeout
        )
        return result[service].unwrap()

    @abstractmethod
    def call_many(
        self,
        calls: Mapping[str, CallSpec],
        *,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> dict[str, CallResult]:
        """Send every call at once, then collect the replies before one common deadline.

        Each result fails on its own: a service that is down does not spoil the others.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections (at shutdown)."""


def as_call(key: str, spec: CallSpec) -> Call:
    if isinstance(spec, Call):
        return spec
    method, *args = spec
    return Call(key, method, tuple(args))


# --- nameko pieces, adapted -------------------------------------------------------------


class _FastFailPublisher(Publisher):
    """Publishes requests; gives up at once when the broker is away (the caller says 503)."""

    retry_policy = FAST_FAIL_POLICY
    transport_options = {**FAST_FAIL_POLICY, "confirm_publish": True}


class _MethodProxy(MethodProxy):
    """nameko's method proxy; ``expiration`` (seconds) is passed on to the publisher."""

    publisher_cls = _FastFailPublisher


class _Request(Entrypoint):
    method_name = "request"


class _Container:
    """The little of a nameko container that the reply listener and proxies read."""

    service_name = "gateway"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.shared_extensions: dict[Any, Any] = {}


class _ReplyConsumer(PollingQueueConsumer):
    """Polls the reply queue until a deadline; drops late replies of abandoned calls."""

    def __init__(self, connect_timeout: float) -> None:
        super().__init__(timeout=None)
        self.connect_timeout = connect_timeout
        self.deadline = 0.0  # time.monotonic() by which the awaited reply must be here
        self.timeout_seconds = 0.0  # for the RpcTimeout message only

    def register_provider(self, provider: Any) -> None:
        config = provider.container.config
        self.provider = provider
        self.serializer, self.accept = serialization.setup(config)
        self.connection = Connection(
            config[AMQP_URI_CONFIG_KEY],
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            connect_timeout=self.connect_timeout,
        )
        # kombu would retry a refused connection after 2 s; the caller wants a 503 now.
        self.connection.ensure_connection(**FAST_FAIL_POLICY, reraise_as_library_errors=False)
        # Exclusive (and so auto-deleted): the queue dies with its connection.
        self.queue = Queue(
            provider.queue.name,
            exchange=provider.queue.exchange,
            routing_key=provider.queue.routing_key,
            durable=False,
            exclusive=True,
        )
        self._setup_consumer()
        self.stopped = False

    def on_message(self, body: Any, message: Any) -> None:
        correlation_id = message.properties.get("correlation_id")
        if correlation_id not in self.provider._reply_events:
            message.ack()  # the answer to a call that timed out: nobody waits for it
            return
        self.replies[correlation_id] = (body, message)

    def get_message(self, correlation_id: str) -> None:
        try:
            while correlation_id not in self.replies:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self.consumer.connection.drain_events(timeout=remaining)
        except TimeoutError:  # also socket.timeout
            # py-amqp keeps a partly read frame across a timeout: the connection stays good.
            event = self.provider._reply_events.pop(correlation_id, None)
            if event is not None:
                event.send_exception(RpcTimeout(self.timeout_seconds))
            return
        body, message = self.replies.pop(correlation_id)
        self.provider.handle_message(body, message)


class _ReplyListener(SingleThreadedReplyListener):
    def __init__(self, connect_timeout: float) -> None:
        super().__init__()
        self.queue_consumer = _ReplyConsumer(connect_timeout)


def _stop_listener(listener: _ReplyListener) -> None:
    with contextlib.suppress(Exception):  # closing a connection that is already broken
        listener.stop()


class _ThreadConnection:
    """One thread's broker connection and reply queue. Never shared between threads."""

    def __init__(self, config: dict[str, Any], connect_timeout: float) -> None:
        self.container = _Container(config)
        self.listener: _ReplyListener = _ReplyListener(connect_timeout).bind(self.container)
        self.listener.setup()  # connects: raises one of BROKER_ERRORS when it cannot
        # Closed when its thread ends (threading.local drops it) or at shutdown.
        self.close = weakref.finalize(self, _stop_listener, self.listener)

    def check(self) -> None:
        """Before reuse: read what arrived while idle. Late replies are dropped; a close
        from the broker (restart, admin) raises, so that a fresh connection is made before
        the next request goes out instead of that request failing."""
        consumer = self.listener.queue_consumer
        connection = consumer.connection
        if consumer.stopped or not connection.connected:
            raise ConnectionError("reply connection is closed")
        sock = connection.connection.sock
        while select.select([sock], [], [], 0)[0]:
            try:
                connection.drain_events(timeout=0.05)
            except TimeoutError:
                return

    def send(self, call: Call, context_data: dict[str, Any], timeout: float) -> RpcReply:
        worker_ctx = WorkerContext(self.container, None, _Request, data=dict(context_data))
        proxy = _MethodProxy(worker_ctx, call.service, call.method, self.listener, expiration=timeout)
        return proxy.call_async(*call.args, **call.kwargs)

    def forget_unanswered(self) -> None:
        """Drop the reply events of requests that never went out (nameko registers one
        before publishing, and an unroutable request leaves it behind)."""
        self.listener._reply_events.clear()

    def wait(self, reply: RpcReply, deadline: float, timeout: float) -> Any:
        consumer = self.listener.queue_consumer
        consumer.deadline, consumer.timeout_seconds = deadline, timeout
        try:
            return reply.result()
        except RuntimeError as exc:
            # ConsumeEvent's "consumer has been disconnected/stopped": a broker problem.
            # Remote RuntimeErrors arrive as nameko RemoteError, never as RuntimeError.
            raise ConnectionError(str(exc)) from exc


# --- the client ---------------------------------------------------------------------------


class NamekoRpcClient(RpcClient):
    """Thread-safe facade: each thread lazily gets its own :class:`_ThreadConnection`."""

    def __init__(
        self,
        amqp_uri: str,
        *,
        default_timeout: float = 10.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.config = {AMQP_URI_CONFIG_KEY: amqp_uri, "serializer": "json"}
        self.default_timeout = default_timeout
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()

    def call_many(
        self,
        calls: Mapping[str, CallSpec],
        *,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> dict[str, CallResult]:
        timeout = timeout or self.default_timeout
        started = time.monotonic()
        specs = {key: as_call(key, spec) for key, spec in calls.items()}
        results = self._call_many(specs, context, timeout, started + timeout)
        elapsed = time.monotonic() - started
        for key, call in specs.items():
            record_rpc(call.service, call.method, results[key].error, elapsed)
        return results

    def _call_many(self, specs: dict[str, Call], context: RequestContext | None, timeout: float,
                   deadline: float) -> dict[str, CallResult]:
        with client_spans(specs) as spans:
            results = self._send_and_wait(specs, context.as_context_data() if context else {}, spans,
                                          timeout, deadline)
            for key, result in results.items():
                spans.finish(key, result.error)
            return results

    def _send_and_wait(self, specs: dict[str, Call], context_data: dict[str, Any], spans: ClientSpans,
                       timeout: float, deadline: float) -> dict[str, CallResult]:
        results: dict[str, CallResult] = {}
        try:
            connection = self._connection()
        except BROKER_ERRORS as exc:
            return {key: self._broker_failed(call, exc) for key, call in specs.items()}

        pending: dict[str, RpcReply] = {}
        broken = False
        for key, call in specs.items():
            try:
                pending[key] = connection.send(call, {**context_data, **spans.headers(key)}, timeout)
            except UnknownService:
                results[key] = CallResult(error=unavailable(call.service, "not running (no consumer)"))
            except BROKER_ERRORS as exc:
                broken = True
                results[key] = self._broker_failed(call, exc)
        for key, reply in pending.items():
            service = specs[key].service
            try:
                results[key] = CallResult(value=connection.wait(reply, deadline, timeout))
            except RpcTimeout:
                results[key] = CallResult(error=unavailable(service, f"timeout after {timeout:g} s"))
            except BROKER_ERRORS as exc:
                broken = True
                results[key] = self._broker_failed(specs[key], exc)
            except Exception as exc:  # boundary errors, nameko RemoteError: the caller decides
                results[key] = CallResult(error=exc)
        connection.forget_unanswered()
        if broken:
            self._reset(connection)
        return {key: results[key] for key in specs}

    def close(self) -> None:
        """Close every thread's connection (at shutdown)."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()
        self._local = threading.local()

    # Internals ----------------------------------------------------------------------------

    def _connection(self) -> _ThreadConnection:
        connection: _ThreadConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                connection.check()
                return connection
            except BROKER_ERRORS:
                self._reset(connection)
        connection = _ThreadConnection(self.config, self.connect_timeout)
        self._local.connection = connection
        with self._lock:
            self._connections.add(connection)
        return connection

    def _reset(self, connection: _ThreadConnection) -> None:
        if getattr(self._local, "connection", None) is connection:
            del self._local.connection
        with self._lock:
            self._connections.discard(connection)
        connection.close()

    @staticmethod
    def _broker_failed(call: Call, exc: BaseException) -> CallResult:
        log.warning(
            "rpc_broker_error",
            target=f"{call.service}.{call.method}",
            error=type(exc).__name__,
            detail=str(exc),
        )
        return CallResult(error=unavailable(call.service, "message broker unreachable"))


__all__ = [
    "Call",
    "CallResult",
    "CallSpec",
    "NamekoRpcClient",
    "RequestContext",
    "RpcClient",
    "as_call",
    "unavailable",
]
