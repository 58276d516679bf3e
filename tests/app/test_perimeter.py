"""The web UI only its user can drive: attacks from a web page (DNS rebinding, cross-origin posts), from the network
(binding beyond loopback without a login) and against the stored provider keys, each refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from app.perimeter import Auth, Perimeter, allowed_hosts, check_bind, parse_auth, AuthError
from tests.app.ui_support import running_app
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-moonshot-secret-0d9e"
EVIL = "evil.example"

# --- the middleware alone ---------------------------------------------------------------------------------------


async def ok(scope: dict, receive: object, send: object) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})  # type: ignore[operator]
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def client(auth: Auth = Auth(), extra: tuple[str, ...] = ()) -> httpx.AsyncClient:
    app = Perimeter(ok, hosts=allowed_hosts("127.0.0.1", extra), auth=auth, port=7860)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:7860")


@pytest.mark.parametrize("host", ["127.0.0.1:7860", "localhost:7860", "[::1]:7860", "LOCALHOST", "box.lan:7860"])
async def test_own_host_names_are_answered(host: str) -> None:
    async with client(extra=("box.lan",)) as c:
        assert (await c.get("/", headers={"Host": host})).status_code == 200


@pytest.mark.parametrize("host", [f"{EVIL}:7860", "127.0.0.2:7860", "127.0.0.1.evil.example", "", "[::2]:7860"])
async def test_foreign_host_names_are_refused(host: str) -> None:
    async with client() as c:
        assert (await c.get("/", headers={"Host": host})).status_code == 421


@pytest.mark.parametrize("origin", [f"http://{EVIL}", "null", "http://127.0.0.1:7861", "https://127.0.0.1:7860",
                                    "http://localhost:7860"])
async def test_a_request_from_another_origin_is_refused(origin: str) -> None:
    async with client() as c:
        for method in ("POST", "GET", "OPTIONS"):
            reply = await c.request(method, "/gradio_api/queue/join", headers={"Origin": origin})
            assert reply.status_code == 403 and "access-control-allow-origin" not in reply.headers


async def test_same_origin_and_no_origin_pass_but_cross_site_posts_do_not() -> None:
    async with client() as c:
        assert (await c.post("/x", headers={"Origin": "http://127.0.0.1:7860"})).status_code == 200
        assert (await c.post("/x")).status_code == 200  # curl, the CLI: no browser can forge this from a page
        assert (await c.post("/x", headers={"Sec-Fetch-Site": "cross-site"})).status_code == 403
        assert (await c.post("/x", headers={"Sec-Fetch-Site": "same-site"})).status_code == 403


async def test_a_websocket_from_another_origin_is_closed() -> None:
    app = Perimeter(ok, hosts=allowed_hosts("127.0.0.1", ()), auth=Auth(), port=7860)
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "scheme": "ws", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:7860"), (b"origin", f"http://{EVIL}".encode())]}
    await app(scope, None, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    sent.clear()
    await app({**scope, "headers": [(b"host", b"127.0.0.1:7860"), (b"origin", b"http://127.0.0.1:7860")]}, None, send)
    assert sent == [{"type": "websocket.accept"}]


async def test_token_login_sets_an_httponly_cookie_and_everything_else_needs_it() -> None:
    auth = parse_auth("token")
    async with client(auth) as c:
        assert (await c.get("/")).status_code == 401
        assert (await c.get("/", params={"token": "wrong"})).status_code == 401
        assert (await c.post("/", params={"token": auth.token})).status_code == 401  # only the printed GET link
        reply = await c.get("/", params={"token": auth.token, "x": "1"})
        assert reply.status_code == 303 and reply.headers["location"] == "/?x=1"
        cookie = reply.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and auth.token in cookie
        assert (await c.get("/gradio_api/info")).status_code == 200  # the client kept the cookie


def test_auth_settings_and_the_bind_rule() -> None:
    assert parse_auth("") == Auth() and parse_auth("ann:s3cret").gradio_auth == ("ann", "s3cret")
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(AuthError):
            parse_auth(bad)
    check_bind("127.0.0.1", Auth())
    check_bind("::1", Auth())
    check_bind("0.0.0.0", parse_auth("token"))
    for host in ("0.0.0.0", "::", "192.168.1.20", "my-laptop.lan"):
        with pytest.raises(AuthError, match="needs authentication"):
            check_bind(host, Auth())


# --- the real app -----------------------------------------------------------------------------------------------


class Capture:
    """An HTTP server that records the Authorization header of every request (a server the attacker controls)."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append(self.headers.get("Authorization"))
                body = json.dumps({"data": [{"id": "stolen-model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("perimeter-home")
    (home / "workspaces" / "conv1").mkdir(parents=True)
    (home / "workspaces" / "conv1" / "notes.txt").write_text("private notes")
    with running_app("http://127.0.0.1:9/v1", home, MOONSHOT_API_KEY=KEY, K2HUB_BUILTIN_SERVERS="workspace",
                     K2HUB_LOCAL="false") as url:
        yield url, home


@pytest.mark.slow
def test_dns_rebinding_gets_nothing(app_url: tuple[str, Path]) -> None:
    url, _home = app_url
    port = url.rsplit(":", 1)[1]
    for path in ("/", "/gradio_api/info", "/k2hub/files/conv1/notes.txt", "/config"):
        rebound = httpx.get(url + path, headers={"Host": f"{EVIL}:{port}"})
        assert rebound.status_code == 421 and "private notes" not in rebound.text, path
    assert httpx.get(url + "/k2hub/files/conv1/notes.txt").text == "private notes"  # its own user still can


@pytest.mark.slow
def test_a_foreign_page_cannot_post_and_gets_no_cors(app_url: tuple[str, Path]) -> None:
    url, _home = app_url
    api = f"{url}/gradio_api/call/on_refresh_models"
    attack = httpx.post(api, json={"data": ["moonshot", "http://127.0.0.1:9/v1", None]},
                        headers={"Origin": f"http://{EVIL}"})
    assert attack.status_code == 403 and "access-control-allow-origin" not in attack.headers
    preflight = httpx.options(api, headers={"Origin": f"http://{EVIL}", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    same = httpx.get(f"{url}/gradio_api/info", headers={"Origin": url})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers


@pytest.mark.slow
def test_the_stored_key_is_never_sent_to_a_typed_base_url(app_url: tuple[str, Path]) -> None:
    url, _home = app_url
    thief = Capture()
    try:
        # Even a same-origin call (the user typing it, or anything that gets past the perimeter) must not leak it.
        started = httpx.post(f"{url}/gradio_api/call/on_refresh_models", json={"data": ["moonshot", thief.url, None]})
        event = started.json()["event_id"]
        result = httpx.get(f"{url}/gradio_api/call/on_refresh_models/{event}", timeout=30).text
    finally:
        thief.server.shutdown()
    assert "event: complete" in result, result
    assert thief.seen and all(KEY not in (h or "") for h in thief.seen), thief.seen


@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_binding_beyond_loopback_without_auth_refuses_to_start(host: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("K2HUB_")}
    env.update(K2HUB_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "app.server", "--host", host, "--port", str(port), "--no-browser"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "needs authentication" in done.stderr and "K2HUB_AUTH" in done.stderr
    assert "running at" not in done.stdout


@pytest.mark.slow
async def test_a_password_login_guards_gradio_and_our_own_routes(_isolated_home: Path) -> None:
    from app.config import load_settings
    from app.server import build_app
    from app.ui import build_ui

    (_isolated_home / "workspaces" / "conv1").mkdir(parents=True)
    (_isolated_home / "workspaces" / "conv1" / "notes.txt").write_text("private notes")
    settings = load_settings(home=_isolated_home, builtin_servers="workspace", local=False)
    demo, backend = build_ui(settings)
    app = build_app(demo, backend, settings, "127.0.0.1", 7860, parse_auth("ann:s3cret"))
    files = "/k2hub/files/conv1/notes.txt"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:7860") as c:
        assert (await c.get(files)).status_code == 401
        assert (await c.get("/gradio_api/info")).status_code == 401
        assert (await c.post("/login", data={"username": "ann", "password": "wrong"})).status_code >= 400
        assert (await c.get(files)).status_code == 401
        assert (await c.post("/login", data={"username": "ann", "password": "s3cret"})).status_code == 200
        reply = await c.get(files)
        assert reply.status_code == 200 and reply.text == "private notes"
