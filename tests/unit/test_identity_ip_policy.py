from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from contracts.errors import OwnIpNotTrusted, ValidationFailed
from services.identity.domain.ip_policy import (
    MAX_ADDRESSES,
    IpEntry,
    client_ip,
    ensure_caller_stays_trusted,
    first_list_toggle,
    is_trusted,
    parse_addresses,
    parse_range,
)


def _reason(error: pytest.ExceptionInfo[ValidationFailed]) -> tuple[str, str]:
    (entry,) = error.value.details["fields"]
    return entry["field"], entry["reason"]


OFFICE = IpEntry.build("office", "203.0.113.7, 2001:db8::1", None, None)
VPN = IpEntry.build("vpn", None, "198.51.100.10", "198.51.100.20")


def test_a_comma_separated_list_of_ipv4_and_ipv6_addresses_parses():
    assert parse_addresses(" 203.0.113.7 ,2001:db8::1,  ") == (ip_address("203.0.113.7"), ip_address("2001:db8::1"))


def test_duplicate_addresses_count_once():
    assert parse_addresses("203.0.113.7, 203.0.113.7, ::ffff:203.0.113.7") == (IPv4Address("203.0.113.7"),)


def test_a_bad_address_is_named_in_the_reason():
    with pytest.raises(ValidationFailed) as error:
        parse_addresses("203.0.113.7, 300.1.1.1")

    assert _reason(error) == ("addresses", "'300.1.1.1' is not an IPv4 or IPv6 address")


def test_addresses_separated_by_spaces_get_a_hint():
    with pytest.raises(ValidationFailed) as error:
        parse_addresses("203.0.113.7 203.0.113.8")

    assert "separate addresses with commas" in _reason(error)[1]


def test_a_network_in_cidr_notation_is_refused_with_the_range_to_enter_instead():
    with pytest.raises(ValidationFailed) as error:
        parse_addresses("10.0.0.0/24")

    field, reason = _reason(error)
    assert field == "addresses"
    assert "range from 10.0.0.0 to 10.0.0.255" in reason


@pytest.mark.parametrize("text", ["", " ", ",", " , , "])
def test_at_least_one_address_is_needed(text):
    with pytest.raises(ValidationFailed) as error:
        parse_addresses(text)

    assert _reason(error)[0] == "addresses"


def test_at_most_a_hundred_addresses_fit_in_one_entry():
    hundred = ", ".join(f"192.0.2.{n}" for n in range(1, MAX_ADDRESSES + 1))

    assert len(parse_addresses(hundred)) == 100
    with pytest.raises(ValidationFailed, match="at most 100"):
        parse_addresses(hundred + ", 192.0.2.200")


def test_a_range_parses_in_either_family():
    assert parse_range("10.0.0.1", " 10.0.0.9 ") == (IPv4Address("10.0.0.1"), IPv4Address("10.0.0.9"))
    assert parse_range("2001:db8::1", "2001:db8::ffff")[1] == IPv6Address("2001:db8::ffff")
    assert parse_range("10.0.0.1", "10.0.0.1") == (IPv4Address("10.0.0.1"),) * 2


def test_a_range_mixing_families_is_refused_on_range_to():
    with pytest.raises(ValidationFailed) as error:
        parse_range("10.0.0.1", "2001:db8::1")

    assert _reason(error) == ("range_to", "must be an IPv4 address like range_from, not IPv6")


def test_a_backwards_range_is_refused():
    with pytest.raises(ValidationFailed) as error:
        parse_range("10.0.0.9", "10.0.0.1")

    assert _reason(error)[0] == "range_to"


@pytest.mark.parametrize(("low", "high", "field"), [("nope", "10.0.0.1", "range_from"), ("10.0.0.1", "x", "range_to")])
def test_a_bad_range_end_names_its_field(low, high, field):
    with pytest.raises(ValidationFailed) as error:
        parse_range(low, high)

    assert _reason(error)[0] == field


def test_an_entry_of_addresses_contains_exactly_those():
    assert OFFICE.contains(IPv4Address("203.0.113.7"))
    assert OFFICE.contains(IPv6Address("2001:db8::1"))
    assert not OFFICE.contains(IPv4Address("203.0.113.8"))
    assert OFFICE.addresses_text == "203.0.113.7, 2001:db8::1"


