"""tenancy: the tenant tree, customer accounts, trials, backup tasks and roll-ups."""

from __future__ import annotations

from pathlib import Path

from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging

configure_logging("tenancy")


class TenancyService(ServiceBase):
    name = "tenancy"

    db = Database(Path(__file__).parent / "migrations")
