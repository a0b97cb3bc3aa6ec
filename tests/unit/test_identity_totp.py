import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from services.identity.domain.totp import (
    RECOVERY_ALPHABET,
    code_at,
    hash_recovery_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    normalise_recovery_code,
    provisioning_uri,
    time_step,
)

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
SECRET = new_secret()
AT = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


@pytest.mark.parametrize(
    ("unix", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_codes_match_the_rfc_6238_sha1_test_vectors(unix, expected):
    assert code_at(RFC_SECRET, _at(unix), digits=8) == expected


def test_six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors():
    assert code_at(RFC_SECRET, _at(59)) == "287082"


def test_a_new_secret_is_160_bits_of_base32():
    secret = new_secret()

    assert len(base64.b32decode(secret)) == 20
    assert new_secret() != secret


def test_the_provisioning_uri_names_account_issuer_and_secret():
    uri = provisioning_uri(SECRET, "ann@example.com")

    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert "ann%40example.com" in parsed.path and "Backup%20Portal" in parsed.path
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Backup Portal"]


def test_a_current_code_matches_its_time_step():
    assert matching_step(SECRET, code_at(SECRET, AT), AT, None) == time_step(AT)


def test_a_code_is_accepted_once_only():
    step = matching_step(SECRET, code_at(SECRET, AT), AT, None)

    assert step is not None
    assert matching_step(SECRET, code_at(SECRET, AT), AT, last_used_step=step) is None


def test_a_code_older_than_the_last_used_one_is_refused():
    step = time_step(AT)
    earlier = code_at(SECRET, AT - timedelta(seconds=30))

    assert matching_step(SECRET, earlier, AT, last_used_step=step) is None


def test_the_next_code_is_accepted_after_one_was_used():
    step = time_step(AT)
    later = AT + timedelta(seconds=30)

    assert matching_step(SECRET, code_at(SECRET, later), later, last_used_step=step) == step + 1


@pytest.mark.parametrize("skew", [-30, 30])
def test_one_step_of_clock_skew_is_tolerated(skew):
    code = code_at(SECRET, AT + timedelta(seconds=skew))

    assert matching_step(SECRET, code, AT, None) == time_step(AT) + skew // 30


@pytest.mark.parametrize("skew", [-60, 60])
def test_two_steps_of_clock_skew_are_refused(skew):
    code = code_at(SECRET, AT + timedelta(seconds=skew))

    assert matching_step(SECRET, code, AT, None) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "------", "12345678"])
def test_malformed_codes_never_match_and_never_raise(code):
    assert matching_step(SECRET, code, AT, None) is None


def test_spaces_in_a_typed_code_are_ignored():
    code = code_at(SECRET, AT)

    assert matching_step(SECRET, f" {code[:3]} {code[3:]} ", AT, None) == time_step(AT)


def test_a_code_of_another_secret_does_not_match():
    assert matching_step(RFC_SECRET, "000000", _at(59), None) is None


def test_a_naive_time_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone"):
        code_at(SECRET, datetime(2026, 3, 1, 12, 0))


def test_recovery_codes_are_ten_distinct_codes_of_three_groups_of_four():
    codes = new_recovery_codes()

    assert len(codes) == len(set(codes)) == 10
    pattern = re.compile(rf"[{RECOVERY_ALPHABET}]{{4}}-[{RECOVERY_ALPHABET}]{{4}}-[{RECOVERY_ALPHABET}]{{4}}")
    assert all(pattern.fullmatch(code) for code in codes)


def test_recovery_codes_carry_at_least_60_bits():
    assert len(RECOVERY_ALPHABET) == len(set(RECOVERY_ALPHABET)) == 32  # 5 bits a character, 12 characters
    assert not set("ilou") & set(RECOVERY_ALPHABET)


def test_a_recovery_code_is_normalised_however_it_is_typed():
    assert normalise_recovery_code(" K7M2-9QXP 4trz ") == "k7m29qxp4trz"
    assert normalise_recovery_code("ab0c-d1ef-gh1k") == normalise_recovery_code("abOc-dIef-ghLk")


def test_a_recovery_code_is_stored_as_the_hash_of_its_normal_form():
    digest = hash_recovery_code("k7m2-9qxp-4trz")

    assert digest == hash_recovery_code("K7M2 9QXP 4TRZ")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "k7m2" not in digest
    assert digest != hash_recovery_code("k7m2-9qxp-4trx")


def test_the_demo_users_secret_is_base32_and_its_codes_match():
    from services.identity.usecases.demo import DEMO_TOTP_SECRET

    assert len(base64.b32decode(DEMO_TOTP_SECRET)) * 8 >= 160  # a real secret, not only a valid one
    assert matching_step(DEMO_TOTP_SECRET, code_at(DEMO_TOTP_SECRET, AT), AT, None) == time_step(AT)