def test_a_range_entry_contains_its_ends_and_what_lies_between():
    assert VPN.contains(IPv4Address("198.51.100.10"))
    assert VPN.contains(IPv4Address("198.51.100.15"))
    assert VPN.contains(IPv4Address("198.51.100.20"))
    assert not VPN.contains(IPv4Address("198.51.100.21"))
    assert not VPN.contains(IPv6Address("2001:db8::1"))  # other family: no TypeError
    assert VPN.addresses_text is None


def test_an_entry_needs_addresses_or_a_range():
    with pytest.raises(ValidationFailed) as error:
        IpEntry.build("x", None, " ", None)

    assert _reason(error)[0] == "addresses"


def test_an_entry_takes_addresses_or_a_range_not_both():
    with pytest.raises(ValidationFailed, match="not both"):
        IpEntry.build("x", "10.0.0.1", "10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize(("low", "high", "missing"), [("10.0.0.1", None, "range_to"), ("", "10.0.0.2", "range_from")])
def test_a_range_needs_both_ends(low, high, missing):
    with pytest.raises(ValidationFailed) as error:
        IpEntry.build("x", None, low, high)

    assert _reason(error)[0] == missing


def test_an_entry_description_is_optional_and_at_most_two_hundred_characters():
    assert IpEntry.build("", "10.0.0.1", None, None).label == "10.0.0.1"
    assert IpEntry.build("   ", None, "10.0.0.1", "10.0.0.9").label == "10.0.0.1 to 10.0.0.9"
    assert IpEntry.build(" Head office ", "10.0.0.1", None, None).label == "Head office"
    with pytest.raises(ValidationFailed) as error:
        IpEntry.build("d" * 201, "10.0.0.1", None, None)
    assert _reason(error)[0] == "description"


def test_an_ipv4_mapped_ipv6_client_is_its_ipv4_address():
    assert client_ip("::ffff:203.0.113.7") == IPv4Address("203.0.113.7")
    assert is_trusted([OFFICE], "::ffff:203.0.113.7")


def test_a_zone_id_is_dropped_from_a_client_address():
    assert client_ip("fe80::1%eth0") == IPv6Address("fe80::1")
    assert is_trusted([IpEntry.build("link", "fe80::1", None, None)], "fe80::1%eth0")


def test_a_garbage_client_address_is_refused():
    with pytest.raises(ValidationFailed):
        client_ip("not-an-ip")


def test_trust_comes_from_any_entry():
    assert is_trusted([OFFICE, VPN], "198.51.100.12")
    assert is_trusted([OFFICE, VPN], IPv6Address("2001:db8::1"))
    assert not is_trusted([OFFICE, VPN], "192.0.2.1")
    assert not is_trusted([], "203.0.113.7")


def test_an_unparseable_address_is_never_trusted():
    assert not is_trusted([OFFICE], "garbage")


def test_enabling_is_refused_when_the_caller_would_lock_itself_out():
    with pytest.raises(OwnIpNotTrusted) as error:
        ensure_caller_stays_trusted(True, [OFFICE, VPN], "::ffff:192.0.2.1")

    assert error.value.code == "own_ip_not_trusted"
    assert error.value.message == "your address 192.0.2.1 would not be trusted"
    assert error.value.details == {"your_ip": "192.0.2.1"}


def test_enabling_is_allowed_when_the_caller_stays_trusted():
    ensure_caller_stays_trusted(True, [OFFICE, VPN], "198.51.100.20")


def test_a_disabled_list_never_locks_anyone_out():
    ensure_caller_stays_trusted(False, [], "192.0.2.1")


def test_a_caller_without_a_known_address_cannot_enable_restrictions():
    with pytest.raises(OwnIpNotTrusted, match="your address unknown would not be trusted"):
        ensure_caller_stays_trusted(True, [OFFICE], "")



def test_the_first_list_that_trusts_the_callers_address_turns_restrictions_on():
    enabled, note = first_list_toggle(False, False, [OFFICE, VPN], "198.51.100.20")
    assert enabled is True and note == "IP restrictions are now on: the list includes your address 198.51.100.20."


def test_a_first_list_without_the_callers_address_leaves_restrictions_off_and_says_why():
    enabled, note = first_list_toggle(False, False, [OFFICE], "203.0.113.99")
    assert enabled is False
    assert note is not None and note.startswith("IP restrictions stay off: the list does not include your address "
                                                "203.0.113.99.")


def test_entries_after_the_first_leave_the_toggle_as_it_was():
    assert first_list_toggle(True, False, [OFFICE, VPN], "198.51.100.20") == (False, None)
    assert first_list_toggle(True, True, [OFFICE, VPN], "198.51.100.20") == (True, None)
