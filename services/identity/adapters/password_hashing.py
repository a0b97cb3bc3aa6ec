"""Password hashing: argon2id through argon2-cffi.

One hash or verify takes ~100 ms of CPU; on the eventlet hub it would hold every other green
thread of the service back (docs/runtime-traps.md §10). The use cases call the ``*_off_the_hub``
forms, which run it in a native thread (argon2-cffi releases the GIL)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 defaults


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def hash_off_the_hub(password: str) -> str:
    return str(tpool.execute(hash_password, password))


def verify_off_the_hub(password_hash: str, password: str) -> bool:
    return bool(tpool.execute(verify_password, password_hash, password))
