"""Prometheus metrics of a service: its RPCs, event handlers, outbox, dead letters and pool.

Every service class gets a :class:`Metrics` dependency from :class:`servicekit.base.ServiceBase`.
When ``PORTAL_METRICS_PORT`` is set (``make run`` gives each service its own port; the
README lists them), it serves ``/metrics`` on that port (``PORTAL_METRICS_HOST``, default
127.0.0.1) with the ``prometheus_client`` library. It records the following:

- each worker's result: RPCs by method and outcome (``ok``, a boundary error's code, or
  ``error`` for an unexpected failure), event handlers by event type and outcome
  (``handled`` or ``failed``), each with a latency histogram; events dead-lettered by type
  (counted by :class:`servicekit.events.ReliableEventHandler`, which knows the delivery count);
- every ``PORTAL_METRICS_SAMPLE_SECONDS`` (10 s), the outbox (rows waiting, age of the
  oldest), the depth of this service's dead-letter queues and the database pool's use.

Labels hold bounded values only: service, method, event type, outcome, error code and
queue names. They never hold an id, an email or anything a caller chose.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import eventlet
import sqlalchemy as sa
from amqp.exceptions import ChannelError
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.errors import PortalError
from servicekit.events import ReliableEventHandler, dead_letter_queue_name
from servicekit.logging import get_logger
from servicekit.outbox import outbox

log = get_logger(__name__)

# Latency buckets from a cached read (a few ms) to an RPC deadline (10 s).
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_CALLS = Counter("portal_rpc_calls", "RPC calls a service answered, by method and outcome",
                    ["service", "method", "outcome"])
RPC_LATENCY = Histogram("portal_rpc_duration_seconds", "Time a service took to answer an RPC",
                        ["service", "method"], buckets=LATENCY_BUCKETS)
EVENTS_HANDLED = Counter("portal_events_handled", "Events a service's handlers took, by type and outcome "
                         "(handled, failed)", ["service", "event", "outcome"])
EVENT_LATENCY = Histogram("portal_event_handler_duration_seconds", "Time an event handler took",
                          ["service", "event"], buckets=LATENCY_BUCKETS)
OUTBOX_WAITING = Gauge("portal_outbox_waiting", "Events committed but not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("portal_outbox_oldest_age_seconds",
                          "Age of the oldest event waiting in the outbox (0 when none waits)", ["service"])
DEAD_LETTERS = Gauge("portal_dead_letter_messages", "Messages parked in a dead-letter queue", ["service", "queue"])
DB_POOL = Gauge("portal_db_pool_connections", "Database connections of the service's pool, by state",
                ["service", "state"])
METRICS_SAMPLE_FAILURES = Counter("portal_metrics_sample_failures", "Samples of the outbox or the broker "
                                  "that could not be read", ["service", "what"])


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_METRICS_", extra="ignore")

    port: int | None = Field(default=None, ge=1, le=65535, description="serve /metrics here; unset: off")
    host: str = "127.0.0.1"
    sample_seconds: float = Field(default=10.0, gt=0, le=600)

    @field_validator("port", mode="before")
    @classmethod
    def _empty_is_off(cls, value: Any) -> Any:
        return None if value == "" else value  # supervisord passes an unset port as ""


def outcome_of_error(error: BaseException | None) -> str:
    """``ok``; a boundary error's code (``not_found``, ``throttled``…); else ``error``."""
    if error is None:
        return "ok"
    return error.code if isinstance(error, PortalError) else "error"


def outcome_of(exc_info: Any) -> str:
    """:func:`outcome_of_error` for a nameko worker's ``exc_info``."""
    return outcome_of_error(None if exc_info is None else exc_info[1])


