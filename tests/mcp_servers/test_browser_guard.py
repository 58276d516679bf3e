"""The browser's SSRF guard as a pure decision: address classes, browser-style IP spellings, allow and deny rules."""

from __future__ import annotations

import ipaddress

import pytest

from mcp_servers.browser.guard import Guard, Refused, address_problem, parse_ipv4, parse_rules


async def fake_dns(host: str, port: int) -> list[str]:
    """A resolver we control: names an attacker could register, pointing wherever they like."""
    table = {
        "rebind.example": ["93.184.215.14", "127.0.0.1"],
        "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "intranet.corp": ["10.1.2.3"],
        "sub.intranet.corp": ["10.1.2.4"],
        "v6mapped.example": ["::ffff:169.254.169.254"],
    }
    if host not in table:
        raise OSError(-2, "Name or service not known")
    return table[host]


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("169.254.169.254.", "169.254.169.254"),
        ("0xA9FEA9FE", "169.254.169.254"),
    ],
)
def test_browser_style_ipv4_spellings_are_decoded(spelling: str, address: str) -> None:
    assert parse_ipv4(spelling) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4.5", "256.1.1.1", "0x1g", "4294967296", "1.2.3.example"])
def test_names_are_not_taken_for_addresses(text: str) -> None:
    assert parse_ipv4(text) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
        ("2002:7f00:1::", "loopback"),
        ("fc00::1", "private"),
    ],
)
def test_non_public_addresses_have_a_reason(address: str, why: str) -> None:
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and why in problem


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


async def test_every_resolved_address_must_be_public() -> None:
    guard = Guard(resolver=fake_dns)
    assert str(await guard.check("public.example", 443)) == "93.184.215.14"
    with pytest.raises(Refused, match=r"rebind.example resolves to 127.0.0.1, which is a loopback address"):
        await guard.check("rebind.example", 80)
    with pytest.raises(Refused, match="cloud metadata address .IPv6 form of 169.254.169.254"):
        await guard.check("v6mapped.example", 80)
    with pytest.raises(Refused, match="cannot resolve nowhere.example"):
        await guard.check("nowhere.example", 80)


async def test_numeric_hosts_are_checked_without_dns_and_named_in_the_reason() -> None:
    guard = Guard(resolver=fake_dns)
    with pytest.raises(Refused, match=r"0x7f000001 \(= 127.0.0.1\) is a loopback address"):
        await guard.check("0x7f000001", 80)
    with pytest.raises(Refused, match=r"^::1 is a loopback address"):
        await guard.check("[::1]", 80)
    with pytest.raises(Refused, match="metadata.google.internal is a cloud metadata host"):
        await guard.check("metadata.google.internal", 80)


async def test_allow_list_by_name_cidr_and_port() -> None:
    guard = Guard(allow=parse_rules("intranet.corp, 127.0.0.1:8080 [::1]:9000,192.168.0.0/16"), resolver=fake_dns)
    assert str(await guard.check("sub.intranet.corp", 443)) == "10.1.2.4"  # subdomains of an allowed name
    assert str(await guard.check("127.0.0.1", 8080)) == "127.0.0.1"
    assert str(await guard.check("2130706433", 8080)) == "127.0.0.1"  # the same address, spelled differently
    assert str(await guard.check("[::1]", 9000)) == "::1"
    assert str(await guard.check("192.168.7.7", 80)) == "192.168.7.7"
    with pytest.raises(Refused, match="loopback"):
        await guard.check("127.0.0.1", 8081)  # another port of an allowed address
    with pytest.raises(Refused, match="loopback"):
        await guard.check("::1", 9001)


async def test_deny_list_wins_over_everything() -> None:
    guard = Guard(
        allow=parse_rules("public.example"), deny=parse_rules("public.example, 8.8.8.0/24"), resolver=fake_dns
    )
    with pytest.raises(Refused, match="deny list"):
        await guard.check("public.example", 443)
    with pytest.raises(Refused, match="deny list"):
        await guard.check("8.8.8.8", 443)


def test_rules_come_from_the_environment() -> None:
    guard = Guard.from_env(
        {"K2HUB_BROWSER_ALLOW_HOSTS": "10.0.0.0/8, wiki.local", "K2HUB_BROWSER_DENY_HOSTS": "ads.com"}
    )
    assert "10.0.0.0/8" in guard.describe() and "wiki.local" in guard.describe()
    assert [r.domain for r in guard.deny] == ["ads.com"]
