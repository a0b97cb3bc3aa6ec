"""Identity keeps answering while notify is stopped (its queue still in place): a mail
request gives up after IDENTITY_NOTIFY_TIMEOUT_SECONDS instead of holding the worker, so a
stream of invitations cannot take every worker identity has."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from servicekit.settings import normalise_database_url
from services.identity.adapters.models import User
from services.identity.entrypoints import IdentityService
from services.notify.entrypoints import NotifyService
from tests.support import billing_simulation as simulate
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration


def test_identity_answers_and_invites_every_administrator_while_notify_is_down(
    start_services: Any, rpc_proxy: Any, nameko_config: dict[str, Any]
) -> None:
    start_services(NotifyService).stop()  # notify's queue stays, with nobody reading it
    start_services(IdentityService, env={"IDENTITY_NOTIFY_TIMEOUT_SECONDS": "1"})
    tag, partner = uuid.uuid4().hex[:8], uuid.uuid4()
    # More new accounts at once than identity has workers (10): each invites its administrator.
    events = [simulate.account_created(uuid.uuid4(), partner, "partner", f"Quiet {tag} {n}") for n in range(15)]
    emails = [event.payload["email"] for event in events]
    simulate.publish(nameko_config["AMQP_URI"], events)

    # Answered while the invitations' mail requests wait for notify (the proxy gives up at 15 s).
    assert rpc_proxy.identity.health()["status"] == "ok"

    engine = sa.create_engine(normalise_database_url(os.environ["IDENTITY_DATABASE_URL"]))
    try:
        def invited() -> int:
            with engine.connect() as connection:
                return int(connection.execute(sa.select(sa.func.count()).select_from(User)
                                              .where(User.email.in_(emails))).scalar() or 0)

        wait_for(lambda: invited() == len(emails), timeout=30, message="every administrator to be invited")
    finally:
        engine.dispose()
