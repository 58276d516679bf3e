"""SSRF battery for the browser server, run ONLY inside a loopback-only network namespace (see test_browser_ssrf.py).

Not collected by pytest on its own (no test_ prefix): test_browser_ssrf.py starts it with `unshare -n -m` after
bringing lo up, adding 169.254.169.254 and 10.0.0.1 to lo and bind-mounting a hosts file that maps evil.test to
127.0.0.1. A "victim" server listens on port 80 of every one of those addresses, so a guard that fails is caught as a
hit on the victim, and nothing can leave the machine whatever the guard does.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer

import pytest
import pytest_asyncio

from mcp_servers.browser.guard import Guard, parse_rules
from mcp_servers.browser.session import BrowserPool
from mcp_servers.browser.server import create_server
from tests.mcp_servers.browser_support import Site, _handler, serve_site
from tests.mcp_servers.conftest import ToolCaller, connect

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(os.environ.get("K2HUB_SSRF_NETNS") != "1", reason="runs only inside the namespace"),
]
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6  # "::" with V6ONLY off also takes every IPv4 address: one trap for all


@pytest.fixture(scope="module")
def victim() -> Iterator[Site]:
    """The server a successful SSRF would reach: port 80 on loopback, metadata and private addresses."""
    site = Site("http://127.0.0.1:80", 80)
    server = DualStackServer(("::", 80), _handler(site))
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve_site() as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def call(site: Site, victim: Site) -> AsyncIterator[ToolCaller]:
    pool = BrowserPool(Guard(parse_rules(f"127.0.0.1:{site.port}")), env={})
    async with connect(create_server(os.environ["K2HUB_HOME"] + "/ws", env={}, pool=pool)) as caller:
        yield caller
    await pool.close()


@pytest.fixture(autouse=True)
def fresh_victim(victim: Site) -> None:
    victim.hits.clear()


async def test_namespace_is_sealed_and_the_trap_works(victim: Site) -> None:
    """Only loopback exists, and the victim really answers on the addresses the battery attacks."""
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for url in (
        "http://169.254.169.254/second",
        "http://10.0.0.1/second",
        "http://[::1]/second",
        "http://evil.test/second",
    ):
        assert direct.open(url, timeout=5).status == 200
    assert victim.hits == ["/second"] * 4


async def test_allow_listed_site_loads(call: ToolCaller, site: Site) -> None:
    assert "Welcome to the test site" in await call.ok("open", url=f"{site.base}/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (METADATA, "169.254.169.254 is a cloud metadata address"),
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://localhost/", "localhost resolves to"),
        ("http://evil.test/", "evil.test resolves to 127.0.0.1, which is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
        ("http://2130706433/", "2130706433 (= 127.0.0.1) is a loopback address"),
        ("http://0x7f000001/", "0x7f000001 (= 127.0.0.1) is a loopback address"),
        ("http://0177.0.0.1/", "(= 127.0.0.1) is a loopback address"),
        ("http://127.1/", "127.1 (= 127.0.0.1) is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "IPv6 form of 127.0.0.1"),
        ("http://10.0.0.1/", "10.0.0.1 is a private network address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata host"),
        ("https://169.254.169.254/", "cloud metadata address"),
    ],
)
async def test_private_targets_are_refused_with_a_reason(call: ToolCaller, victim: Site, url: str, reason: str) -> None:
    error = await call.error("open", url=url)
    assert reason in error and "refused" in error, error
    assert victim.hits == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (METADATA, "169.254.169.254 is a cloud metadata address"),
        ("http://evil.test/admin", "evil.test resolves to 127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("https://169.254.169.254/", "cloud metadata address"),
        ("http://[::1]/", "loopback"),
    ],
)
async def test_redirects_from_an_allowed_site_are_refused(
    call: ToolCaller, site: Site, victim: Site, target: str, reason: str
) -> None:
    error = await call.error("open", url=f"{site.base}/redirect?to={target}")
    assert reason in error and "refused" in error, error
    assert victim.hits == []


@pytest.mark.parametrize("src", [METADATA, "http://127.0.0.1/pixel", "http://evil.test/pixel", "http://10.0.0.1/x"])
async def test_sub_requests_to_private_addresses_are_blocked(
    call: ToolCaller, site: Site, victim: Site, src: str
) -> None:
    text = await call.ok("open", url=f"{site.base}/embed?src={src}")  # img, iframe, fetch() and a WebSocket
    assert "Embedding" in text and "the browser guard blocked" in text, text
    assert victim.hits == []


async def test_downloads_are_guarded_on_every_hop(call: ToolCaller, site: Site, victim: Site) -> None:
    error = await call.error("download", url_or_ref=f"{site.base}/redirect?to={METADATA}")
    assert "refused" in error and "cloud metadata" in error, error
    error = await call.error("download", url_or_ref=f"{site.base}/redirect?to=https://10.0.0.1/x.pdf")
    assert "refused" in error and "private network" in error, error
    assert "refused" in await call.error("download", url_or_ref="http://evil.test/report.pdf")
    assert victim.hits == []
