"""An MCP server behind OAuth 2.1 on 127.0.0.1, built from the SDK's own authorization-server parts.

It is its own authorization server (metadata, dynamic registration, authorize with a consent page, token with
PKCE and refresh) and resource server (bearer tokens required on /mcp). Tokens live for --ttl seconds. Stats of
the grants it served are at GET /stats. `--bad MODE` breaks one part on purpose, for the bad-input tests:
prm (malformed protected-resource metadata), asm (malformed authorization-server metadata), hang (authorization-server metadata never answers), token (the
token endpoint answers garbage).

Usage: python -m tests.agents.hub_servers.oauth_server PORT [--ttl S] [--bad MODE] [--scope S]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

STATS: dict[str, int] = {"registrations": 0, "codes": 0, "refreshes": 0, "calls": 0}


class Provider:
    """Every client, code and token in memory; /authorize shows a consent page instead of issuing at once."""

    def __init__(self, base: str, ttl: int) -> None:
        self.base = base
        self.ttl = ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, tuple[str, AuthorizationParams]] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        STATS["registrations"] += 1
        self.clients[client_info.client_id or ""] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        key = secrets.token_urlsafe(16)
        self.pending[key] = (client.client_id or "", params)
        return f"{self.base}/consent?{urlencode({'key': key})}"

    def consent(self, key: str) -> str | None:
        """Issue a code for a pending authorization; the redirect back to the client, or None."""
        found = self.pending.pop(key, None)
        if found is None:
            return None
        client_id, params = found
        code = secrets.token_urlsafe(24)
        STATS["codes"] += 1
        self.codes[code] = AuthorizationCode(
            code=code, scopes=params.scopes or ["mcp"], expires_at=time.time() + 300, client_id=client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly, resource=params.resource)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: OAuthClientInformationFull, code: str) -> AuthorizationCode | None:
        return self.codes.get(code)

    async def exchange_authorization_code(self, client: OAuthClientInformationFull,
                                          code: AuthorizationCode) -> OAuthToken:
        self.codes.pop(code.code, None)
        return self._issue(code.client_id, code.scopes, code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(self, client: OAuthClientInformationFull, refresh_token: RefreshToken,
                                     scopes: list[str]) -> OAuthToken:
        STATS["refreshes"] += 1
        self.refresh.pop(refresh_token.token, None)
        return self._issue(refresh_token.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: Any) -> None:
        self.access.pop(getattr(token, "token", ""), None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes,
                                          expires_at=int(time.time()) + self.ttl, resource=resource)
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(access_token=access, expires_in=self.ttl, refresh_token=refresh, scope=" ".join(scopes))


def build(port: int, ttl: int, scope: str) -> tuple[Any, Provider]:
    base = f"http://127.0.0.1:{port}"
    provider = Provider(base, ttl)
    mcp = MCPServer("guarded", auth_server_provider=provider, auth=AuthSettings(
        issuer_url=base, resource_server_url=f"{base}/mcp", required_scopes=[scope], validate_token_resource=False,
        client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=[scope],
                                                              default_scopes=[scope])))

    @mcp.tool()
    def whoami() -> str:
        """Say that the caller got through."""
        STATS["calls"] += 1
        return "you are logged in"

    @mcp.custom_route("/consent", methods=["GET"])
    async def consent_page(request: Request) -> Response:
        key = request.query_params.get("key", "")
        allow = f"{base}/consent/allow?{urlencode({'key': key})}"
        return HTMLResponse(f"<!doctype html><title>Consent</title><h1>Allow K2 Agent Hub?</h1>"
                            f"<a id='allow' href='{allow}'>Allow</a>")

    @mcp.custom_route("/consent/allow", methods=["GET"])
    async def consent_allow(request: Request) -> Response:
        target = provider.consent(request.query_params.get("key", ""))
        return RedirectResponse(target, status_code=302) if target else PlainTextResponse("unknown", 400)

    @mcp.custom_route("/stats", methods=["GET"])
    async def stats(_request: Request) -> Response:
        return JSONResponse(STATS)

    return mcp.streamable_http_app(), provider


class Breaker:
    """ASGI middleware that breaks one part of the flow on purpose."""

    def __init__(self, app: Any, mode: str | None) -> None:
        self.app = app
        self.mode = mode

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.mode == "prm" and path.startswith("/.well-known/oauth-protected-resource"):
            return await PlainTextResponse('{"resource": 12, "authorization_servers": [', 200,
                                           media_type="application/json")(scope, receive, send)
        if self.mode == "asm" and path.startswith("/.well-known/oauth-authorization-server"):
            return await PlainTextResponse('{"issuer": "http://127.0.0.1", "authorization_endpoint": 7', 200,
                                           media_type="application/json")(scope, receive, send)
        if self.mode == "hang" and path.startswith("/.well-known/oauth-authorization-server"):
            await asyncio.sleep(3600)
        if self.mode == "token" and path == "/token":
            return await PlainTextResponse("<html>upstream error</html>", 200,
                                           media_type="application/json")(scope, receive, send)
        await self.app(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--ttl", type=int, default=3600)
    parser.add_argument("--bad", choices=["prm", "asm", "hang", "token"])
    parser.add_argument("--scope", default="mcp")
    args = parser.parse_args()
    app, _ = build(args.port, args.ttl, args.scope)
    uvicorn.run(Breaker(app, args.bad), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
