"""Who may read a trail, which part of the tree it covers, and paging cursors. Pure.

The gateway checks the permission too; the service checks it again here (docs/architecture.md:
each service re-checks the caller itself).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from contracts.vocabulary import Permission


def authorise_reader(caller: Caller) -> None:
    """Administrators and users granted "view security audit" read their tenant's trail."""
    if caller.is_system:
        return
    if caller.user_id is None or caller.tenant_id is None:
        raise NotAuthenticated("sign in first")
    if caller.role != "administrator" and Permission.VIEW_SECURITY_AUDIT not in (caller.permissions or []):
        raise PermissionDenied(f"you need the '{Permission.VIEW_SECURITY_AUDIT}' permission")


def sees_everything(caller: Caller) -> bool:
    """The system and the vendor's operators (the root of the tree) read every trail."""
    return caller.is_system or caller.tenant_id == OPERATOR_TENANT_ID


def child_path(parent_path: str, child_id: uuid.UUID) -> str:
    return f"{parent_path}{child_id}/"


def root_path() -> str:
    return f"/{OPERATOR_TENANT_ID}/"


def subtree_range(path: str) -> tuple[str, str]:
    """[low, high) of every path at or below ``path`` ("/a/b/"), compared byte by byte:
    "/" is followed by "0", so every descendant "/a/b/…" sorts before "/a/b0"."""
    return path, path[:-1] + chr(ord(path[-1]) + 1)


def encode_cursor(occurred_at: datetime, entry_id: int) -> str:
    raw = f"{occurred_at.isoformat()}|{entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, entry_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        occurred_at = datetime.fromisoformat(at)
        if occurred_at.tzinfo is None:
            raise ValueError("naive time")
        return occurred_at, int(entry_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.for_field("cursor", "is not a cursor this service gave out") from None
