"""IP restrictions: which client addresses a tenant trusts. Pure domain code.

An entry is either a list of single addresses (``"203.0.113.7, 2001:db8::1"``) or one
from-to range, IPv4 or IPv6, with a description. Addresses are normalised on the way in,
on both sides of every comparison: an IPv4-mapped IPv6 address (``::ffff:203.0.113.7``)
is the IPv4 address, and an IPv6 zone id (``fe80::1%eth0``) is dropped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from contracts.errors import OwnIpNotTrusted, ValidationFailed

IpAddress = IPv4Address | IPv6Address

MAX_ADDRESSES = 100
MAX_DESCRIPTION = 200
_SHOWN = 60  # how much of a bad item a reason quotes


def client_ip(value: str, field: str = "ip") -> IpAddress:
    """``value`` as a normalised address; garbage raises :class:`ValidationFailed`."""
    text = value.strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationFailed.for_field(field, _not_an_address(text)) from None
    return _normalised(address)


def parse_addresses(text: str) -> tuple[IpAddress, ...]:
    """A comma-separated list of single addresses, duplicates dropped, in first-seen order."""
    found: dict[IpAddress, None] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue  # a stray or trailing comma
        found[_parse_item(item, "addresses")] = None
        if len(found) > MAX_ADDRESSES:
            raise ValidationFailed.for_field(
                "addresses", f"at most {MAX_ADDRESSES} addresses per entry; use a range or another entry"
            )
    if not found:
        raise ValidationFailed.for_field("addresses", "give at least one IPv4 or IPv6 address")
    return tuple(found)


def parse_range(range_from: str, range_to: str) -> tuple[IpAddress, IpAddress]:
    """A from-to range of one family, ``range_from`` not above ``range_to``."""
    low = _parse_item(range_from.strip(), "range_from")
    high = _parse_item(range_to.strip(), "range_to")
    if low.version != high.version:
        raise ValidationFailed.for_field(
            "range_to", f"must be an IPv{low.version} address like range_from, not IPv{high.version}"
        )
    if high < low:  # type: ignore[operator]  # same family, checked above
        raise ValidationFailed.for_field("range_to", f"must not be below range_from ({low})")
    return low, high


@dataclass(frozen=True)
class IpEntry:
    """A trusted list of addresses or a trusted range; build one with :meth:`build`."""

    description: str
    addresses: tuple[IpAddress, ...] = ()
    range_from: IpAddress | None = None
    range_to: IpAddress | None = None

    @classmethod
    def build(cls, description: str, addresses: str | None, range_from: str | None, range_to: str | None) -> IpEntry:
        """Validate raw input: an optional description of up to 200 characters and either
        addresses or both ends of a range (blank counts as not given)."""
        description = description.strip()
        if len(description) > MAX_DESCRIPTION:
            raise ValidationFailed.for_field("description", f"must be at most {MAX_DESCRIPTION} characters")
        has_addresses = _given(addresses)
        has_from, has_to = _given(range_from), _given(range_to)
        if has_addresses and (has_from or has_to):
            raise ValidationFailed.for_field(
                "addresses", "give either addresses or a range (range_from and range_to), not both"
            )
        if has_addresses:
            assert addresses is not None
            return cls(description, addresses=parse_addresses(addresses))
        if not (has_from or has_to):
            raise ValidationFailed.for_field("addresses", "give addresses or a range (range_from and range_to)")
        if not has_to:
            raise ValidationFailed.for_field("range_to", "is required with range_from")
        if not has_from:
            raise ValidationFailed.for_field("range_from", "is required with range_to")
        assert range_from is not None and range_to is not None
        low, high = parse_range(range_from, range_to)
        return cls(description, range_from=low, range_to=high)

    @property
    def label(self) -> str:
        """How a notice or the audit names the entry: its description, else what it trusts."""
        if self.description:
            return self.description
        return self.addresses_text or f"{self.range_from} to {self.range_to}"

    @property
    def addresses_text(self) -> str | None:
        """The addresses as the API shows them (``"a, b"``), or None for a range."""
        return ", ".join(str(address) for address in self.addresses) if self.addresses else None

    def contains(self, ip: IpAddress) -> bool:
        ip = _normalised(ip)
        if ip in self.addresses:
            return True
        low, high = self.range_from, self.range_to
        if low is None or high is None or low.version != ip.version:
            return False
        return low <= ip <= high  # type: ignore[operator]  # same family, checked above


def is_trusted(entries: Iterable[IpEntry], ip: str | IpAddress) -> bool:
    """Whether any entry trusts ``ip``; an address that does not parse is never trusted."""
    if isinstance(ip, str):
        try:
            ip = client_ip(ip)
        except ValidationFailed:
            return False
    return any(entry.contains(ip) for entry in entries)


def first_list_toggle(already_listed: bool, enabled: bool, entries: Iterable[IpEntry],
                      caller_ip: str) -> tuple[bool, str | None]:
    """Whether restrictions are on once an entry is added, and why, as the user guide has it:
    the first list that trusts the caller's own address turns them on; a first list without it
    leaves them off (turning them on would lock the caller out). Later entries change nothing."""
    if already_listed or enabled:
        return enabled, None
    try:
        shown = str(client_ip(caller_ip))
    except ValidationFailed:
        return False, "IP restrictions stay off: your own address is unknown, so it cannot be on the list."
    if is_trusted(entries, caller_ip):
        return True, f"IP restrictions are now on: the list includes your address {shown}."
    return False, (f"IP restrictions stay off: the list does not include your address {shown}. "
                   "Add it to the list to turn them on.")


def ensure_caller_stays_trusted(enabled: bool, entries: Iterable[IpEntry], caller_ip: str) -> None:
    """Refuse a change that would lock the caller out: with restrictions ``enabled``, the
    caller's own address must be trusted by ``entries`` (the list as it would be)."""
    if not enabled or is_trusted(entries, caller_ip):
        return
    try:
        shown = str(client_ip(caller_ip))
    except ValidationFailed:
        shown = caller_ip.strip()[:_SHOWN] or "unknown"
    raise OwnIpNotTrusted(f"your address {shown} would not be trusted", {"your_ip": shown})


def _parse_item(item: str, field: str) -> IpAddress:
    if "/" in item:
        raise ValidationFailed.for_field(field, _network_refused(item))
    try:
        return _normalised(ipaddress.ip_address(item))
    except ValueError:
        raise ValidationFailed.for_field(field, _not_an_address(item)) from None


def _normalised(address: IpAddress) -> IpAddress:
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return IPv6Address(int(address))
    return address


def _not_an_address(item: str) -> str:
    reason = f"'{item[:_SHOWN]}' is not an IPv4 or IPv6 address"
    if len(item.split()) > 1:
        reason += "; separate addresses with commas"
    return reason


def _network_refused(item: str) -> str:
    try:
        network = ipaddress.ip_network(item, strict=False)
    except ValueError:
        return _not_an_address(item)
    return f"'{item[:_SHOWN]}' is a network; enter it as a range from {network[0]} to {network[-1]}"


def _given(value: str | None) -> bool:
    return value is not None and value.strip() != ""

