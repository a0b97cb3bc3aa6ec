"""Errors that may cross a service boundary.

Each has a stable ``code`` (the gateway's JSON error code) and an HTTP ``status`` the
gateway maps it to. They are rebuilt on the caller's side from ``args`` (message,
details), so both must stay JSON-serialisable.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class PortalError(Exception):
    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str = "", details: dict[str, Any] | str | None = None) -> None:
        # Details travel as one JSON string: nameko turns every non-string value inside
        # exception args into a string (8 → "8"), which would change their types.
        encoded = details if isinstance(details, str) else json.dumps(details or {}, default=str)
        super().__init__(message, encoded)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def details(self) -> dict[str, Any]:
        if len(self.args) < 2 or not self.args[1]:
            return {}
        decoded = json.loads(self.args[1]) if isinstance(self.args[1], str) else self.args[1]
        return dict(decoded) if isinstance(decoded, dict) else {}

    def __str__(self) -> str:
        return self.message


class ValidationFailed(PortalError):
    """Input is wrong; ``details`` = {"fields": [{"field", "reason"}]}."""

    code = "validation_failed"
    status = 422

    @classmethod
    def for_field(cls, field: str, reason: str) -> ValidationFailed:
        return cls(f"{field}: {reason}", {"fields": [{"field": field, "reason": reason}]})


class NotAuthenticated(PortalError):
    code = "not_authenticated"
    status = 401


class PermissionDenied(PortalError):
    code = "permission_denied"
    status = 403


class NotFound(PortalError):
    code = "not_found"
    status = 404


class Conflict(PortalError):
    code = "conflict"
    status = 409


class Throttled(PortalError):
    code = "throttled"
    status = 429


class ServiceUnavailable(PortalError):
    code = "service_unavailable"
    status = 503


BOUNDARY_ERRORS: tuple[type[PortalError], ...] = (
    PortalError,
    ValidationFailed,
    NotAuthenticated,
    PermissionDenied,
    NotFound,
    Conflict,
    Throttled,
    ServiceUnavailable,
)


# Specific refusals with their own stable codes (docs/http-api.md, "Errors").
class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class TwoFactorRequired(NotAuthenticated):
    code = "two_factor_required"


class SessionExpired(NotAuthenticated):
    code = "session_expired"


class AccessDenied(PermissionDenied):
    """The caller's address is not trusted by the tenant's IP restrictions."""

    code = "access_denied"


class PasswordExpired(PermissionDenied):
    """The session may only change the password."""

    code = "password_expired"


class OwnIpNotTrusted(Conflict):
    code = "own_ip_not_trusted"


class EmailNotConfirmed(NotAuthenticated):
    code = "email_not_confirmed"


class SsoNotConfigured(Conflict):
    """Microsoft/Google sign-in is stored and shown, but no identity provider is set up yet."""

    code = "sso_not_configured"


class SsoRefused(PermissionDenied):
    """A Microsoft or Google sign-in was refused; ``details.reason`` says which check failed
    (services/identity/domain/single_sign_on.py ``SsoRefusal``)."""

    code = "sso_refused"


class IdempotencyKeyReused(ValidationFailed):
    """The same Idempotency-Key came with a different request."""

    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    """The first request with this Idempotency-Key has not answered yet."""

    code = "request_in_progress"


SPECIFIC_ERRORS: tuple[type[PortalError], ...] = (
    InvalidCredentials,
    TwoFactorRequired,
    SessionExpired,
    AccessDenied,
    PasswordExpired,
    OwnIpNotTrusted,
    EmailNotConfirmed,
    SsoNotConfigured,
    IdempotencyKeyReused,
    RequestInProgress,
    SsoRefused,
)
BOUNDARY_ERRORS = BOUNDARY_ERRORS + SPECIFIC_ERRORS
