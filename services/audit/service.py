"""audit: the append-only security audit trail."""

from __future__ import annotations

from pathlib import Path

from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging

configure_logging("audit")


class AuditService(ServiceBase):
    name = "audit"

    db = Database(Path(__file__).parent / "migrations")
