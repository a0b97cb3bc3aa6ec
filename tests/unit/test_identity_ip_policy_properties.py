"""Properties of IP-range parsing and matching (services/identity/domain/ip_policy.py), for any
addresses hypothesis can think of: IPv4, IPv6, IPv4-mapped IPv6, odd spacing, junk."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts.errors import ValidationFailed
from services.identity.domain.ip_policy import IpEntry, client_ip, is_trusted, parse_addresses, parse_range

# No per-example deadline: the machine is shared and timing is not what is tested.
PROPERTY = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])

ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address).filter(lambda a: a.ipv4_mapped is None)
addresses = ipv4 | ipv6
spaces = st.sampled_from(["", " ", "  ", "\t"])


def spelled(address: IPv4Address | IPv6Address, mapped: bool, exploded: bool) -> str:
    """A way a client may write the address: IPv4 as ::ffff:a.b.c.d, IPv6 in full."""
    if isinstance(address, IPv4Address) and mapped:
        return f"::ffff:{address}"
    return address.exploded if exploded else str(address)


@PROPERTY
@given(st.lists(st.tuples(addresses, st.booleans(), st.booleans(), spaces, spaces), min_size=1, max_size=30))
def test_a_list_parses_to_its_distinct_addresses_in_first_seen_order(items):
    text = ",".join(f"{left}{spelled(a, mapped, exploded)}{right}" for a, mapped, exploded, left, right in items)

    parsed = parse_addresses(text)

    assert parsed == tuple(dict.fromkeys(a for a, *_ in items))


@PROPERTY
@given(st.lists(addresses, min_size=1, max_size=20, unique=True), addresses, st.booleans())
def test_a_list_trusts_exactly_its_own_addresses_however_they_are_written(listed, other, mapped):
    entry = IpEntry.build("office", ", ".join(str(a) for a in listed), None, None)

    for address in listed:
        assert is_trusted([entry], spelled(address, mapped, exploded=True))
    assert is_trusted([entry], str(other)) is (other in listed)


@PROPERTY
@given(st.lists(addresses, min_size=1, max_size=20))
def test_the_shown_list_builds_the_same_entry_again(listed):
    entry = IpEntry.build("office", ",".join(str(a) for a in listed), None, None)

    again = IpEntry.build(entry.description, entry.addresses_text, None, None)

    assert again == entry


@st.composite
def same_family_pair(draw):
    family = draw(st.sampled_from([4, 6]))
    bits = 32 if family == 4 else 128
    low, high = sorted(draw(st.lists(st.integers(0, 2**bits - 1), min_size=2, max_size=2)))
    make = IPv4Address if family == 4 else IPv6Address
    assume(family == 4 or (make(low).ipv4_mapped is None and make(high).ipv4_mapped is None))
    probe = draw(st.integers(0, 2**bits - 1))
    return make(low), make(high), make(probe)


@PROPERTY
@given(same_family_pair())
def test_a_range_holds_an_address_exactly_when_it_lies_between_the_ends(pair):
    low, high, probe = pair
    assume(probe.version == 4 or probe.ipv4_mapped is None)
    entry = IpEntry.build("vpn", None, str(low), str(high))

    assert entry.contains(low) and entry.contains(high)
    assert entry.contains(probe) is (int(low) <= int(probe) <= int(high))
    assert is_trusted([entry], str(probe)) is (int(low) <= int(probe) <= int(high))


@PROPERTY
@given(same_family_pair())
def test_a_range_given_backwards_is_refused_naming_range_to(pair):
    low, high, _ = pair
    assume(low != high)

    with pytest.raises(ValidationFailed) as refused:
        parse_range(str(high), str(low))

    assert refused.value.details["fields"][0]["field"] == "range_to"


@PROPERTY
@given(ipv4, ipv6)
def test_a_range_across_families_is_refused_and_never_matches_the_other_family(v4, v6):
    with pytest.raises(ValidationFailed):
        parse_range(str(v4), str(v6))
    entry = IpEntry.build("v4 only", None, str(IPv4Address(0)), "255.255.255.255")
    assert not entry.contains(v6)
    assert entry.contains(v4)


@PROPERTY
@given(ipv4)
def test_an_ipv4_mapped_ipv6_address_is_the_ipv4_address(address):
    assert client_ip(f"::ffff:{address}") == address
    entry = IpEntry.build("mapped", None, f"::ffff:{address}", str(address))
    assert entry.range_from == entry.range_to == address


@PROPERTY
@given(st.text(max_size=60))
def test_any_text_is_an_address_or_a_field_error_never_a_crash(text):
    try:
        parsed = client_ip(text)
    except ValidationFailed as error:
        assert error.details["fields"][0]["field"] == "ip"
    else:
        assert parsed == client_ip(str(ipaddress.ip_address(text.strip())))
    assert is_trusted([IpEntry.build("all v4", None, str(IPv4Address(0)), "255.255.255.255")], text) in (True, False)


@PROPERTY
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_any_entry_input_is_an_entry_or_a_field_error_never_a_crash(addresses_text, range_from, range_to):
    for args in ((addresses_text, None, None), (None, range_from, range_to), (addresses_text, range_from, None)):
        try:
            IpEntry.build("entry", *args)
        except ValidationFailed as error:
            assert error.details["fields"][0]["field"] in {"addresses", "range_from", "range_to"}


@PROPERTY
@given(ipv4 | ipv6, st.integers(101, 130))
def test_more_than_a_hundred_addresses_in_one_entry_are_refused(first, count):
    listed = [type(first)((int(first) + step) % (2**first.max_prefixlen)) for step in range(count)]

    with pytest.raises(ValidationFailed) as refused:
        parse_addresses(",".join(str(a) for a in listed))

    assert "at most 100" in refused.value.details["fields"][0]["reason"]
