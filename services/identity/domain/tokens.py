"""Opaque secrets handed to a user once (session tokens, email confirmation links).

Pure domain code. Only the SHA-256 of a token is stored: the token carries at least 128
random bits, so a fast hash is enough (there is nothing to brute-force) and lets the
database look a token up by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MIN_BYTES = 16  # 128 bits


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token of ``nbytes`` random bytes (at least 16 = 128 bits)."""
    if nbytes < MIN_BYTES:
        raise ValueError(f"a token needs at least {MIN_BYTES} random bytes, not {nbytes}")
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """The hex SHA-256 of ``token``: what is stored and looked up, never the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(token: str, token_hash: str) -> bool:
    """Whether ``token`` hashes to ``token_hash``, compared in constant time."""
    return hmac.compare_digest(hash_token(token).encode("ascii"), token_hash.encode("utf-8"))
