from services.identity.adapters.password_hashing import hash_password, needs_rehash, verify_password


def test_password_is_hashed_with_argon2id_and_verifies():
    hashed = hash_password("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong horse battery")
    assert not needs_rehash(hashed)


def test_a_garbled_hash_never_verifies():
    assert not verify_password("not-a-hash", "anything")
