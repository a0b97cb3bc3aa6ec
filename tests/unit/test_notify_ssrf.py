"""The SSRF guard on webhook endpoint URLs."""

from __future__ import annotations

import pytest

from services.notify.ssrf import UnsafeUrl, address_allowed, check_url


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
