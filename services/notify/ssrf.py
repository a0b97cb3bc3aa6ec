"""Which webhook URLs the portal may call: the SSRF guard. Pure domain code (the resolver is passed in).

A distributor types the endpoint URL; without a guard the portal would POST wherever it
points, including its own network and a cloud's metadata service. The rules:

- ``https`` only, no user:password in the URL;
- every address the host resolves to must be a public unicast address: loopback,
  private, link-local (incl. 169.254.169.254, the metadata service), carrier-grade NAT,
  multicast, reserved and unspecified ranges are refused, and so are IPv6 forms that
  carry such an IPv4 address (IPv4-mapped ``::ffff:10.0.0.1``, 6to4, NAT64, Teredo);
- it is checked when the URL is saved **and** at every send, where the connection goes to
  the very address that was checked (a DNS answer cannot change between check and use);
- redirects are never followed (the sender treats a 3xx as a failure).

``allow_loopback`` (``NOTIFY_WEBHOOKS_ALLOW_LOOPBACK``, development and tests only) lets
an endpoint on 127.0.0.0/8 or ::1 through, over plain ``http`` too; everything else stays refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not all of these are outside is_global on every Python: named explicitly.
ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (also Alibaba's metadata)
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS metadata over IPv6 (unique local)
)


class UnsafeUrl(ValueError):
    """The URL may not be called; ``reason`` says why (it names no resolved address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (and only there), talk to ``host``."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries to a v4 host, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return inner.is_loopback
    return address.is_loopback


def address_allowed(text: str, allow_loopback: bool = False) -> bool:
    """Whether the portal may open a connection to this IP address."""
    try:
        address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if allow_loopback and _is_loopback(address):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return address_allowed(str(inner), allow_loopback=False)
    if any(address in network for network in ALWAYS_REFUSED if network.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, resolve: Resolver = system_resolver, allow_loopback: bool = False) -> Target:
    """The URL's target once every address of its host is allowed; else :class:`UnsafeUrl`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeUrl("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [host] if _is_ip_literal(host) else list(resolve(host, port))
    except (OSError, UnicodeError):
        raise UnsafeUrl("its host does not resolve") from None
    if not addresses:
        raise UnsafeUrl("its host does not resolve")
    if not all(address_allowed(a, allow_loopback) for a in addresses):
        raise UnsafeUrl("points at a loopback, private, link-local or otherwise internal address")
    if scheme == "http" and not (allow_loopback and all(_is_loopback(ipaddress.ip_address(a.split("%", 1)[0]))
                                                        for a in addresses)):
        raise UnsafeUrl("must be an https:// URL")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, path, addresses[0])


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
