"""OAuth for remote servers against a real authorization server on 127.0.0.1 (the SDK's server-side parts)."""

from __future__ import annotations

import json
import logging
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.errors import ToolFailed
from agents.hub import admin, oauth
from agents.hub.config import ServerConfig
from agents.hub.connection import Services
from agents.hub.hub import Hub
from agents.hub.pins import PinStore
from agents.planner.runner import Agent, RunRequest
from tests.agents.conftest import agent_config, collect, of_type
from tests.agents.oauth_support import OAuthServer, click_allow, oauth_server
from tests.fakes.k2_server import FakeK2Server
from tests.fakes.k2_wire import ToolCall, Turn

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def guarded() -> Iterator[OAuthServer]:
    with oauth_server() as server:
        yield server


def entry(server: OAuthServer, name: str = "guarded") -> ServerConfig:
    return ServerConfig(name=name, url=server.url)


def tokens(home: Path, name: str = "guarded") -> dict:
    return json.loads(oauth.token_path(home, name).read_text())


async def test_a_401_says_log_in_and_how(guarded: OAuthServer, _isolated_home: Path) -> None:
    before = guarded.stats()
    async with Hub([entry(guarded)], default_timeout_s=20, services=Services(home=_isolated_home)) as hub:
        status = hub.status()[0]
        assert status.state == "error" and status.needs_login
        assert "needs you to log in" in (status.error or "") and "python run.py mcp login guarded" in (status.error or "")
        refused = await hub.call("guarded__whoami", {})
        assert refused.is_error and "needs you to log in" in refused.text
    assert guarded.stats() == before  # a background start registers nothing and asks for no code
    assert not oauth.token_path(_isolated_home, "guarded").exists()


async def test_login_keeps_tokens_private_and_refreshes_them_after_expiry(guarded: OAuthServer, _isolated_home: Path) -> None:
    before = guarded.stats()
    login = await admin.login(entry(guarded), _isolated_home, click_allow)
    assert [t.name for t in login.tools] == ["whoami"] and login.notes == []
    path = oauth.token_path(_isolated_home, "guarded")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first = tokens(_isolated_home)["tokens"]
    assert first["access_token"] and first["refresh_token"]
    assert guarded.stats()["registrations"] == before["registrations"] + 1
    async with Hub([entry(guarded)], default_timeout_s=20, services=Services(home=_isolated_home)) as hub:
        assert (await hub.call("guarded__whoami", {})).text == "you are logged in"
    # The token expired while the app was closed: the next start refreshes it before using it.
    data = tokens(_isolated_home)
    data["expires_at"] = 1.0
    path.write_text(json.dumps(data))
    async with Hub([entry(guarded)], default_timeout_s=20, services=Services(home=_isolated_home)) as hub:
        assert (await hub.call("guarded__whoami", {})).text == "you are logged in"
    assert guarded.stats()["refreshes"] == before["refreshes"] + 1
    assert tokens(_isolated_home)["tokens"]["access_token"] != first["access_token"]
    assert guarded.stats()["registrations"] == before["registrations"] + 1  # no new registration, no new consent


async def test_tokens_never_reach_the_database_or_the_logs(guarded: OAuthServer, _isolated_home: Path,
                                                           fake_k2: FakeK2Server,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin.add(_isolated_home, "guarded", url=guarded.url)
    await admin.login(admin.find(_isolated_home, "guarded"), _isolated_home, click_allow)
    await admin.enable(_isolated_home, "guarded")
    assert list(PinStore(_isolated_home).get("guarded").pins) == ["whoami"]  # listed when logging in
    agent = await Agent.open(agent_config(_isolated_home, fake_k2.url, builtin=[]),
                             database_url=f"sqlite:///{_isolated_home}/k2hub.db")
    try:
        fake_k2.enqueue(Turn(reasoning="w", tool_calls=[ToolCall("guarded__whoami", {})]), Turn(content="done"))
        events = await collect(agent.run(RunRequest(prompt="who am I?")))
    finally:
        await agent.aclose()
    assert of_type(events, "tool_call_finished")[0].preview == "you are logged in"
    secrets = [v for v in (tokens(_isolated_home)["tokens"]["access_token"],
                           tokens(_isolated_home)["tokens"]["refresh_token"])]
    stored = b"".join(p.read_bytes() for p in _isolated_home.glob("k2hub.db*"))
    others = b"".join(p.read_bytes() for p in [_isolated_home / "mcp.json", *(_isolated_home / "mcp").glob("*.json")])
    for secret in secrets:
        assert secret.encode() not in stored and secret.encode() not in others
        assert secret not in caplog.text


@pytest.mark.parametrize("mode, says", [
    ("hang", "/.well-known/oauth-authorization-server did not answer in time"),
    ("token", "invalid token response"),
])
async def test_a_broken_authorization_server_fails_the_login_clearly(mode: str, says: str, _isolated_home: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oauth, "AUTH_HTTP_TIMEOUT_S", 2.0)
    with oauth_server("--bad", mode) as broken:
        with pytest.raises(ToolFailed) as failed:
            await admin.login(entry(broken, "broken"), _isolated_home, click_allow, timeout_s=30)
    message = str(failed.value)
    assert message.startswith("Logging in to broken failed: ") and says in message.lower(), message
    assert not oauth.token_path(_isolated_home, "broken").exists() or "tokens" not in tokens(_isolated_home, "broken")


@pytest.mark.parametrize("mode, what", [("prm", "protected-resource metadata"),
                                        ("asm", "authorization-server metadata")])
async def test_malformed_metadata_is_reported_while_the_sdk_falls_back(mode: str, what: str,
                                                                       _isolated_home: Path) -> None:
    """The SDK ignores a malformed document and uses the 2025-03-26 defaults (which this server also serves):
    the login works, and the user is told which document is broken."""
    with oauth_server("--bad", mode) as broken:
        login = await admin.login(entry(broken, "broken"), _isolated_home, click_allow, timeout_s=30)
    assert [t.name for t in login.tools] == ["whoami"]
    assert login.notes and all(n.startswith(f"malformed {what} at http://127.0.0.1:") for n in login.notes), login.notes


async def test_a_refresh_against_garbage_asks_for_a_login_and_the_rest_of_the_hub_works(_isolated_home: Path) -> None:
    storage = oauth.TokenFile(oauth.token_path(_isolated_home, "broken"))
    with oauth_server("--bad", "token") as broken:
        from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
        from pydantic import AnyUrl

        await storage.set_client_info(OAuthClientInformationFull(client_id="c", redirect_uris=[AnyUrl(
            "http://127.0.0.1:9/callback")], token_endpoint_auth_method="none"))
        await storage.set_tokens(OAuthToken(access_token="stale", refresh_token="r", expires_in=1))
        data = json.loads(storage.path.read_text())
        data["expires_at"] = 1.0
        storage.path.write_text(json.dumps(data))
        toolbox = ServerConfig(name="tb", command=sys.executable, args=["-m", "tests.agents.hub_servers.toolbox"],
                               cwd=str(ROOT))
        async with Hub([entry(broken, "broken"), toolbox], default_timeout_s=20, services=Services(home=_isolated_home),
                       startup_timeout_s=30) as hub:
            states = {s.name: s for s in hub.status()}
            assert states["broken"].state == "error" and "needs you to log in" in (states["broken"].error or "")
            assert (await hub.call("tb__add", {"a": 1, "b": 2})).text == "3"
