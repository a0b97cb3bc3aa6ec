"""API fuzzing: schemathesis generates requests for every operation of ``/openapi.json`` and
sends them, signed in as a distributor administrator of a world of its own, to the running suite.

Every response must be no server error (5xx), carry a status the document declares, and
match the documented schema and content type. Operations that would take the fuzzed user's
own session or credentials away, or lock it out, are left out (``SKIPPED``); operator-only
operations are sent with the distributor's token, so they are answered 403 (and checked).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.identity_client import OPERATOR, Client, Mailbox, signed_in, unique_ip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PASSWORD = "fuzzing never breaks the harbour wall"
EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SKIPPED = {
    ("POST", "/api/v1/auth/sign-out"): "ends the fuzzing session",
    ("POST", "/api/v1/me/password"): "changes the fuzzing user's password",
    ("POST", "/api/v1/me/two-factor/setup"): "2FA of the fuzzing user",
    ("POST", "/api/v1/me/two-factor/enable"): "2FA of the fuzzing user",
    ("DELETE", "/api/v1/me/two-factor"): "2FA of the fuzzing user",
    ("PUT", "/api/v1/security/ip-restrictions"): "may lock the fuzzing user out",
    ("POST", "/api/v1/security/ip-restrictions/entries"): "may lock the fuzzing user out",
    ("PUT", "/api/v1/security/password-policy"): "may expire the fuzzing user's password",
}
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def fuzz_admin(suite) -> Client:
    """The administrator of a distributor made for the fuzzing only."""
    operator = signed_in(suite.base_url, *OPERATOR)
    tag = uuid.uuid4().hex[:8]
    email = f"fuzz-{tag}@fuzz.example"
    created = operator.post("/api/v1/operator/distributors", json={
        "name": f"Fuzz {tag}", "email": f"billing-{tag}@fuzz.example", "country": "US", "data_center": "us-east-1",
        "admin_email": email, "admin_password": PASSWORD})
    assert created.status_code == 201, created.text
    token = Mailbox(suite.var_dir).new_confirmation_token(email, timeout=30)
    assert Client(suite.base_url).post("/api/v1/auth/confirm-email", json={"token": token}).status_code == 204
    return signed_in(suite.base_url, email, PASSWORD)


def fuzz_operation(operation: Any, base_url: str, token: str) -> tuple[int, list[str]]:
    sent = 0
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        nonlocal sent
        # A fresh address per request: the fuzzed sign-ins must not throttle each other.
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": unique_ip("198.18")}
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as failure:
            if len(failures) < 3:
                failures.append(f"{response.status_code}: {str(failure)[:600]}")

    run()
    return sent, failures


def test_no_operation_answers_a_server_error_or_off_its_documented_schema(suite, fuzz_admin):
    schema = schemathesis.openapi.from_url(suite.base_url + "/openapi.json")
    assert fuzz_admin.token is not None
    sent = operations = 0
    found: dict[str, list[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        operations += 1
        count, failures = fuzz_operation(operation, suite.base_url, fuzz_admin.token)
        sent += count
        if failures:
            found[f"{key[0]} {key[1]}"] = failures

    FIGURES.update(operations=operations, skipped=len(SKIPPED), requests=sent, failing_operations=len(found))
    print("fuzzing:", json.dumps(FIGURES))
    assert not found, "\n\n".join(f"{name}\n" + "\n".join(msgs) for name, msgs in found.items())
