import hashlib

import pytest

from services.identity.domain.tokens import hash_token, new_token, tokens_match


def test_a_new_token_carries_at_least_128_random_bits_and_is_url_safe():
    token = new_token()

    assert len(token) >= 43  # 32 bytes in base64url
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert new_token() != token


def test_a_token_shorter_than_128_bits_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        new_token(15)
    assert len(new_token(16)) >= 22


def test_only_the_sha256_of_a_token_is_kept():
    token = new_token()

    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in hash_token(token)


def test_a_token_matches_its_own_hash_only():
    token = new_token()

    assert tokens_match(token, hash_token(token))
    assert not tokens_match(new_token(), hash_token(token))
    assert not tokens_match(token, "")
    assert not tokens_match(token, "é" * 64)
