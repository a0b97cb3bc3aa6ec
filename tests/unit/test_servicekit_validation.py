import pytest
from pydantic import BaseModel, Field

from contracts.base import SafeText
from contracts.errors import ValidationFailed
from contracts.notify import SendMailRequest
from servicekit.validation import parse


class Inner(BaseModel):
    lines: list[str] = Field(min_length=1)
    password: str = Field(min_length=12)


def test_parse_returns_the_model_for_good_input():
    request = parse(SendMailRequest, {"template": "t", "to": "a@example.com", "idempotency_key": "k"})

    assert isinstance(request, SendMailRequest) and request.to == "a@example.com"


def test_parse_names_every_wrong_field_in_the_details():
    with pytest.raises(ValidationFailed) as caught:
        parse(SendMailRequest, {"template": "Bad Name", "to": "not-an-address", "idempotency_key": "k",
                                "surprise": 1})

    fields = {f["field"] for f in caught.value.details["fields"]}
    assert fields == {"template", "to", "surprise"}
    assert all(f["reason"] for f in caught.value.details["fields"])
    assert caught.value.code == "validation_failed"


def test_parse_prefixes_nested_field_names_with_dots():
    with pytest.raises(ValidationFailed) as caught:
        parse(Inner, {"lines": ["ok", 5], "password": "x"}, prefix="context")

    assert {f["field"] for f in caught.value.details["fields"]} == {"context.lines.1", "context.password"}


def test_parse_never_copies_the_rejected_value_into_the_error():
    with pytest.raises(ValidationFailed) as caught:
        parse(Inner, {"lines": ["a"], "password": "hunter2-pw"})

    assert "hunter2-pw" not in repr(caught.value.args)


def test_parse_of_something_that_is_not_a_mapping_names_the_input():
    with pytest.raises(ValidationFailed) as caught:
        parse(SendMailRequest, ["not", "a", "dict"])

    assert caught.value.details["fields"][0]["field"] == "input"


class Named(BaseModel):
    name: SafeText


def test_a_validators_own_words_reach_the_client_without_pydantics_prefix():
    with pytest.raises(ValidationFailed) as raised:
        parse(Named, {"name": "bad\x07name"})

    reason = raised.value.details["fields"][0]["reason"]
    assert not reason.startswith("Value error"), reason
    assert "control characters" in reason
