"""Enterprise-managed authorization (SEP-990), leg 1: trade the user's ID token for an ID-JAG at their identity
provider (RFC 8693 token exchange). The SDK's IdentityAssertionOAuthProvider does leg 2 (the ID-JAG for an MCP
access token) and leaves this leg to the deployment, as its documentation says; this is ours."""

from __future__ import annotations

from pathlib import Path

import httpx2

from agents.errors import ToolFailed
from agents.hub.config import OAuthConfig

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"


async def exchange_for_id_jag(server: str, settings: OAuthConfig, audience: str, resource: str) -> str:
    """The ID-JAG the IdP issues for this MCP authorization server (audience) and server (resource)."""
    if not (settings.idp_token_endpoint and settings.idp_client_id and settings.id_token_file):
        raise ToolFailed(f"Server {server}: identity_assertion needs oauth.idp_token_endpoint, idp_client_id and "
                         "id_token_file in mcp.json")
    try:
        id_token = Path(settings.id_token_file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ToolFailed(f"Server {server}: cannot read oauth.id_token_file: {exc.strerror}") from None
    form = {"grant_type": TOKEN_EXCHANGE, "subject_token": id_token, "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG, "audience": audience, "resource": resource,
            "client_id": settings.idp_client_id}
    if settings.scope:
        form["scope"] = settings.scope
    async with httpx2.AsyncClient(timeout=30) as client:
        reply = await client.post(settings.idp_token_endpoint, data=form)
    try:
        body = reply.json()
    except ValueError:
        body = {}
    if reply.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise ToolFailed(f"Server {server}: the identity provider refused the token exchange "
                         f"(HTTP {reply.status_code}{': ' + str(reason) if reason else ''}); refresh your ID token")
    if body.get("issued_token_type") not in (None, ID_JAG):
        raise ToolFailed(f"Server {server}: the identity provider issued {body.get('issued_token_type')}, not an ID-JAG")
    return str(body["access_token"])
