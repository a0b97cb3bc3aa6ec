"""The AsyncAPI document (gateway/asyncapi.py, docs/asyncapi.json) covers exactly the declared
events, with the payload fields the models and docs/events.md name."""

from __future__ import annotations

import json
import re
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from contracts import events
from contracts.envelope import EventEnvelope
from contracts.event_payloads import EVENT_PAYLOADS, UNENVELOPED
from contracts.identity_events import SignedIn
from contracts.tenancy import BackupRunRecorded
from gateway.app import create_app
from gateway.asyncapi import DOCUMENT, build_document, render
from gateway.settings import GatewaySettings
from tests.support.asyncapi import schema_errors
from tests.support.fake_rpc import FakeRpcClient

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "events.md"
DECLARED: list[StrEnum] = [member for enum in events.EVENT_SOURCES for member in enum]


def payload_schema(document: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The schema of the event's payload: the envelope's ``payload``, or the whole body unenveloped."""
    payload = document["components"]["messages"][event_type]["payload"]
    ref = payload["allOf"][1]["properties"]["payload"]["$ref"] if "allOf" in payload else payload["oneOf"][0]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_committed_asyncapi_document_is_what_the_generator_writes():
    assert DOCUMENT.read_text() == render(build_document()), (
        "docs/asyncapi.json is stale: run `make asyncapi` and commit it")


def test_every_event_type_has_a_payload_model_and_a_channel_in_the_asyncapi_document():
    document = build_document()

    without_model = [member.value for member in DECLARED if member not in EVENT_PAYLOADS]
    without_channel = [member.value for member in DECLARED if member.value not in document["channels"]]

    assert not without_model, f"add a payload model to contracts.event_payloads.EVENT_PAYLOADS: {without_model}"
    assert not without_channel, f"no channel in the AsyncAPI document: {without_channel}"


def test_every_type_in_the_asyncapi_document_is_a_declared_event():
    document = build_document()
    declared = {member.value for member in DECLARED}

    assert set(document["channels"]) <= declared
    assert set(document["components"]["messages"]) <= declared
    assert {op["channel"]["$ref"].rsplit("/", 1)[1] for op in document["operations"].values()} <= declared


def test_each_channel_is_its_routing_key_on_its_services_exchange():
    document = build_document()

    for member in DECLARED:
        channel = document["channels"][member.value]
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (channel["address"], exchange["name"], exchange["type"]) == (
            member.value, f"{events.source_of(member)}.events", "topic")


def test_every_payload_field_is_in_its_message_schema():
    document = build_document()

    for event, model in EVENT_PAYLOADS.items():
        schema = payload_schema(document, event.value)
        assert set(schema["properties"]) == set(model.model_fields), event.value
        assert schema["additionalProperties"] is False, f"{event.value}: the schema must be strict for producers"


def test_an_enveloped_message_fixes_its_type_source_and_version():
    body = EventEnvelope(type="signed_in", source="identity", payload=SignedIn(
        user_id=uuid.uuid4(), email="a@example.com", method="password", two_factor=False).to_wire()).to_wire()

    assert schema_errors(body, "signed_in") == []
    assert schema_errors({**body, "type": "signed_out"}, "signed_in")
    assert schema_errors({**body, "source": "tenancy"}, "signed_in")
    assert schema_errors({**body, "version": 2}, "signed_in")


def test_a_payload_field_the_contract_does_not_name_fails_its_message_schema():
    body = EventEnvelope(type="signed_in", source="identity", payload={
        "user_id": str(uuid.uuid4()), "email": "a@example.com", "method": "password", "two_factor": False,
        "password": "leaked"}).to_wire()

    assert any("password" in error for error in schema_errors(body, "signed_in"))


# ---- docs/events.md agrees with the models ---------------------------------------------------------------

# The one row of the catalogue that does not list its model's fields one by one:
# "`runs`: a list (1 to 1,000) of `run_id`, …" names the fields of each run too.
RUN_FIELDS = {"run_id", "task_id", "account_id", "owner_id", "status", "started_at", "finished_at", "size_bytes",
              "seats", "latest"}
DOCUMENTED_OTHERWISE: dict[str, set[str]] = {"backup_runs_recorded": {"runs", *RUN_FIELDS}}


def catalogue_fields() -> dict[str, set[str]]:
    """Each type's payload fields as the catalogue's tables name them (values in parentheses left out)."""
    text = CATALOGUE.read_text()
    section = text[text.index("## Catalogue"):text.index("## Subscribing from outside")]
    fields: dict[str, set[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        types_cell, payload_cell = line.split("|")[1:3]
        while re.search(r"\([^()]*\)", payload_cell):
            payload_cell = re.sub(r"\([^()]*\)", "", payload_cell)
        for event_type in re.findall(r"`([a-z_]+)`", types_cell):
            fields[event_type] = set(re.findall(r"`([a-z_]+)`", payload_cell))
    return fields


def test_a_batch_of_recorded_runs_documents_the_fields_of_each_run():
    assert set(BackupRunRecorded.model_fields) == RUN_FIELDS


def test_the_catalogue_names_the_payload_fields_of_each_model():
    documented = catalogue_fields()
    mismatches = {}
    for event, model in EVENT_PAYLOADS.items():
        if event in UNENVELOPED:
            continue  # the engine's message: "the same fields as POST /api/v1/ingest/backup-runs"
        expected = DOCUMENTED_OTHERWISE.get(event.value, set(model.model_fields))
        if documented.get(event.value) != expected:
            mismatches[event.value] = {"docs/events.md": sorted(documented.get(event.value, ())),
                                       model.__name__: sorted(expected)}

    assert not mismatches, f"docs/events.md and the payload models differ: {json.dumps(mismatches, indent=1)}"


def test_the_gateway_serves_the_asyncapi_document_without_a_session():
    client = TestClient(create_app(GatewaySettings(), rpc_client_factory=lambda _: FakeRpcClient({})))

    response = client.get("/asyncapi.json")

    assert response.status_code == 200
    assert response.json() == json.loads(DOCUMENT.read_text())
