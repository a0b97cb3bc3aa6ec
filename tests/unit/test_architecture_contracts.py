"""The architecture's import contracts (pyproject.toml, `make lint`) hold, and each one can fail.

Every contract is broken on purpose in a temporary copy of the packages: a contract that
cannot fail would guard nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("contracts", "servicekit", "services", "gateway", "testprocessor")

# contract id -> (the module written into the copy, the import that breaks the contract)
BREAKS = {
    "services-independent": ("services/billing/usecases/peek_at_tenancy.py",
                             "import services.tenancy.adapters.models\n"),
    "gateway-without-services": ("gateway/peek_at_identity.py", "import services.identity.entrypoints\n"),
    "contracts-without-runtime": ("contracts/with_a_database.py", "import sqlalchemy\n"),
    "kit-knows-no-service": ("servicekit/knows_billing.py", "import services.billing.adapters\n"),
    "domain-is-pure": ("services/tenancy/domain/with_a_database.py", "import sqlalchemy\n"),
    "processor-stands-alone": ("testprocessor/knows_billing.py", "import services.billing.adapters.models\n"),
}
# The domain is pure of the kit's I/O too, not only of third-party I/O.
MORE_BREAKS = [
    ("domain-is-pure", "services/identity/domain/with_the_outbox.py", "from servicekit import outbox\n"),
    ("domain-is-pure", "services/notify/domain/with_nameko.py", "import nameko.rpc\n"),
    ("domain-is-pure", "services/billing/domain/with_an_adapter.py", "import services.billing.adapters.models\n"),
    ("contracts-without-runtime", "contracts/with_the_kit.py", "import servicekit.db\n"),
    ("gateway-without-services", "gateway/frames_the_processor.py", "import testprocessor.store\n"),
]


def lint(copy: Path, contract: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(LINT_IMPORTS), "--no-cache"] + (["--contract", contract] if contract else [])
    # The copy comes first on the path, before the editable install of the real tree.
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("architecture")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    yield target


def test_every_contract_is_kept_by_the_code_as_it_is(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_contract_in_pyproject_has_a_break_here() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert {contract["id"] for contract in config["contracts"]} == set(BREAKS)


@pytest.mark.parametrize(
    ("contract", "module", "line"),
    [(contract, module, line) for contract, (module, line) in BREAKS.items()] + MORE_BREAKS,
)
def test_a_forbidden_import_breaks_its_contract(copy: Path, contract: str, module: str, line: str) -> None:
    path = copy / module
    assert path.parent.is_dir(), f"{path.parent} is gone: the layout changed, move the break"
    path.write_text(line)
    try:
        result = lint(copy, contract)
    finally:
        path.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
