"""Every error answers ``{"error": {"code", "message", "details"}}``, the same shape the services' boundary
errors travel in (docs/http-api.md, "Errors").

- boundary errors (:mod:`contracts.errors`) keep their ``status`` and ``code``;
- request validation → 422 ``validation_failed`` naming each wrong field;
- HTTP errors (unknown route, wrong method, ...) → their status in the same shape;
- anything else → 500 ``internal_error`` with a generic message and the correlation id;
  the exception is logged here, a stack trace never leaves the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.errors import PortalError, ServiceUnavailable
from servicekit.validation import reason_of

log = structlog.stdlib.get_logger("gateway.errors")

# Set on request.state by gateway.auth when identity refuses the token the request sent.
REFUSED_BEARER = "rejected_bearer"

INTERNAL_ERROR_MESSAGE = "Something went wrong on our side; quote the correlation id to support."

HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "throttled",
    503: "service_unavailable",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable error code")
    message: str = Field(description="human-readable explanation")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def bearer_challenge(request: Request) -> str:
    """RFC 6750: a request whose token was rejected (unknown, malformed, ended, expired) is
    told ``invalid_token``; one that sent none gets the bare challenge."""
    return 'Bearer error="invalid_token"' if getattr(request.state, REFUSED_BEARER, False) else "Bearer"


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, details=details or {}))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def correlation_id_of(request: Request) -> str | None:
    return getattr(request.state, "correlation_id", None)


def internal_error_response(correlation_id: str | None, exc: BaseException) -> JSONResponse:
    """Log ``exc`` with its trace, answer a generic 500 that names the correlation id."""
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return error_response(
        500, "internal_error", INTERNAL_ERROR_MESSAGE, {"correlation_id": correlation_id}
    )


def field_path(loc: Sequence[Any]) -> str:
    """``("body", "items", 0, "name")`` → ``"items.0.name"``; query/path keep their prefix."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "body"


async def _portal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PortalError)
    if exc.status >= 500 and not isinstance(exc, ServiceUnavailable):
        return internal_error_response(correlation_id_of(request), exc)
    details = exc.details
    if isinstance(exc, ServiceUnavailable):
        log.warning("service_unavailable", detail=exc.message)
        details["correlation_id"] = correlation_id_of(request)
    headers = {"WWW-Authenticate": bearer_challenge(request)} if exc.status == 401 else None
    retry_after = details.get("retry_after") if isinstance(details, dict) else None
    if exc.status == 429 and isinstance(retry_after, int):
        headers = {"Retry-After": str(retry_after)}
    message = exc.message or exc.code.replace("_", " ")
    return error_response(exc.status, exc.code, message, details, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": "body" if error.get("type") == "json_invalid" else field_path(error["loc"]),
            "reason": reason_of(error),
        }
        for error in exc.errors()
    ]
    first = f"{fields[0]['field']}: {fields[0]['reason']}" if fields else "invalid request"
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return error_response(422, "validation_failed", first + more, {"fields": fields})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    details: dict[str, Any] = {} if isinstance(exc.detail, str) else {"detail": exc.detail}
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, details, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return internal_error_response(correlation_id_of(request), exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PortalError, _portal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Exception handlers run in Starlette's outermost middleware; RequestContextMiddleware
    # answers unexpected errors itself first, so that they get its header and access log.
    app.add_exception_handler(Exception, _unexpected_error)
