"""The web UI's perimeter: only its own Host names, only same-origin browser requests, and a login beyond loopback.

An ASGI middleware in front of everything the UI serves (Gradio and our own routes), so a request is judged before
Gradio sees it:

- Host allow-list: 127.0.0.1, localhost, [::1], the address the app binds (unless a wildcard) and the names in
  K2HUB_ALLOWED_HOSTS; any other Host header is answered 421. A web page whose name an attacker re-points at
  127.0.0.1 (DNS rebinding) sends its own name as Host, so it never reaches the app.
- Origin: a request that carries an Origin header (every cross-origin fetch, form post, EventSource and
  WebSocket a browser makes) must come from the app's own origin, else 403; a state-changing request a browser
  marks cross-site (Sec-Fetch-Site) is refused too. No CORS header is ever granted (app/server.py installs
  Starlette's CORS middleware with no allowed origin, which also turns Gradio's own CORS reflection off).
- Authentication (K2HUB_AUTH): `token` = a random token per start, printed with the URL; opening that URL stores
  it in an HttpOnly, SameSite=Strict cookie, and every request without it gets 401. `user:password` = Gradio's login
  form; our own routes (/k2hub/...) then require the session Gradio's login created.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_ROUTES = "/k2hub/"
TOKEN_PARAM = "token"


class AuthError(ValueError):
    """K2HUB_AUTH is malformed, or missing where the bind address needs it."""


@dataclass(frozen=True)
class Auth:
    """How the UI authenticates: nothing (loopback only), a per-start token, or Gradio's user/password login."""

    mode: str = "none"  # "none", "token" or "password"
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)

    @property
    def gradio_auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.mode == "password" else None


def parse_auth(value: str) -> Auth:
    """K2HUB_AUTH: '' (none), 'token', or 'user:password'."""
    value = value.strip()
    if not value:
        return Auth()
    if value == "token":
        return Auth("token", token=secrets.token_urlsafe(24))
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise AuthError("K2HUB_AUTH must be 'token' or 'user:password' (both non-empty)")
    return Auth("password", user=user, password=password)


def is_loopback(host: str) -> bool:
    """Whether binding host exposes the UI to this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: Auth) -> None:
    """Refuse to serve beyond loopback without authentication."""
    if not is_loopback(host) and auth.mode == "none":
        raise AuthError(
            f"refusing to serve on {host}: beyond this machine (127.0.0.1) the UI needs authentication. Set "
            "K2HUB_AUTH=user:password (a login form) or K2HUB_AUTH=token (a token printed with the URL), and list the "
            "names people will type in K2HUB_ALLOWED_HOSTS."
        )


def allowed_hosts(bind: str, extra: Iterable[str]) -> frozenset[str]:
    """Host names (lower case, IPv6 without brackets) the UI answers."""
    names = {*LOOPBACK_NAMES, *(n.strip().strip("[]").lower() for n in extra if n.strip())}
    bound = bind.strip("[]").lower()
    if bound and bound not in ("0.0.0.0", "::"):
        names.add(bound)
    return frozenset(names)


class Perimeter:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str], auth: Auth, port: int,
                 gradio_session: Callable[[dict[str, str]], bool] | None = None) -> None:
        self.app = app
        self.hosts = hosts
        self.auth = auth
        self.cookie = f"k2hub-token-{port}"  # per port: two apps on one machine must not log each other out
        self.gradio_session = gradio_session

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            return await _refuse(scope, send, 421, f"This app answers only its own address (Host {host[:100]!r} is not "
                                 "one of them; see K2HUB_ALLOWED_HOSTS).")
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, scope.get("scheme") in ("https", "wss"), host):
            return await _refuse(scope, send, 403, "Cross-origin requests are refused.")
        method = scope.get("method", "GET")
        if kind == "http" and method not in SAFE_METHODS and headers.get("sec-fetch-site", "same-origin") not in (
                "same-origin", "none"):
            return await _refuse(scope, send, 403, "Cross-site requests are refused.")
        if self.auth.mode == "token":
            cookies = _cookies(headers)
            if not hmac.compare_digest(cookies.get(self.cookie, ""), self.auth.token):
                return await self._token_login(scope, send, method)
        elif self.auth.mode == "password" and scope.get("path", "").startswith(OWN_ROUTES):
            if self.gradio_session is None or not self.gradio_session(_cookies(headers)):
                return await _refuse(scope, send, 401, "Log in first (open the app's main page).")
        return await self.app(scope, receive, send)

    async def _token_login(self, scope: Scope, send: Any, method: str) -> None:
        """The URL printed at start carries ?token=…: store it as a cookie and drop it from the address bar."""
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == TOKEN_PARAM), "")
        if scope["type"] != "http" or method != "GET" or not hmac.compare_digest(given, self.auth.token):
            return await _refuse(scope, send, 401, "Open the address with the token that the app printed on its "
                                 "console when it started (…/?token=…).")
        rest = urlencode([(k, v) for k, v in query if k != TOKEN_PARAM])
        location = scope.get("path", "/") + (f"?{rest}" if rest else "")
        cookie = f"{self.cookie}={self.auth.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _hostname(host: str) -> str:
    try:
        return (urlsplit(f"//{host}").hostname or "").lower()
    except ValueError:
        return ""


def _same_origin(origin: str, secure: bool, host: str) -> bool:
    """Whether a browser's Origin header names the very origin this request was sent to."""
    try:
        parts = urlsplit(origin)
        mine = urlsplit(f"{'https' if secure else 'http'}://{host}")
        return (parts.scheme, parts.hostname, parts.port or _default(parts.scheme)) == (
            mine.scheme, mine.hostname, mine.port or _default(mine.scheme))
    except ValueError:
        return False


def _default(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header is simply no cookie
        return {}
    return {k: m.value for k, m in jar.items()}


async def _refuse(scope: Scope, send: Any, status: int, message: str) -> None:
    """An HTTP error page, or for a WebSocket a close before the handshake is accepted."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = f"<!doctype html><title>{status}</title><p>{html.escape(message)}</p>".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
