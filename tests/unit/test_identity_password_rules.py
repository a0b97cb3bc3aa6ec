import time

import pytest

from contracts.errors import ValidationFailed
from services.identity.domain.password_rules import MAX_LENGTH, MIN_LENGTH, check_password, password_problem


def test_a_long_uncommon_passphrase_is_accepted():
    assert password_problem("correct horse battery staple") is None


def test_no_composition_rules_apply():
    assert password_problem("glacier lantern oatmeal") is None  # no digit, capital or symbol


def test_a_password_shorter_than_eight_characters_is_refused():
    assert MIN_LENGTH == 8
    assert password_problem("x7#kQ!z") == "must be at least 8 characters"


def test_passwords_of_128_and_more_characters_are_allowed():
    assert MAX_LENGTH >= 128
    assert password_problem("Vq8#mZ2!pL" * 13) is None  # 130 characters


def test_a_password_longer_than_the_maximum_is_refused():
    assert password_problem("a" * (MAX_LENGTH + 1)) == f"must be at most {MAX_LENGTH} characters"


def test_a_very_long_password_is_judged_quickly():
    started = time.monotonic()
    password_problem("Vq8#mZ2!pL" * 25)

    assert time.monotonic() - started < 2


@pytest.mark.parametrize("password", ["password", "password1", "qwertyuiop", "P@ssw0rd", "iloveyou2"])
def test_common_passwords_are_refused_with_zxcvbns_warning(password):
    reason = password_problem(password)

    assert reason is not None
    assert "common" in reason


def test_an_easily_guessed_password_is_refused():
    assert password_problem("aaaaaaaaaa") is not None
    assert password_problem("12345678987") is not None


def test_a_password_containing_the_email_local_part_is_refused():
    email = "margaret.hale@example.com"

    assert password_problem("margaret.hale", [email]) == "must not contain your email address"
    assert password_problem("Margaret.Hale-1987-plum", [email]) == "must not contain your email address"
    assert password_problem("Margaret.Hale-1987-plum") is None


def test_a_very_short_local_part_does_not_refuse_everything():
    assert password_problem("jostle cobalt nimbus", ["jo@example.com"]) is None


def test_check_password_names_the_field():
    with pytest.raises(ValidationFailed) as error:
        check_password("short", field="new_password")

    assert error.value.details["fields"] == [{"field": "new_password", "reason": "must be at least 8 characters"}]
    check_password("correct horse battery staple")
