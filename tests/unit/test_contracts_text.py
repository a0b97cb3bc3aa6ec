"""No control characters in what people type: every text field of every request contract.

A name like ``"Harbour\\x00MSP"`` or ``"\\x07\\x1b[31mHarbour"`` was stored as sent and then
shown in the console, mails, CSV exports and logs. C0 and C1 control characters (and DEL)
are refused in every name, description and other free text with a 422 naming the field;
a tab is allowed. No request field is documented as multi-line, so a newline is refused too.
Secrets (passwords, one-time codes, tokens) are compared, never shown, and keep any character.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.base import WireModel
from tests.unit.test_contracts import EXAMPLES, all_contract_models

REQUEST_SUFFIXES = ("Request", "Update", "Query", "Filters")
SECRET = re.compile(r"password|token|_code$|secret")
NOT_TEXT_FORMATS = {"uuid", "date", "date-time", "email"}


def is_request(model: type[WireModel]) -> bool:
    return model.__name__.endswith(REQUEST_SUFFIXES) or model.__name__ == "BillingDetails"


def is_text(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    kinds = {option.get("type") for option in options} - {"null"}
    return kinds == {"string"} and not any(
        "enum" in o or "const" in o or o.get("format") in NOT_TEXT_FORMATS for o in options)


def text_fields() -> list[tuple[type[WireModel], str]]:
    found = []
    for model in sorted(all_contract_models(), key=lambda m: m.__name__):
        if not is_request(model):
            continue
        properties = model.model_json_schema()["properties"]
        found += [(model, name) for name, schema in properties.items() if is_text(schema) and not SECRET.search(name)]
    return found


TEXT_FIELDS = text_fields()
CONTROL = ["Harbour\x00MSP", "\x07\x1b[31mHarbour MSP", "Harbour\nMSP", "Harbour\rMSP", "Harbour\x0bMSP",
           "Harbour\x7fMSP", "Harbour\x85MSP", "Harbour\x9bMSP"]


def with_field(model: type[WireModel], field: str, value: str) -> dict[str, Any]:
    return {**EXAMPLES[model].to_wire(), field: value}


def test_the_request_contracts_have_text_fields_to_guard():
    names = {f"{model.__name__}.{field}" for model, field in TEXT_FIELDS}
    assert {"PartnerCreateRequest.name", "CreateUserRequest.display_name", "IpEntryRequest.description",
            "BillingDetails.address_line1", "RecipientRequest.display_name", "BackupTaskRequest.name"} <= names


@pytest.mark.parametrize(("model", "field"), TEXT_FIELDS, ids=[f"{m.__name__}.{f}" for m, f in TEXT_FIELDS])
def test_every_text_field_of_a_request_refuses_control_characters_naming_the_field(model, field):
    for value in CONTROL:
        with pytest.raises(ValidationError) as refused:
            model.model_validate(with_field(model, field, value))
        assert [error["loc"] for error in refused.value.errors()] == [(field,)], value


FREE_TEXT = [(m, f) for m, f in TEXT_FIELDS if f in {"name", "display_name", "to_name", "description", "contact_name",
                                                     "address", "address_line1", "company", "city", "search"}]


@pytest.mark.parametrize(("model", "field"), FREE_TEXT, ids=[f"{m.__name__}.{f}" for m, f in FREE_TEXT])
def test_a_tab_and_any_printable_character_are_kept(model, field):
    value = "Harbour\tMSP \u2014 \u00dcn\u00efc\u00f8d\u00e9 \u2713"
    parsed = model.model_validate(with_field(model, field, value))
    assert getattr(parsed, field) == value
