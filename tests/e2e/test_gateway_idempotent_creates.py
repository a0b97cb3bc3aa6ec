"""A create sent with an Idempotency-Key may be retried: the first answer comes again.

A client that timed out or got a 503 does not know whether its partner, account or user
was made. Retrying with the same key and body answers what the first request answered and
makes nothing new; the same key with another body is refused (422), not silently applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.identity_client import Client, error_code, new_distributor_admin, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a lighthouse keeps the harbour"


@pytest.fixture(scope="module")
def admin(suite: Any) -> Client:
    email = new_distributor_admin(suite, "Keyed Distribution", "keyed.example", PASSWORD)
    return signed_in(suite.base_url, email, PASSWORD)


def _partner(tag: str) -> dict[str, Any]:
    return {"name": f"Keyed MSP {tag}", "email": f"msp-{tag}@keyed.example", "country": "DE",
            "data_center": "eu-west-1"}


def _account(tag: str) -> dict[str, Any]:
    return {"name": f"Keyed Customer {tag}", "email": f"it-{tag}@keyed-customer.example"}


def _user(tag: str) -> dict[str, Any]:
    return {"email": f"user-{tag}@keyed.example", "role": "custom", "permissions": ["view_dashboard"]}


CREATES: dict[str, tuple[str, Callable[[str], dict[str, Any]], str]] = {
    # kind: (create path, body for a tag, list path)
    "partner": ("/api/v1/partners", _partner, "/api/v1/dashboard"),
    "account": ("/api/v1/accounts", _account, "/api/v1/direct-accounts"),
    "user": ("/api/v1/users", _user, "/api/v1/users"),
}


def _count(admin: Client, path: str, search: str) -> int:
    response = admin.get(path, params={"search": search})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


@pytest.mark.parametrize("kind", sorted(CREATES))
def test_the_same_key_and_body_answer_the_first_answer_and_create_nothing_new(admin: Client, kind: str) -> None:
    path, body_for, list_path = CREATES[kind]
    tag = uuid.uuid4().hex[:8]
    body, key = body_for(tag), str(uuid.uuid4())

    first = admin.post(path, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = admin.post(path, json=body, headers={"Idempotency-Key": key})

    assert (again.status_code, again.json()) == (201, first.json())
    assert _count(admin, list_path, tag) == 1


@pytest.mark.parametrize("kind", sorted(CREATES))
def test_the_same_key_with_another_body_is_422_and_creates_nothing(admin: Client, kind: str) -> None:
    path, body_for, list_path = CREATES[kind]
    tag, other = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    key = str(uuid.uuid4())
    assert admin.post(path, json=body_for(tag), headers={"Idempotency-Key": key}).status_code == 201

    reused = admin.post(path, json=body_for(other), headers={"Idempotency-Key": key})

    assert reused.status_code == 422, reused.text
    assert error_code(reused) == "idempotency_key_reused"
    assert [f["field"] for f in reused.json()["error"]["details"]["fields"]] == ["Idempotency-Key"]
    assert _count(admin, list_path, other) == 0


def test_a_failed_create_frees_its_key_for_the_corrected_retry(admin: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    key = str(uuid.uuid4())
    wrong = _partner(tag) | {"country": "Atlantis"}
    assert admin.post("/api/v1/partners", json=wrong, headers={"Idempotency-Key": key}).status_code == 422
    # The gateway refused that body before any service saw it; a service-side refusal
    # (a duplicate email) must free the key too.
    taken = _partner(uuid.uuid4().hex[:8])
    assert admin.post("/api/v1/partners", json=taken).status_code == 201
    duplicate = _partner(tag) | {"email": taken["email"]}
    assert admin.post("/api/v1/partners", json=duplicate, headers={"Idempotency-Key": key}).status_code == 409

    corrected = admin.post("/api/v1/partners", json=_partner(tag), headers={"Idempotency-Key": key})

    assert corrected.status_code == 201, corrected.text


def test_different_keys_make_different_objects_and_a_key_is_the_callers_own(suite: Any, admin: Client) -> None:
    key = str(uuid.uuid4())
    first = admin.post("/api/v1/accounts", json=_account(uuid.uuid4().hex[:8]), headers={"Idempotency-Key": key})
    second = admin.post("/api/v1/accounts", json=_account(uuid.uuid4().hex[:8]),
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]

    stranger = signed_in(suite.base_url, new_distributor_admin(suite, "Other Keys", "other-keys.example", PASSWORD),
                         PASSWORD)
    theirs = stranger.post("/api/v1/accounts", json=_account(uuid.uuid4().hex[:8]), headers={"Idempotency-Key": key})
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != first.json()["id"]


def test_a_key_longer_than_255_characters_is_422_naming_the_header(admin: Client) -> None:
    response = admin.post("/api/v1/accounts", json=_account(uuid.uuid4().hex[:8]),
                          headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 422, response.text
    assert "Idempotency-Key" in response.text
