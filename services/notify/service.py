"""notify: recipients, outgoing mail, webhook endpoints and deliveries."""

from __future__ import annotations

from pathlib import Path

from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging

configure_logging("notify")


class NotifyService(ServiceBase):
    name = "notify"

    db = Database(Path(__file__).parent / "migrations")
