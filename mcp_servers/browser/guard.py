"""SSRF guard of the browser: which hosts and addresses a page may reach, with a reason for every refusal.

A host is resolved and EVERY address it resolves to must be public (not loopback, private, link-local, cloud
metadata, multicast, unspecified, reserved, or an IPv6 form embedding such an IPv4 address), unless the user
allow-listed it. Numeric hosts are read the way browsers read them (WHATWG URL: decimal, octal and hex parts, so
http://2130706433/ and http://0x7f000001/ are 127.0.0.1). The caller connects to the returned address, never
resolving again, which closes the DNS-rebinding window for proxied traffic.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from mcp_servers.common.settings import ServerSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOW_ENV = "K2HUB_BROWSER_ALLOW_HOSTS"
DENY_ENV = "K2HUB_BROWSER_DENY_HOSTS"
# Cloud instance-metadata endpoints: AWS/GCP/Azure/OpenStack, AWS IPv6, AWS ECS task metadata, Alibaba.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
    }
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DNS_CACHE_S = 30.0


class Refused(Exception):
    """Raised by Guard.check when a host or address may not be reached; str() is the reason shown to the model."""


@dataclass(frozen=True)
class Rule:
    """One allow/deny entry: a domain (matching its subdomains too), or an address network; optionally a port."""

    domain: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, port: int, addresses: Iterable[IPAddress] = ()) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.domain is not None:
            return host == self.domain or host.endswith("." + self.domain)
        assert self.network is not None
        return any(a.version == self.network.version and a in self.network for a in addresses)


def parse_rules(text: str) -> list[Rule]:
    """Parse 'example.com, intranet.local:8080, 10.0.0.0/8, 127.0.0.1:5000, [::1]:80' into rules."""
    rules: list[Rule] = []
    for raw in re.split(r"[,\s]+", text or ""):
        entry = raw.strip().lower()
        if not entry:
            continue
        port: int | None = None
        m = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d+))?", entry) or re.fullmatch(r"([^:]+):(\d+)", entry)
        if m:
            entry, port = m.group(1), int(m.group(2)) if m.group(2) else None
        try:
            rules.append(Rule(network=ipaddress.ip_network(entry, strict=False), port=port))
        except ValueError:
            rules.append(Rule(domain=entry.strip(".").removeprefix("*."), port=port))
    return rules


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read a host the way the WHATWG URL parser reads IPv4: 1-4 parts, each decimal, 0-octal or 0x-hex."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or len(parts) > 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
                numbers.append(int(part[2:] or "0", 16))
            elif re.fullmatch(r"0[0-7]+", part):
                numbers.append(int(part, 8))
            elif re.fullmatch(r"\d+", part):
                numbers.append(int(part, 10))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, 6to4, NAT64)."""
    if ip.version != 6:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible form ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why a page must not reach this address, or None when it is a public unicast address."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        problem = address_problem(inner)
        return f"{problem} (IPv6 form of {inner})" if problem else None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.version == 4 and ip in SHARED_ADDRESS_SPACE, "a carrier-grade NAT address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private network address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for bad, why in checks if bad), None)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class Guard:
    """Decides, for a host and port, which address to connect to, or refuses with a reason."""

    allow: list[Rule] = field(default_factory=list)
    deny: list[Rule] = field(default_factory=list)
    resolver: Resolver = system_resolver
    _cache: dict[tuple[str, int], tuple[float, list[IPAddress]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, resolver: Resolver = system_resolver) -> Guard:
        """Rules from K2HUB_BROWSER_ALLOW_HOSTS / K2HUB_BROWSER_DENY_HOSTS (environment, then $K2HUB_HOME/.env)."""
        chosen = ServerSettings.load(env)
        return cls(parse_rules(chosen.browser_allow_hosts), parse_rules(chosen.browser_deny_hosts), resolver)

    def describe(self) -> str:
        """One line for the server's instructions."""
        allowed = ", ".join(_rule_text(r) for r in self.allow) or "none"
        return f"private and local addresses are refused; allow-listed: {allowed}"

    async def check(self, host: str, port: int) -> IPAddress:
        """Return the address to connect to for host:port, or raise Refused saying why."""
        name = normalize_host(host)
        if not name:
            raise Refused("the URL has no host")
        if any(r.matches(name, port) for r in self.deny if r.domain):
            raise Refused(f"{name} is on the deny list ({DENY_ENV})")
        if name in METADATA_NAMES and not any(r.matches(name, port) for r in self.allow if r.domain):
            raise Refused(f"{name} is a cloud metadata host")
        literal = _literal_address(name)
        addresses = [literal] if literal is not None else await self._resolve(name, port)
        if any(r.matches(name, port, addresses) for r in self.deny):
            raise Refused(f"{name} is on the deny list ({DENY_ENV})")
        if any(r.matches(name, port, addresses) for r in self.allow):
            return addresses[0]
        shown = name if literal is None or str(literal) == name.strip("[]") else f"{name} (= {literal})"
        for address in addresses:
            problem = address_problem(address)
            if problem:
                via = "" if literal is not None else f" resolves to {address}, which"
                raise Refused(f"{shown}{via} is {problem}; to allow it, add it to {ALLOW_ENV}")
        return addresses[0]

    async def _resolve(self, name: str, port: int) -> list[IPAddress]:
        cached = self._cache.get((name, port))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = await asyncio.wait_for(self.resolver(name, port), 10)
        except (TimeoutError, OSError) as err:
            raise Refused(f"cannot resolve {name}: {getattr(err, 'strerror', None) or err or 'timed out'}") from None
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
        if not addresses:
            raise Refused(f"cannot resolve {name}: no addresses")
        self._cache[(name, port)] = (time.monotonic() + DNS_CACHE_S, addresses)
        return addresses


def normalize_host(host: str) -> str:
    """Lower-case, without brackets or a trailing dot, IDNA-encoded: the form rules are matched against."""
    name = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return name


def _literal_address(name: str) -> IPAddress | None:
    """The address a numeric host stands for (any browser-accepted IPv4 spelling, or IPv6), else None."""
    try:
        return ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return parse_ipv4(name)


def _rule_text(rule: Rule) -> str:
    text = rule.domain if rule.domain is not None else str(rule.network)
    return f"{text}:{rule.port}" if rule.port is not None else text
