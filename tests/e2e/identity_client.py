"""HTTP helpers for the identity end-to-end tests: a signed-in client and the suite's mail."""

from __future__ import annotations

import mailbox
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.fixtures import wait_for

DEMO_ADMIN = ("admin@northwind-backup.example", "northwind-demo-2026")
OPERATOR = ("operator@e2e.example", "operator-e2e-password")


def unique_ip(prefix: str = "198.18") -> str:
    """A fresh benchmark-range address per test, so throttles and IP rules do not collide."""
    value = uuid.uuid4().int
    return f"{prefix}.{value % 250 + 1}.{(value >> 8) % 250 + 1}"


@dataclass
class Client:
    base_url: str
    ip: str = field(default_factory=unique_ip)
    token: str | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.ip, "User-Agent": "e2e-tests"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = self.headers(kwargs.pop("headers", None))
        return requests.request(method, self.base_url + path, headers=headers, timeout=15, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def sign_in(self, email: str, password: str, **codes: str) -> requests.Response:
        response = self.post("/api/v1/auth/sign-in", json={"email": email, "password": password, **codes})
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response


def signed_in(base_url: str, email: str, password: str, **codes: str) -> Client:
    client = Client(base_url)
    response = client.sign_in(email, password, **codes)
    assert response.status_code == 200, response.text
    return client


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


class Mailbox:
    """The suite's outgoing mail (the local Maildir under var/mail)."""

    def __init__(self, var_dir: Path) -> None:
        self.path = var_dir / "mail"

    def messages_to(self, address: str) -> list[Any]:
        if not self.path.exists():
            return []
        return [m for m in mailbox.Maildir(self.path, create=False) if address.lower() in str(m["To"]).lower()]

    def texts_to(self, address: str) -> list[str]:
        """Each mail to ``address`` as its subject and plain-text body."""
        return [f"{message['Subject']}\n{_plain_text(message)}" for message in self.messages_to(address)]

    def wait_for_text(self, address: str, needle: str, timeout: float = 15) -> str:
        """The first mail to ``address`` whose subject or text contains ``needle``."""
        found = wait_for(lambda: [t for t in self.texts_to(address) if needle in t], timeout=timeout,
                         message=f"a mail to {address} saying {needle!r}")
        return str(found[0])

    def confirmation_tokens(self, address: str) -> set[str]:
        tokens = set()
        for message in self.messages_to(address):
            match = re.search(r"confirm-email\?token=([A-Za-z0-9_\-]+)", _plain_text(message))
            if match:
                tokens.add(match.group(1))
        return tokens

    def new_confirmation_token(self, address: str, known: set[str] | None = None, timeout: float = 15) -> str:
        """Wait for a confirmation mail to ``address`` with a token not in ``known``."""
        fresh = wait_for(lambda: self.confirmation_tokens(address) - (known or set()), timeout=timeout,
                         message=f"a confirmation mail to {address}")
        assert len(fresh) == 1, fresh
        return next(iter(fresh))


    def links(self, address: str, page: str) -> set[str]:
        """Every link to the console's ``page`` (e.g. ``/reset-password``) in mail to ``address``."""
        pattern = re.compile(r"https?://\S+" + re.escape(page) + r"\?token=[A-Za-z0-9_\-]+")
        return {link for message in self.messages_to(address) for link in pattern.findall(_plain_text(message))}

    def new_link(self, address: str, page: str, known: set[str] | None = None, timeout: float = 15) -> str:
        """Wait for a mail to ``address`` with a ``page`` link not in ``known``; that link."""
        fresh = wait_for(lambda: self.links(address, page) - (known or set()), timeout=timeout,
                         message=f"a mail to {address} linking to {page}")
        assert len(fresh) == 1, fresh
        return next(iter(fresh))


def new_distributor_admin(suite: Any, name: str, domain: str, password: str) -> str:
    """A distributor of its own (made by the operator) whose administrator has confirmed the
    email, so a test changes nobody else's data or throttles; that administrator's email."""
    operator = signed_in(suite.base_url, *OPERATOR)
    tag = uuid.uuid4().hex[:8]
    email = f"admin-{tag}@{domain}"
    created = operator.post("/api/v1/operator/distributors", json={
        "name": f"{name} {tag}", "email": f"billing-{tag}@{domain}", "country": "US",
        "data_center": "us-east-1", "admin_email": email, "admin_password": password})
    assert created.status_code == 201, created.text
    token = Mailbox(suite.var_dir).new_confirmation_token(email, timeout=30)
    assert Client(suite.base_url).post("/api/v1/auth/confirm-email", json={"token": token}).status_code == 204
    return email


def _plain_text(message: Any) -> str:
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                return payload.decode(part.get_content_charset() or "utf-8")
    payload = message.get_payload(decode=True)
    return str(payload.decode() if isinstance(payload, bytes) else payload)
