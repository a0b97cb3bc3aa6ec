"""The loopback OpenID Connect providers of the tests (tests/e2e/oidc_provider.py), as the tests
start and steer them."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class OidcProvider:
    """One running provider: its issuer URL and the client id the portal is given for it."""

    name: str
    issuer: str
    client_id: str

    def set_user(self, subject: str, claims: dict[str, Any]) -> None:
        """The claims the provider puts in this subject's next ID tokens (see tests/e2e/oidc_provider.py)."""
        response = requests.put(f"{self.issuer}/users/{subject}", json=claims, timeout=10)
        assert response.status_code == 204, response.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def running_provider(name: str, log: Path, **popen: Any) -> Iterator[OidcProvider]:
    """A provider process on a free loopback port, answering its discovery document."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.e2e.oidc_provider", str(port)], cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, **popen)
    try:
        issuer = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not _answers(f"{issuer}/.well-known/openid-configuration"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} OpenID provider did not start: {log.read_text()}")
            time.sleep(0.1)
        yield OidcProvider(name, issuer, f"portal-test-{name}")
    finally:
        process.terminate()
        process.wait(timeout=10)