class Metrics(DependencyProvider):
    """Times every worker and samples the service's backlog; serves ``/metrics`` if asked to."""

    def __init__(self) -> None:
        self._started: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._running = False

    def setup(self) -> None:
        self.settings = MetricsSettings()
        self.service = self.container.service_name

    def start(self) -> None:
        if self.settings.port is None:
            return
        try:
            start_http_server(self.settings.port, addr=self.settings.host)
        except OSError as exc:  # the port is taken (a second instance on one host): serve without
            log.warning("metrics port unavailable; metrics are not served", port=self.settings.port,
                        error=type(exc).__name__)
            return
        log.info("metrics served", port=self.settings.port)
        self._running = True
        self.container.spawn_managed_thread(self._sample_forever, identifier="metrics_sampler")

    def stop(self) -> None:
        self._running = False

    def kill(self) -> None:
        self._running = False

    # ---- workers -------------------------------------------------------------------------------------------------

    def worker_setup(self, worker_ctx: Any) -> None:
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            method = entrypoint.method_name
            RPC_CALLS.labels(self.service, method, outcome_of(exc_info)).inc()
            RPC_LATENCY.labels(self.service, method).observe(elapsed)
        elif isinstance(entrypoint, ReliableEventHandler):
            event = entrypoint.event_type
            EVENTS_HANDLED.labels(self.service, event, "handled" if exc_info is None else "failed").inc()
            EVENT_LATENCY.labels(self.service, event).observe(elapsed)

    # ---- samples -------------------------------------------------------------------------------------------------

    def _sample_forever(self) -> None:
        while self._running:
            self.sample()
            eventlet.sleep(self.settings.sample_seconds)

    def sample(self) -> None:
        engine = self._engine()
        if engine is not None:
            self._sample_outbox(engine)
            self._sample_pool(engine)
        self._sample_dead_letters()

    def _engine(self) -> sa.Engine | None:
        for dependency in self.container.dependencies:
            engine = getattr(dependency, "engine", None)
            if isinstance(engine, sa.Engine):
                return engine
        return None

    def _sample_outbox(self, engine: sa.Engine) -> None:
        try:
            with engine.connect() as connection:
                waiting, oldest = connection.execute(
                    sa.select(sa.func.count(), sa.func.min(outbox.c.created_at))
                    .where(outbox.c.published_at.is_(None))).one()
        except Exception as exc:  # the database is away: keep the last figures, count the miss
            METRICS_SAMPLE_FAILURES.labels(self.service, "outbox").inc()
            log.warning("outbox sample failed", error=type(exc).__name__)
            return
        OUTBOX_WAITING.labels(self.service).set(waiting)
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        OUTBOX_OLDEST_AGE.labels(self.service).set(
            max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest is not None else 0.0)

    def _sample_pool(self, engine: sa.Engine) -> None:
        pool: Any = engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if callable(checked_out) and callable(size):
            DB_POOL.labels(self.service, "in_use").set(checked_out())
            DB_POOL.labels(self.service, "size").set(size())

    def dead_letter_queues(self) -> list[str]:
        """``dlq.rpc-<service>`` and the dead-letter queue of each of its event handlers."""
        names = {dead_letter_queue_name(f"rpc-{self.service}")}
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, ReliableEventHandler):
                names.add(dead_letter_queue_name(entrypoint.queue.name))
        return sorted(names)

    def _sample_dead_letters(self) -> None:
        try:
            with Connection(self.container.config["AMQP_URI"], connect_timeout=5) as connection:
                for name in self.dead_letter_queues():
                    try:
                        _, messages, _ = connection.channel().queue_declare(name, passive=True)
                    except ChannelError:  # not declared (yet): a closed channel, not a depth
                        continue
                    DEAD_LETTERS.labels(self.service, name).set(messages)
        except Exception as exc:  # the broker is away: keep the last figures, count the miss
            METRICS_SAMPLE_FAILURES.labels(self.service, "dead_letters").inc()
            log.warning("dead-letter sample failed", error=type(exc).__name__)


class EntrypointOutcomes(DependencyProvider):
    """Hands the outcome of chosen entrypoints to ``record(method, outcome)``: a service's
    own families (sign-ins, billing runs) without touching its entrypoints."""

    def __init__(self, methods: frozenset[str], record: Callable[[str, str], None]) -> None:
        self.methods = methods
        self.record = record

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        method = worker_ctx.entrypoint.method_name
        if method in self.methods:
            self.record(method, outcome_of(exc_info))
