"""The SSRF guard on webhook endpoint URLs."""

from __future__ import annotations

import pytest

from services.notify.domain.ssrf import UnsafeUrl, address_allowed, check_url


def resolver(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


PUBLIC = resolver("93.184.215.14")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://172.16.4.4/hook",
        "https://192.168.1.1/hook",
        "https://100.100.100.200/hook",
        "https://0.0.0.0/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://[2002:a00:1::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_internal_addresses_are_refused(url):
    with pytest.raises(UnsafeUrl, match="internal address"):
        check_url(url, PUBLIC)


@pytest.mark.parametrize("addresses", [("10.1.2.3",), ("93.184.215.14", "192.168.0.10"), ("::ffff:10.0.0.1",)])
def test_a_host_name_resolving_to_any_internal_address_is_refused(addresses):
    with pytest.raises(UnsafeUrl, match="internal address"):
        check_url("https://hooks.example.com/in", resolver(*addresses))


def test_a_public_https_url_gives_the_checked_address_to_connect_to():
    target = check_url("https://hooks.example.com:8443/in?x=1", PUBLIC)

    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 8443, "/in?x=1")
    assert target.address == "93.184.215.14"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "https"),
        ("ftp://hooks.example.com/in", "https"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
        ("https:///in", "no host"),
        ("https://hooks.example.com:99999/in", "not a valid URL"),
    ],
)
def test_only_plain_https_urls_are_accepted(url, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url, PUBLIC)


def test_a_host_that_does_not_resolve_is_refused():
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_url("https://nowhere.invalid/in", fails)


def test_the_development_setting_allows_loopback_over_http_and_nothing_else():
    assert check_url("http://127.0.0.1:8080/in", PUBLIC, allow_loopback=True).address == "127.0.0.1"
    assert check_url("https://[::1]/in", PUBLIC, allow_loopback=True).address == "::1"
    for refused in ("https://10.0.0.1/in", "https://169.254.169.254/", "https://[::ffff:10.0.0.1]/"):
        with pytest.raises(UnsafeUrl):
            check_url(refused, PUBLIC, allow_loopback=True)
    with pytest.raises(UnsafeUrl, match="https"):
        check_url("http://hooks.example.com/in", PUBLIC, allow_loopback=True)


def test_without_the_development_setting_loopback_is_refused_even_for_a_host_name():
    with pytest.raises(UnsafeUrl):
        check_url("https://localhost/in", resolver("127.0.0.1", "::1"))


@pytest.mark.parametrize(("address", "allowed"), [("8.8.8.8", True), ("2606:4700:4700::1111", True),
                                                  ("::ffff:8.8.8.8", True), ("not-an-ip", False), ("::", False)])
def test_address_check(address, allowed):
    assert address_allowed(address) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://[::127.0.0.1]/",  # IPv4-compatible (deprecated ::a.b.c.d)
        "https://[::10.0.0.1]/",
        "https://[::169.254.169.254]/",
        "https://[::ffff:0:a00:1]/",  # IPv4-translated (SIIT, ::ffff:0:a.b.c.d)
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "https://[64:ff9b::7f00:1]/",  # NAT64 well-known prefix, 127.0.0.1
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[64:ff9b:1::a00:1]/",  # local-use NAT64 (RFC 8215), /96 layout
        "https://[64:ff9b:1:a00:0:100::]/",  # local-use NAT64, /48 layout (RFC 6052), 10.0.0.1
        "https://[2001:0:a00:1::f7f7:f7f7]/",  # Teredo: server 10.0.0.1, client 8.8.8.8
        "https://[2001:0:808:808::f5ff:fffe]/",  # Teredo: server 8.8.8.8, client 10.0.0.1
    ],
)
def test_every_ipv6_form_that_carries_a_refused_ipv4_address_is_refused(url):
    with pytest.raises(UnsafeUrl, match="internal address"):
        check_url(url, PUBLIC)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "::8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
                                     "2001:0:808:808::f7f7:f7f7"])
def test_an_ipv6_form_of_a_public_ipv4_address_is_judged_by_that_address(address):
    assert address_allowed(address) is True


def test_the_development_setting_lets_an_embedded_loopback_through_and_nothing_else():
    assert address_allowed("::127.0.0.1", allow_loopback=True) is True
    assert address_allowed("::10.0.0.1", allow_loopback=True) is False
    assert address_allowed("2001:0:a00:1::80ff:fffe", allow_loopback=True) is False  # Teredo, server 10.0.0.1
