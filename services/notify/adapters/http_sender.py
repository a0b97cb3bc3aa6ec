"""POSTing a webhook: to the address the SSRF guard checked, never following a redirect.

``http.client`` follows no redirects by itself, and the connection is opened to the
checked IP address while TLS (SNI and certificate) and the ``Host`` header use the URL's
host name: a DNS answer that changes between the check and the connection changes nothing.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter

from servicekit.loops import short_error
from services.notify.domain.ssrf import Resolver, Target, UnsafeUrl, check_url

MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpOutcome:
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


WEBHOOK_DELIVERIES = Counter("portal_webhook_deliveries", "Webhook POSTs, by outcome: delivered (2xx), gone "
                             "(410), refused (4xx), failed (5xx, 1xx or 3xx), unreachable (no answer)", ["outcome"])


def delivery_outcome(outcome: HttpOutcome) -> str:
    status = outcome.status_code
    if status is None:
        return "unreachable"
    if outcome.ok:
        return "delivered"
    if outcome.gone:
        return "gone"
    return "refused" if 400 <= status < 500 else "failed"


class WebhookSender(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpOutcome: ...


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses as this machine's resolver answers, each once, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url_here(url: str, allow_loopback: bool = False) -> Target:
    """The SSRF guard (services/notify/domain/ssrf.py) with this machine's DNS answers."""
    return check_url(url, system_resolver, allow_loopback)


def _pinned(target: Target, timeout: float) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect_to_checked_address(_: Any, timeout: Any = None, source_address: Any = None) -> socket.socket:
        return socket.create_connection((target.address, target.port), timeout, source_address)

    # http.client opens its socket through this hook; TLS then wraps it for target.host.
    connection._create_connection = connect_to_checked_address  # type: ignore[attr-defined]
    return connection


class PinnedHttpSender:
    def __init__(self, timeout: float, allow_loopback: bool = False, resolve: Resolver = system_resolver) -> None:
        self.timeout = timeout
        self.allow_loopback = allow_loopback
        self.resolve = resolve

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpOutcome:
        outcome = self._post(url, headers, body)
        WEBHOOK_DELIVERIES.labels(delivery_outcome(outcome)).inc()
        return outcome

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpOutcome:
        try:
            target = check_url(url, self.resolve, self.allow_loopback)
        except UnsafeUrl as refused:
            return HttpOutcome(None, f"not sent: the URL {refused.reason}")
        connection = _pinned(target, self.timeout)
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            return HttpOutcome(None, short_error(exc))
        finally:
            connection.close()
        if 300 <= status < 400:
            return HttpOutcome(status, f"HTTP {status}: redirects are not followed")
        if status >= 400 or status < 200:
            return HttpOutcome(status, f"HTTP {status}")
        return HttpOutcome(status)
