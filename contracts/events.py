"""Event names: the routing keys on each service's ``<service>.events`` exchange.

The full catalogue with payloads is docs/events.md; a test checks the two agree.
"""

from __future__ import annotations

from enum import StrEnum


class IdentityEvent(StrEnum):
    USER_CREATED = "user_created"
    OPERATOR_BOOTSTRAPPED = "operator_bootstrapped"


class TenancyEvent(StrEnum):
    TENANT_CREATED = "tenant_created"


class NotifyEvent(StrEnum):
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"


SERVICES = ("identity", "tenancy", "billing", "audit", "notify")
