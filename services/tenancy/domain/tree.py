"""Pure rules of the tenant tree: which kind may sit under which, paths, display codes."""

from __future__ import annotations

import secrets
import uuid

from contracts.vocabulary import TenantKind

# Sub-distributors exist in the field: a distributor may sit under a distributor.
ALLOWED_PARENTS: dict[TenantKind, frozenset[TenantKind]] = {
    TenantKind.OPERATOR: frozenset(),
    TenantKind.DISTRIBUTOR: frozenset({TenantKind.OPERATOR, TenantKind.DISTRIBUTOR}),
    TenantKind.PARTNER: frozenset({TenantKind.DISTRIBUTOR}),
    TenantKind.ACCOUNT: frozenset({TenantKind.DISTRIBUTOR, TenantKind.PARTNER}),
}

# No 0/O or 1/I: partner codes are read out over the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def may_have_parent(kind: TenantKind, parent_kind: TenantKind | None) -> bool:
    if parent_kind is None:
        return kind is TenantKind.OPERATOR
    return parent_kind in ALLOWED_PARENTS[kind]


def child_path(parent_path: str, child_id: uuid.UUID) -> str:
    return f"{parent_path}{child_id}/"


def path_ids(path: str) -> list[uuid.UUID]:
    """The ids along ``path``, root first: ``/a/b/`` is ``[a, b]``."""
    return [uuid.UUID(part) for part in path.strip("/").split("/") if part]


def root_path(root_id: uuid.UUID) -> str:
    return f"/{root_id}/"


def is_within(path: str, ancestor_path: str) -> bool:
    return path.startswith(ancestor_path)


def new_partner_code() -> str:
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
