"""structlog JSON lines carrying service, correlation_id, tenant_id, user_id and trace_id.

Everything, nameko's and the libraries' stdlib logging included, goes through one
formatter, so a log line is always one JSON object. Keys that name a secret are
replaced before rendering: a password, token, OTP or card number never reaches a log.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

SECRET_KEY_PARTS = (
    "password",
    "secret",
    "token",
    "otp",
    "totp",
    "recovery_code",
    "card_number",
    "cvc",
    "cvv",
    "authorization",
    "api_key",
)
REDACTED = "[redacted]"

_configured_service: str | None = None


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event" and _is_secret_key(key):
            event_dict[key] = REDACTED
    return event_dict


def add_trace_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The current span's ``trace_id`` and ``span_id`` (when tracing is on: servicekit.tracing)."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


def _add_default_service(service: str):
    def processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def configure_logging(service: str, level: str | None = None, fmt: str | None = None,
                      force: bool = False) -> None:
    """Configure structlog and stdlib logging for this process (idempotent unless ``force``).

    Level and format default to ``PORTAL_LOG_LEVEL`` / ``PORTAL_LOG_FORMAT``.
    """
    global _configured_service
    if _configured_service == service and not force:
        return
    if level is None or fmt is None:
        from servicekit.settings import KitSettings

        kit = KitSettings()
        level = level or kit.log_level
        fmt = fmt or kit.log_format
    _configured_service = service
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_default_service(service),
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "foreign_pre_chain": shared,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                }
            },
            "handlers": {
                "stdout": {
                    "class": "logging.StreamHandler",
                    "stream": sys.stdout,
                    "formatter": "structured",
                }
            },
            "root": {"handlers": ["stdout"], "level": level},
            "loggers": {
                # kombu/amqp debug chatter is noise at INFO and above.
                "amqp": {"level": "WARNING"},
                "kombu": {"level": "WARNING"},
                "alembic.runtime.plugins": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        # stdlib LoggerFactory so the handlers above (and nameko's LOGGING) apply.
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str | None = None) -> Any:
    return structlog.stdlib.get_logger(name)
