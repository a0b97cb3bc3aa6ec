"""Every error answers {"error": {"code", "message", "details"}} with the right status."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from nameko.exceptions import RemoteError
from pydantic import BaseModel, Field

from contracts.base import SafeText
from contracts.errors import (
    BOUNDARY_ERRORS,
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
    ValidationFailed,
)
from gateway.app import create_app
from gateway.deps import Rpc
from gateway.settings import GatewaySettings
from tests.support.fake_rpc import FakeRpcClient


class Item(BaseModel):
    name: str = Field(min_length=1)


class ThingRequest(BaseModel):
    email: str
    count: int = Field(ge=1)
    items: list[Item] = []
    label: SafeText | None = None


router = APIRouter()


@router.get("/raise/{name}")
def raise_error(name: str) -> None:
    raise next(exc for exc in BOUNDARY_ERRORS if exc.__name__ == name)("it went wrong", {"x": 1})


@router.post("/things")
def create_thing(body: ThingRequest) -> dict[str, str]:
    return {"email": body.email}


@router.get("/boom")
def boom() -> None:
    raise RuntimeError("secret internals at /srv/app.py line 12")


@router.get("/remote/{service}")
def remote(service: str, rpc: Rpc) -> object:
    return rpc.call(service, "do_it")


@pytest.fixture
def fake() -> FakeRpcClient:
    return FakeRpcClient(
        {
            ("tenancy", "do_it"): NotFound("no such account", {"account_id": "a"}),
            ("billing", "do_it"): RemoteError("KeyError", "'card' at billing/cards.py:12"),
            ("audit", "do_it"): ValidationFailed.for_field("from", "must be before to"),
        }
    )


@pytest.fixture
def client(fake: FakeRpcClient) -> TestClient:
    app = create_app(GatewaySettings(), rpc_client_factory=lambda _: fake)
    app.include_router(router)
    return TestClient(app)


def assert_error_body(response, status: int, code: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ValidationFailed, 422, "validation_failed"),
        (NotAuthenticated, 401, "not_authenticated"),
        (PermissionDenied, 403, "permission_denied"),
        (NotFound, 404, "not_found"),
        (Conflict, 409, "conflict"),
        (Throttled, 429, "throttled"),
    ],
)
def test_boundary_errors_keep_their_status_code_and_details(client, error, status, code):
    error_body = assert_error_body(client.get(f"/raise/{error.__name__}"), status, code)

    assert error_body["message"] == "it went wrong"
    assert error_body["details"] == {"x": 1}


@pytest.mark.parametrize(
    "error", [exc for exc in BOUNDARY_ERRORS if exc.status < 500], ids=lambda exc: exc.__name__
)
def test_every_client_boundary_error_answers_its_own_status_and_code(client, error):
    error_body = assert_error_body(client.get(f"/raise/{error.__name__}"), error.status, error.code)

    assert error_body["details"] == {"x": 1}


def test_not_authenticated_asks_for_a_bearer_token(client):
    response = client.get("/raise/NotAuthenticated")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_service_unavailable_is_503_with_the_correlation_id(client):
    response = client.get("/raise/ServiceUnavailable", headers={"X-Correlation-ID": "req-503"})

    error_body = assert_error_body(response, 503, "service_unavailable")
    assert error_body["details"]["correlation_id"] == "req-503"


def test_a_bare_portal_error_is_an_internal_error_with_a_generic_message(client):
    response = client.get("/raise/PortalError")

    error_body = assert_error_body(response, 500, "internal_error")
    assert "it went wrong" not in response.text
    assert error_body["details"] == {"correlation_id": response.headers["X-Correlation-ID"]}


def test_validation_error_names_each_field_by_its_dotted_path(client):
    response = client.post("/things", json={"count": 0, "items": [{"name": ""}]})

    error_body = assert_error_body(response, 422, "validation_failed")
    fields = {entry["field"]: entry["reason"] for entry in error_body["details"]["fields"]}
    assert set(fields) == {"email", "count", "items.0.name"}
    assert "greater than or equal to 1" in fields["count"]
    assert error_body["message"].startswith("email: ")


def test_malformed_json_is_a_validation_error_on_the_body(client):
    response = client.post("/things", content=b"{not json", headers={"Content-Type": "application/json"})

    error_body = assert_error_body(response, 422, "validation_failed")
    assert [entry["field"] for entry in error_body["details"]["fields"]] == ["body"]


def test_unexpected_exception_is_500_without_a_trace(client):
    response = client.get("/boom", headers={"X-Correlation-ID": "req-boom"})

    error_body = assert_error_body(response, 500, "internal_error")
    assert error_body["details"] == {"correlation_id": "req-boom"}
    assert response.headers["X-Correlation-ID"] == "req-boom"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text


def test_unknown_route_is_404_in_the_error_shape(client):
    error_body = assert_error_body(client.get("/api/v1/no-such-thing"), 404, "not_found")

    assert error_body["details"] == {}


def test_wrong_method_is_405_in_the_error_shape_with_allow_header(client):
    response = client.delete("/healthz")

    assert_error_body(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_a_service_boundary_error_through_rpc_maps_to_its_status(client):
    error_body = assert_error_body(client.get("/remote/tenancy"), 404, "not_found")

    assert error_body["details"] == {"account_id": "a"}


def test_a_service_validation_error_through_rpc_names_the_field(client):
    error_body = assert_error_body(client.get("/remote/audit"), 422, "validation_failed")

    assert error_body["details"]["fields"] == [{"field": "from", "reason": "must be before to"}]


def test_a_remote_crash_is_500_without_its_details(client):
    response = client.get("/remote/billing")

    assert_error_body(response, 500, "internal_error")
    assert "cards.py" not in response.text and "KeyError" not in response.text


def test_a_service_that_does_not_answer_is_503(client):
    error_body = assert_error_body(client.get("/remote/notify"), 503, "service_unavailable")

    assert error_body["details"]["service"] == "notify"
    assert error_body["details"]["reason"] == "not running (no consumer)"


def test_openapi_documents_the_api(client):
    document = client.get("/openapi.json").json()

    assert document["info"]["title"] == "Backup Reseller Portal API"
    assert document["info"]["version"] == "1"
    assert "503" in document["paths"]["/healthz"]["get"]["responses"]
    assert client.get("/docs").status_code == 200


def test_a_validators_own_words_are_the_reason_without_pydantics_prefix(client):
    response = client.post("/things", json={"email": "a@example.com", "count": 1, "items": [{"name": "x"}],
                                            "label": "bad\x07label"})
    fields = response.json()["error"]["details"]["fields"]

    assert response.status_code == 422
    assert fields == [{"field": "label", "reason": fields[0]["reason"]}]
    assert not fields[0]["reason"].startswith("Value error"), fields
