"""A local install's encryption key: made once under var/, readable by the owner only.

Production sets the service's ``*_SECRET_KEY`` from its secret store instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet


def read_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting together keep whichever key was written first.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as out:
        out.write(key)
    return key
