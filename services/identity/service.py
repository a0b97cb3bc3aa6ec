"""identity: users, credentials, sessions, 2FA, IP and password policies."""

from __future__ import annotations

from pathlib import Path

from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging
from services.identity.bootstrap import bootstrap_operator

configure_logging("identity")


class IdentityService(ServiceBase):
    name = "identity"

    db = Database(Path(__file__).parent / "migrations", on_start=bootstrap_operator)
