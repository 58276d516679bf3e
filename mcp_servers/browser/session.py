"""One headless Chromium for the server, one browser context (with its own guard proxy) per conversation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from mcp_servers.browser.guard import Guard
from mcp_servers.browser.proxy import GuardProxy
from mcp_servers.common import safe_files
from mcp_servers.common.paths import Workspace
from mcp_servers.common.settings import ServerSettings

PATH_ENV = "K2HUB_BROWSER_PATH"
SHOWN_REFUSALS = 5  # refused requests named in a page's note; the rest are counted
PAGE_FRAME_CHARS = 4000  # the default 12,000-character view leaves 8,000 for page text
SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Nothing listens on the discard port: a context created without its own proxy can reach nothing (fail closed).
UNUSED_PROXY = "http://127.0.0.1:9"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    # Chromium's own calls home (autofill, translate, hints) would otherwise show up as the page's requests.
    "--disable-features=AutofillServerCommunication,OptimizationHints,Translate,MediaRouter,CertificateTransparencyComponentUpdater",
    # WebRTC talks UDP to any address without passing the proxy: only proxied traffic is allowed.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]
NO_WEBRTC = "for (const k of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel']) { try { delete window[k]; } catch (e) {} }"


@dataclass(frozen=True)
class Limits:
    """Per-page limits: time to load, bytes loaded, characters of page text the model sees per call."""

    nav_timeout_s: float = 30.0
    action_timeout_s: float = 10.0
    max_page_bytes: int = 50 * 1024 * 1024
    max_download_bytes: int = 100 * 1024 * 1024
    page_chars: int = 8000
    max_sessions: int = 8

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        """Page text sized to fit the hub's view of a tool result (K2HUB_TOOL_RESULT_CHARS), with room for the header,
        the fence and the notes around it."""
        return cls(page_chars=max(2000, ServerSettings.load(env).tool_result_chars - PAGE_FRAME_CHARS))


def executable(env: dict[str, str] | None = None) -> str | None:
    """The Chromium to drive: $K2HUB_BROWSER_PATH, else a system Chromium, else None (Playwright's own build)."""
    chosen = ServerSettings.load(env).browser_path.strip()
    if chosen:
        path = shutil.which(chosen) or chosen
        if not os.access(path, os.X_OK):
            raise ToolError(f"{PATH_ENV}={chosen} is not an executable browser; fix or unset it")
        return path
    for path in SYSTEM_CHROMIUMS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Session:
    """A conversation's browser context, its current page and the proxy that guards its traffic."""

    cid: str
    context: BrowserContext
    proxy: GuardProxy
    page: Page
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    inflight: set[Any] = field(default_factory=set)
    saved: dict[int, str] = field(default_factory=dict)

    def adopt(self, page: Page) -> None:
        """Make a page the current one (popups and new tabs become current, like a user switching to them)."""
        self.page = page

    def started(self, request: Any) -> None:
        self.inflight.add(request)

    def ended(self, request: Any) -> None:
        self.inflight.discard(request)

    async def settle(self, max_s: float = 2.0) -> None:
        """Wait (briefly) for requests still running after load, e.g. a script fetching the page's data."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        if not self.inflight:
            return
        while self.inflight and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # let the page's script render what just arrived


class BrowserPool:
    """Launches the browser on first use and keeps the most recently used conversations' contexts."""

    def __init__(self, guard: Guard, env: dict[str, str] | None = None, limits: Limits | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.guard = guard
        self.limits = limits or Limits.from_env(self.env)
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._start_lock = asyncio.Lock()

    async def browser(self) -> Browser:
        """The running browser, launched on first call."""
        async with self._start_lock:
            if self._browser is None or not self._browser.is_connected():
                self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        path = executable(self.env)
        if self._pw is None:
            self._pw = await async_playwright().start()
        args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
        try:
            return await self._pw.chromium.launch(
                executable_path=path, headless=True, args=args, proxy={"server": UNUSED_PROXY, "bypass": "<-loopback>"}
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            where = path or "Playwright's managed Chromium"
            raise ToolError(
                f"cannot start the browser ({where}): {first}. Install Debian's chromium (apt-get install chromium), "
                f"set {PATH_ENV} to a Chromium/Chrome binary, or run `playwright install chromium`."
            ) from None

    async def session(self, cid: str) -> Session:
        """The conversation's session, created on first use; the least recently used one is closed beyond the cap."""
        found = self.sessions.get(cid)
        if found is not None and not found.page.is_closed():
            self.sessions.move_to_end(cid)
            return found
        if found is not None:
            await self._close(self.sessions.pop(cid))
        browser = await self.browser()
        proxy = await GuardProxy(self.guard, self.limits.max_page_bytes).start()
        context = await browser.new_context(
            proxy={"server": proxy.url, "bypass": "<-loopback>"},
            service_workers="block",
            accept_downloads=True,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(self.limits.action_timeout_s * 1000)
        context.set_default_navigation_timeout(self.limits.nav_timeout_s * 1000)
        await context.add_init_script(NO_WEBRTC)
        session = Session(cid, context, proxy, await context.new_page())
        context.on("page", session.adopt)
        context.on("request", session.started)
        context.on("requestfinished", session.ended)
        context.on("requestfailed", session.ended)
        self.sessions[cid] = session
        while len(self.sessions) > self.limits.max_sessions:
            await self._close(self.sessions.popitem(last=False)[1])
        return session

    async def _close(self, session: Session) -> None:
        with contextlib.suppress(PlaywrightError):  # the browser may already be gone; closing is best effort
            await session.context.close()
        await session.proxy.close()

    async def close(self) -> None:
        """Close every context, the browser and Playwright."""
        for session in list(self.sessions.values()):
            await self._close(session)
        self.sessions.clear()
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
        self._browser = self._pw = None


def save_file(root: Path, folder: str, name: str, data: bytes) -> str:
    """Write data as a new file in the workspace folder (never following links), returning its relative path."""
    return safe_files.write_new(Workspace(root), folder, name, data)


def first_line(err: Any) -> str:
    """The first line of an exception message, without Playwright's call log."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


async def replace_tab(s: Session) -> None:
    """Replace the tab after a refused or failed navigation: Chromium may still be committing its error page,
    which would interrupt the next navigation (measured); a new tab has nothing in flight."""
    old = s.page
    s.adopt(await s.context.new_page())
    try:
        await old.close()
    except PlaywrightError:
        pass


def refusal_notes(s: Session) -> list[str]:
    """One line naming what the guard blocked on this page (the first few), or nothing."""
    refusals = s.proxy.refusals
    if not refusals:
        return []
    shown = "; ".join(f"{r.target} ({r.reason})" for r in refusals[:SHOWN_REFUSALS])
    more = f"; and {len(refusals) - SHOWN_REFUSALS} more" if len(refusals) > SHOWN_REFUSALS else ""
    return [f"[the browser guard blocked {len(refusals)} request(s) of this page: {shown}{more}]"]


def save_once(s: Session, root: Path, kind: str, text: str) -> str:
    """Save a long text in the workspace once per distinct content; later pages point at the same file."""
    key = hash(text)
    if key not in s.saved:
        s.saved[key] = save_file(root, "browser", f"{kind}-{stamp()}.txt", text.encode("utf-8"))
    return s.saved[key]


def stamp() -> str:
    """A timestamp for names of saved files."""
    return time.strftime("%Y%m%d-%H%M%S")
