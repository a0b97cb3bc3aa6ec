"""``portal``: the command's entry point, and the one place that names every service.

``portal migrate`` and ``portal revision`` need each service's migrations folder; the registry
below lists them explicitly (no lookup by name at run time), in the order ``migrate`` applies
them. The verbs themselves live in the kit (servicekit/cli.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

# The kit's command patches the standard library for eventlet first (servicekit/cli.py).
from servicekit import cli as kit_cli
from services.audit import adapters as audit
from services.billing import adapters as billing
from services.identity import adapters as identity
from services.notify import adapters as notify
from services.tenancy import adapters as tenancy


def _migrations(adapters: ModuleType) -> Path:
    return Path(adapters.__file__ or "").parent / "migrations"


REGISTRY: dict[str, Path] = {
    "identity": _migrations(identity),
    "tenancy": _migrations(tenancy),
    "billing": _migrations(billing),
    "audit": _migrations(audit),
    "notify": _migrations(notify),
}


def main(argv: list[str] | None = None) -> int:
    return kit_cli.main(REGISTRY, argv)


if __name__ == "__main__":
    sys.exit(main())
