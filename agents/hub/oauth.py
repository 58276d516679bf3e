"""OAuth for remote MCP servers, on the SDK's own client (`mcp.client.auth`): this module only decides which
provider a server gets and keeps its tokens.

The SDK does the protocol: protected-resource and authorization-server metadata discovery (with the 2025-03-26
fallbacks), dynamic client registration or a client ID metadata document, PKCE, scope selection from
`WWW-Authenticate` / `scopes_supported` and step-up, refresh, and client credentials (secret or signed JWT).

Tokens and client registrations live in `$K2HUB_HOME/oauth/<server>.json`, mode 0600 in a 0700 directory, never
in the database or a log. A server without stored tokens is reached without OAuth until the user logs in
(`python run.py mcp login NAME` or Log in on the MCP tab): nothing registers with an authorization server, or
opens a browser, behind the user's back. When stored tokens no longer do (refresh refused, more scope needed),
the connection fails with LoginRequired, which says what to do.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from pydantic import AnyUrl, BaseModel, ValidationError

from agents.errors import ToolFailed
from agents.hub.config import ServerConfig
from agents.hub.id_jag import exchange_for_id_jag
from agents.hub.loopback import Loopback

TOKENS_DIR = "oauth"
# Discovery, registration and token requests: an authorization server that hangs fails the login in this time
# (the MCP requests themselves keep the transport's long read timeout, for streams).
AUTH_HTTP_TIMEOUT_S = 15.0
# Before any login the SDK still needs a redirect URI to describe the client; no request ever goes to it.
PLACEHOLDER_REDIRECT = "http://127.0.0.1/callback"


class LoginRequired(ToolFailed):
    """Raised when a server needs the user to log in (no tokens, refresh refused, more scope); says how."""

    def __init__(self, server: str, detail: str = "") -> None:
        self.server = server
        why = f" ({detail})" if detail else ""
        super().__init__(f"Server {server} needs you to log in{why}: run `python run.py mcp login {server}` "
                         "or press Log in on its card in the MCP tab.")


def token_path(home: Path, server: str) -> Path:
    return home / TOKENS_DIR / f"{server}.json"


class TokenFile:
    """The SDK's TokenStorage as one private JSON file per server (written atomically, mode 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, self.path)

    async def get_tokens(self) -> OAuthToken | None:
        raw = self._read().get("tokens")
        try:
            return OAuthToken.model_validate(raw) if raw else None
        except ValidationError:
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        data = self._read()
        data["tokens"] = tokens.model_dump(mode="json", exclude_none=True)
        # The SDK keeps only expires_in; the absolute time lets a later process refresh before using a dead token.
        data["expires_at"] = time.time() + tokens.expires_in if tokens.expires_in else None
        self._write(data)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        raw = self._read().get("client")
        try:
            return OAuthClientInformationFull.model_validate(raw) if raw else None
        except ValidationError:
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        data = self._read()
        data["client"] = client_info.model_dump(mode="json", exclude_none=True)
        self._write(data)

    def expires_at(self) -> float | None:
        value = self._read().get("expires_at")
        return float(value) if isinstance(value, int | float) else None

    def summary(self) -> dict[str, Any]:
        """What the UI may show: logged in or not, until when, refreshable, scope. Never a token."""
        data = self._read()
        tokens = data.get("tokens") or {}
        return {"logged_in": bool(tokens.get("access_token")), "expires_at": data.get("expires_at"),
                "refreshable": bool(tokens.get("refresh_token")), "scope": tokens.get("scope")}

    def redirect_port(self) -> int | None:
        """The loopback port the stored (dynamically registered) client was registered with."""
        uris = (self._read().get("client") or {}).get("redirect_uris") or []
        try:
            return int(str(uris[0]).split(":")[2].split("/")[0]) if uris else None
        except (IndexError, ValueError):
            return None

    def forget_client(self) -> None:
        """Drop a registration whose redirect URI we can no longer listen on (the SDK registers anew)."""
        data = self._read()
        if data.pop("client", None) is not None:
            self._write(data)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class _Bounded:
    """Mixin: every request the OAuth flow makes itself gets AUTH_HTTP_TIMEOUT_S (a hung server fails fast)."""

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        flow = super()._auth_flow(request)  # type: ignore[misc]
        try:
            outgoing = await flow.__anext__()
            while True:
                if outgoing is not request and "timeout" not in outgoing.extensions:
                    outgoing.extensions = {**outgoing.extensions,
                                           "timeout": httpx2.Timeout(AUTH_HTTP_TIMEOUT_S).as_dict()}
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()


class _RestoresExpiry(_Bounded):
    """Mixin: a token loaded from the file keeps its expiry, so an expired one is refreshed before use."""

    async def _initialize(self) -> None:
        await super()._initialize()  # type: ignore[misc]
        self.context.token_expiry_time = self.context.storage.expires_at()  # type: ignore[attr-defined]


class _CodeFlow(_RestoresExpiry, OAuthClientProvider):
    pass


class _SecretFlow(_RestoresExpiry, ClientCredentialsOAuthProvider):
    pass


class _JWTFlow(_RestoresExpiry, PrivateKeyJWTOAuthProvider):
    pass


class _AssertionFlow(_Bounded, IdentityAssertionOAuthProvider):
    pass


@dataclass
class Consent:
    """An interactive login: show the user the authorization URL; the loopback catches the code."""

    open_url: Callable[[str], Awaitable[None]]
    loopback: Loopback


