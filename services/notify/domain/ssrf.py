"""Which webhook URLs the portal may call: the SSRF guard. Pure domain code: the resolver is passed in
(the system's is ``services.notify.adapters.http_sender.system_resolver``).

A distributor types the endpoint URL; without a guard the portal would POST wherever it
points, including its own network and a cloud's metadata service. The rules:

- ``https`` only, no user:password in the URL;
- every address the host resolves to must be a public unicast address: loopback,
  private, link-local (incl. 169.254.169.254, the metadata service), carrier-grade NAT,
  multicast, reserved and unspecified ranges are refused, and so are IPv6 forms that
  carry such an IPv4 address (IPv4-mapped ``::ffff:10.0.0.1``, IPv4-compatible
  ``::10.0.0.1``, IPv4-translated ``::ffff:0:10.0.0.1``, 6to4, NAT64 ``64:ff9b::/96`` and
  the local-use ``64:ff9b:1::/48``, Teredo's server and client): such an address is judged
  by every IPv4 address it carries;
- it is checked when the URL is saved **and** at every send, where the connection goes to
  the very address that was checked (a DNS answer cannot change between check and use);
- redirects are never followed (the sender treats a 3xx as a failure).

``allow_loopback`` (``NOTIFY_WEBHOOKS_ALLOW_LOOPBACK``, development and tests only) lets
an endpoint on 127.0.0.0/8 or ::1 through, over plain ``http`` too; everything else stays refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215; the site picks the prefix length
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d (deprecated); :: and ::1 are not
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, ::ffff:0:a.b.c.d
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


def embedded_ipv4s(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 form carries to a v4 host (none for a plain IPv6 address).

    Teredo carries two (its server and the client); a local-use NAT64 address carries one
    for each prefix length its site may have chosen (RFC 6052: /48, /56, /64, /96)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in NAT64 or address in IPV4_TRANSLATED:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in LOCAL_NAT64:
        return [_rfc6052_ipv4(address, length) for length in (48, 56, 64, 96)]
    if address in IPV4_COMPATIBLE and int(address) > 1:
        return [ipaddress.IPv4Address(int(address))]
    return []


def _rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address behind a NAT64 prefix of ``prefix_length`` (RFC 6052 section 2.2)."""
    value = int(address)
    if prefix_length == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    without_u = (value >> 64) << 56 | (value & (1 << 56) - 1)  # bits 64-71 are always zero
    return ipaddress.IPv4Address(without_u >> (120 - prefix_length - 32) & 0xFFFFFFFF)


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4s(address)
        if inner:
            return all(v4.is_loopback for v4 in inner)
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
        inner = embedded_ipv4s(address)
        if inner:
            return all(address_allowed(str(v4), allow_loopback=False) for v4 in inner)
    if any(address in network for network in ALWAYS_REFUSED if network.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def check_url(url: str, resolve: Resolver, allow_loopback: bool = False) -> Target:
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
