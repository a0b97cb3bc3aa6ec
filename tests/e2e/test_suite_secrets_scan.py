"""No password, token, TOTP secret or recovery code is kept in clear anywhere we write.

The test makes each kind of secret through the HTTP API, waits for the mail and events
those actions cause, then reads every database table, every outbox event and every log
file of the running suite looking for them.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tests.e2e.database_scan import database_text
from tests.e2e.identity_client import DEMO_ADMIN, Client, Mailbox, signed_in
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.e2e

SERVICES = ("identity", "tenancy", "billing", "audit", "notify")


def standalone(code: str) -> re.Pattern[str]:
    """``code`` not as part of a longer word, number, id or timestamp."""
    return re.compile(rf"(?<![\w.:+-]){re.escape(code)}(?![\w.:+-])")


def test_standalone_finds_a_code_as_a_value_but_not_inside_ids_or_timestamps():
    assert standalone("123456").search('{"code": "123456"}')
    assert standalone("123456").search("code=123456 ")
    assert not standalone("123456").search("2026-11-26T16:54:54.123456+00:00 9123456 ab123456cd 1f-123456-aa")


def test_secrets_never_appear_in_clear_in_databases_events_or_logs(suite):
    admin = signed_in(suite.base_url, *DEMO_ADMIN)
    mail = Mailbox(suite.var_dir)
    email = f"scan-{uuid.uuid4().hex[:8]}@northwind-backup.example"
    password = f"scan passphrase {uuid.uuid4().hex[:10]}"
    admin.post("/api/v1/users", json={"email": email, "role": "custom", "permissions": ["view_dashboard"]})
    confirmation = mail.new_confirmation_token(email)
    user = Client(suite.base_url)
    assert user.post("/api/v1/auth/confirm-email", json={"token": confirmation, "password": password}).status_code == 204
    assert user.sign_in(email, password).status_code == 200
    session_token = user.token
    setup = user.post("/api/v1/me/two-factor/setup").json()
    totp = pyotp.TOTP(setup["secret"])
    enabling_code = totp.at(datetime.now(UTC) - timedelta(seconds=30))
    enabled = user.post("/api/v1/me/two-factor/enable", json={"code": enabling_code})
    assert enabled.status_code == 200, enabled.text
    recovery = enabled.json()["recovery_codes"]
    second = Client(suite.base_url)
    assert second.sign_in(email, password, recovery_code=recovery[0]).status_code == 200
    sign_in_code = totp.now()
    third = Client(suite.base_url)
    assert third.sign_in(email, password, totp_code=sign_in_code).status_code == 200
    new_password = f"scan changed passphrase {uuid.uuid4().hex[:10]}"
    changed = third.post("/api/v1/me/password", json={"current_password": password, "new_password": new_password,
                                                      "confirm_password": new_password})
    assert changed.status_code == 204, changed.text
    wrong = Client(suite.base_url).sign_in(email, "a wrong passphrase guess")
    assert wrong.status_code == 401

    secrets = {
        "password": password,
        "changed password": new_password,
        "wrong password": "a wrong passphrase guess",
        "demo password": DEMO_ADMIN[1],
        "confirmation token": confirmation,
        "session token": session_token,
        "second session token": second.token,
        "third session token": third.token,
        "totp secret": setup["secret"],
        **{f"recovery code {i}": code for i, code in enumerate(recovery)},
    }
    # Six digits also occur by chance inside ids, hashes and timestamps' fractions: a code
    # counts as found when it stands alone (as a JSON string, a form value, a log field...).
    codes = {"totp enabling code": enabling_code, "totp sign-in code": sign_in_code}
    # The mail is delivered (it is in the Maildir); its stored body is scrubbed in the same
    # commit that marks it sent, which may land a moment after the file appears.
    notify_url = suite.env["NOTIFY_DATABASE_URL"]
    wait_for(lambda: confirmation not in database_text(notify_url), timeout=10,
             message="notify to forget the delivered confirmation link")
    places = {f"{service} database": lambda s=service: database_text(suite.env[f"{s.upper()}_DATABASE_URL"])
              for service in SERVICES}
    places.update({f"{name} log": (lambda p=path: p.read_text(errors="replace"))
                   for name, path in suite.log_paths.items()})

    found = [f"{secret_name} in {place}"
             for place, read in places.items()
             for text in [read()]
             for secret_name, secret in secrets.items() if secret and secret in text]
    found += [f"{code_name} in {place}"
              for place, read in places.items()
              for text in [read()]
              for code_name, code in codes.items() if standalone(code).search(text)]

    assert found == []