METADATA: list[tuple[str, str, type[BaseModel]]] = [
    ("/.well-known/oauth-protected-resource", "protected-resource metadata", ProtectedResourceMetadata),
    ("/.well-known/oauth-authorization-server", "authorization-server metadata", OAuthMetadata),
    ("/.well-known/openid-configuration", "OpenID configuration", OAuthMetadata),
]


async def metadata_problem(response: httpx2.Response) -> str | None:
    """A sentence when an OAuth metadata document is malformed (the SDK then quietly falls back to defaults)."""
    path = response.url.path
    for prefix, what, model in METADATA:
        if path.startswith(prefix) and response.status_code == 200:
            try:
                model.model_validate_json(await response.aread())
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "document"
                return f"malformed {what} at {response.url} ({where}: {first['msg']}); it was ignored"
            except httpx2.HTTPError:
                return None
    return None


def build_auth(config: ServerConfig, home: Path, consent: Consent | None = None) -> httpx2.Auth | None:
    """The httpx auth for a URL server, or None: no OAuth until the user logs in (or client credentials)."""
    settings = config.oauth
    assert config.url is not None
    storage = TokenFile(token_path(home, config.name))
    if settings is not None and settings.grant == "client_credentials":
        return _machine_auth(config, storage)
    if settings is not None and settings.grant == "identity_assertion":
        return _enterprise_auth(config, storage)
    if consent is None and not storage.summary()["logged_in"]:
        return None
    if consent is not None:
        redirect = consent.loopback.redirect_uri
        if settings is None or not settings.client_id:
            if storage.redirect_port() not in (None, consent.loopback.port):
                storage.forget_client()
    else:
        port = storage.redirect_port()
        redirect = f"http://127.0.0.1:{port}/callback" if port else PLACEHOLDER_REDIRECT
    if settings is not None and settings.client_id:
        _store_preregistered(storage, settings, redirect)
    metadata = OAuthClientMetadata(
        client_name="K2 Agent Hub", redirect_uris=[AnyUrl(redirect)],
        grant_types=["authorization_code", "refresh_token"], response_types=["code"],
        scope=settings.scope if settings else None,
        token_endpoint_auth_method=settings.token_endpoint_auth_method if settings else None,
    )

    async def refuse_redirect(_url: str) -> None:
        raise LoginRequired(config.name, "its tokens no longer work")

    async def refuse_callback() -> AuthorizationCodeResult:
        raise LoginRequired(config.name)

    redirect_handler = consent.open_url if consent else refuse_redirect
    callback_handler = consent.loopback.receive if consent else refuse_callback
    return _CodeFlow(config.url, metadata, storage, redirect_handler, callback_handler,
                     client_metadata_url=settings.client_metadata_url if settings else None)


def _store_preregistered(storage: TokenFile, settings: Any, redirect: str) -> None:
    """A client id from mcp.json replaces dynamic registration: the SDK finds it as stored client info."""
    method = settings.token_endpoint_auth_method or ("client_secret_basic" if settings.secret() else "none")
    info = OAuthClientInformationFull(client_id=settings.client_id, client_secret=settings.secret(),
                                      redirect_uris=[AnyUrl(redirect)], token_endpoint_auth_method=method)
    data = storage._read()
    data["client"] = info.model_dump(mode="json", exclude_none=True)
    storage._write(data)


def _enterprise_auth(config: ServerConfig, storage: TokenFile) -> httpx2.Auth:
    """SEP-990: the IdP's ID-JAG for an access token at the configured authorization server."""
    settings = config.oauth
    assert settings is not None and config.url is not None
    secret = settings.secret()
    if not (settings.client_id and secret and settings.issuer):
        raise ToolFailed(f"Server {config.name}: identity_assertion needs oauth.client_id, a client secret and "
                         "oauth.issuer (the MCP authorization server) in mcp.json")

    async def assertion(audience: str, resource: str) -> str:
        return await exchange_for_id_jag(config.name, settings, audience, resource)

    method = "client_secret_post" if settings.token_endpoint_auth_method == "client_secret_post" else "client_secret_basic"
    return _AssertionFlow(config.url, storage, settings.client_id, secret, settings.issuer, assertion,
                                          scope=settings.scope, token_endpoint_auth_method=method)


def _machine_auth(config: ServerConfig, storage: TokenFile) -> httpx2.Auth:
    """Client credentials: a shared secret (basic or post) or a JWT signed with the client's private key."""
    settings = config.oauth
    assert settings is not None and config.url is not None
    if not settings.client_id:
        raise ToolFailed(f"Server {config.name}: oauth.grant client_credentials needs oauth.client_id in mcp.json")
    if settings.token_endpoint_auth_method == "private_key_jwt" or settings.private_key_file:
        if not settings.private_key_file:
            raise ToolFailed(f"Server {config.name}: private_key_jwt needs oauth.private_key_file in mcp.json")
        try:
            key = Path(settings.private_key_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolFailed(f"Server {config.name}: cannot read oauth.private_key_file: {exc.strerror}") from None
        signer = SignedJWTParameters(issuer=settings.client_id, subject=settings.client_id, signing_key=key,
                                     signing_algorithm=settings.signing_algorithm)
        return _JWTFlow(config.url, storage, settings.client_id, signer.create_assertion_provider(),
                        scope=settings.scope, issuer=settings.issuer)
    secret = settings.secret()
    if not secret:
        raise ToolFailed(f"Server {config.name}: client_credentials needs oauth.client_secret or client_secret_env")
    method = "client_secret_post" if settings.token_endpoint_auth_method == "client_secret_post" else "client_secret_basic"
    return _SecretFlow(config.url, storage, settings.client_id, secret, token_endpoint_auth_method=method,
                       scope=settings.scope, issuer=settings.issuer)
