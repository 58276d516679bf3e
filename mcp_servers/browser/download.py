"""Downloads for the browser server: by URL (httpx through the context's guard proxy, with its cookies) or by clicking."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx
from mcp.server.mcpserver.exceptions import ToolError
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from mcp_servers.browser.proxy import REFUSED_HEADER
from mcp_servers.browser.session import Limits, Session, first_line
from mcp_servers.common.cli import human_size

# httpx logs every request at INFO; a server's stderr is for problems.
logging.getLogger("httpx").setLevel(logging.WARNING)
SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
DISPOSITION = re.compile(r"filename\*\s*=\s*(?:[\w-]+'[\w-]*')?([^;]+)|filename\s*=\s*\"?([^\";]+)\"?", re.IGNORECASE)
HREF_JS = "e => e.href || (e.closest('a') && e.closest('a').href) || null"


@dataclass
class Downloaded:
    """A downloaded file: where it came from, what it is called, its bytes."""

    url: str
    filename: str
    content_type: str
    data: bytes


async def download_bytes(
    s: Session, target: str, element: Callable[[Session, str], Awaitable[Locator]], limits: Limits
) -> Downloaded:
    """Fetch a URL, or the file behind a link/button ref, bounded by the size and time limits."""
    if "://" not in target:
        locator = await element(s, target)
        href = await locator.evaluate(HREF_JS)
        if not (isinstance(href, str) and href.startswith(("http://", "https://"))):
            return await _by_click(s, locator, limits)
        target = href
    return await _by_url(s, target, limits)


async def _by_url(s: Session, url: str, limits: Limits) -> Downloaded:
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in await s.context.cookies(url))
    agent = await s.page.evaluate("() => navigator.userAgent")
    headers = {"User-Agent": agent, **({"Cookie": cookies} if cookies else {})}
    # Every hop of a redirect is a new request through the proxy, so each is checked by the guard.
    async with httpx.AsyncClient(
        proxy=s.proxy.url, follow_redirects=True, max_redirects=10, timeout=limits.nav_timeout_s
    ) as client:
        try:
            async with client.stream("GET", url, headers=headers) as response:
                if response.headers.get(REFUSED_HEADER):
                    raise ToolError(f"download refused {response.url}: {response.headers[REFUSED_HEADER]}")
                if response.status_code >= 400:
                    raise ToolError(f"download of {url} failed: HTTP {response.status_code} {response.reason_phrase}")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limits.max_page_bytes:
                        raise ToolError(f"download of {url} stopped: larger than {human_size(limits.max_page_bytes)}")
                name = _filename(response.headers.get("content-disposition", ""), str(response.url))
                kind = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
                return Downloaded(str(response.url), name, kind, bytes(data))
        except httpx.ProxyError as err:
            refused = s.proxy.refusals[-1] if s.proxy.refusals else None
            if refused is not None:
                raise ToolError(f"download refused {refused.target}: {refused.reason}") from None
            raise ToolError(f"download of {url} failed: {err}") from None
        except httpx.HTTPError as err:
            raise ToolError(f"download of {url} failed: {type(err).__name__}: {err}") from None


async def _by_click(s: Session, locator: Locator, limits: Limits) -> Downloaded:
    """Click an element that starts a download (a form button, a script) and take the file the browser received."""
    try:
        async with s.page.expect_download(timeout=limits.nav_timeout_s * 1000) as info:
            await locator.click()
        download = await info.value
        path = await download.path()
    except PlaywrightError as err:
        raise ToolError(f"clicking did not download a file: {first_line(err)}") from None
    data = await asyncio.to_thread(_head, path, limits.max_page_bytes + 1)
    if len(data) > limits.max_page_bytes:
        raise ToolError(f"download stopped: larger than {human_size(limits.max_page_bytes)}")
    name = _safe(download.suggested_filename) or "download"
    return Downloaded(download.url, name, "application/pdf" if data[:5] == b"%PDF-" else "", data)


def _head(path: str, size: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def describe_download(got: Downloaded, saved: str) -> str:
    """What was saved, and for a PDF how to read it."""
    line = f"downloaded {got.url} ({human_size(len(got.data))}, {got.content_type or 'unknown type'}) to {saved}"
    if got.data[:5] != b"%PDF-":
        return line
    pages = ""
    # A damaged PDF is kept all the same; the reader will say what is wrong with it.
    with contextlib.suppress(PyPdfError, ValueError, KeyError):
        pages = f", {len(PdfReader(io.BytesIO(got.data)).pages)} pages"
    return f"{line}\nIt is a PDF{pages}: read it with pdf_reader__ingest(path={saved!r})."


def _filename(disposition: str, url: str) -> str:
    m = DISPOSITION.search(disposition)
    raw = unquote((m.group(1) or m.group(2)).strip()) if m else PurePosixPath(unquote(urlsplit(url).path)).name
    return _safe(raw) or "download"


def _safe(name: str) -> str:
    """A file name that is one harmless path component."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return SAFE_NAME.sub("_", base).strip(" .")[:120]
