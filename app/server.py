"""Serve the UI: bind 127.0.0.1 (by default), step to the next free port when taken, print the URL, open a browser
only where one can be shown. Everything is served behind the perimeter (app/perimeter.py): our own uvicorn runs our
FastAPI app, with Gradio mounted at /, so the Host/Origin/login checks see every request before Gradio does."""

from __future__ import annotations

import argparse
import os
import socket
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.config import Settings
    from app.perimeter import Auth

PORT_TRIES = 50


def find_free_port(host: str, start: int, tries: int = PORT_TRIES) -> int:
    """The first port from `start` that `host` can bind; raises OSError naming the range when none can."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
            if os.name != "nt":
                # As uvicorn does: a port whose old connections linger in TIME_WAIT is free to serve on.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port on {host} in {start}-{start + tries - 1}; pass --port")


def display_available() -> bool:
    """A browser window can open: macOS and Windows always; elsewhere only with X11 or Wayland."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (service managers, test harnesses) takes the same clean path as Ctrl+C.
    raise KeyboardInterrupt


def serve(settings: Settings, host: str | None = None, port: int | None = None, open_browser: bool | None = None,
          *, install_local: bool = False) -> None:
    """Start the UI and block until Ctrl+C; MCP servers, the local model server and the database close on the way out.

    With install_local, the local model's runtime and weights install in a background thread while the UI serves.
    Raises AuthError (before anything starts) when the address needs authentication that K2HUB_AUTH does not give.
    """
    from app.perimeter import check_bind, parse_auth

    host = host or settings.host
    auth = parse_auth(settings.auth)
    check_bind(host, auth)
    # Gradio phones home at import unless told not to; this must precede the import.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from agents.models.local import runtime
    from agents.models.local.installer import INSTALLER
    from app.ui import build_ui

    if install_local and settings.local:
        INSTALLER.start()  # never blocks: the UI shows its progress in the sidebar

    port = find_free_port(host, port or settings.port)
    browser = (settings.open_browser if open_browser is None else open_browser) and display_available()
    demo, backend = build_ui(settings)
    demo.queue(default_concurrency_limit=4)
    app = build_app(demo, backend, settings, host, port, auth)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    # An Event, not Thread.join: on Python 3.11 a join interrupted by Ctrl+C leaves is_alive() False while the
    # server still runs, and the shutdown below would then not wait for it.
    done = threading.Event()
    stopped = False

    def run() -> None:
        try:
            server.run()
        finally:
            done.set()

    thread = threading.Thread(target=run, name="k2hub-ui", daemon=True)
    try:
        thread.start()
        while not server.started and not done.is_set():
            time.sleep(0.05)
        if not server.started:
            raise OSError(f"the UI could not start on {host}:{port}")
        shown = "127.0.0.1" if host == "0.0.0.0" else (f"[{host}]" if ":" in host else host)
        url = f"http://{shown}:{port}" + (f"/?token={auth.token}" if auth.mode == "token" else "")
        print(f"K2 Agent Hub running at {url}  (Ctrl+C to quit)", flush=True)
        if browser:
            import webbrowser

            webbrowser.open(url)
        # SIGTERM (service managers, test harnesses) takes the same clean path as Ctrl+C.
        signal.signal(signal.SIGTERM, _interrupt)
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        stopped = True
    finally:
        INSTALLER.cancel()
        backend.close()  # inside the server's event loop, which must still run
        runtime.stop_server()
        server.should_exit = True
        done.wait(10)
    if stopped:
        _exit_now()


def _exit_now() -> None:
    # Everything that holds data is closed above and the exit handlers (model worker, local runtime, open PDFs) run
    # here; what os._exit skips is the interpreter tearing down Gradio's and litellm's modules object by object,
    # which writes nothing and made every stop take seconds more.
    import atexit
    import logging

    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def build_app(demo: Any, backend: Any, settings: Settings, host: str, port: int, auth: Auth) -> Any:
    """Our ASGI app: the perimeter (app/perimeter.py) in front of our routes and Gradio, mounted at /."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount

    from app.perimeter import Perimeter, allowed_hosts
    from app.ui import CSS_PATHS, THEME, code_runner, evidence, files, images
    from app.ui.page_preload import PagePreload

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # Our routes first: Gradio's mount at / would take every path.
    evidence.mount(app, lambda: backend.opened.db if backend.opened else None)  # a KPI number's page, highlighted
    files.mount(app)  # workspace files, served one by one from the conversation's own folder
    images.mount(app, lambda: backend.opened.db if backend.opened else None)  # images the model saw (issue 21)
    gr.mount_gradio_app(app, demo, path="/", auth=auth.gradio_auth, theme=THEME, css_paths=CSS_PATHS,
                        footer_links=[], show_error=False, js=code_runner.JS)
    gradio_app = next(r.app for r in app.routes if isinstance(r, Mount))
    # The page's first scripts load while the browser parses its config (app/ui/page_preload.py).
    app.add_middleware(PagePreload)
    # No origin is granted CORS; a parent app with this middleware also turns off Gradio's own (reflecting) CORS.
    app.add_middleware(CORSMiddleware, allow_origins=[])
    hosts = allowed_hosts(host, settings.allowed_hosts.split(","))
    app.add_middleware(Perimeter, hosts=hosts, auth=auth, port=port,
                       gradio_session=lambda cookies: _gradio_user(gradio_app, cookies) is not None)
    return app


def _gradio_user(gradio_app: Any, cookies: dict[str, str]) -> str | None:
    """The user Gradio's login form admitted, from its session cookie (how Gradio's own /user route reads it)."""
    token = cookies.get(f"access-token-{gradio_app.cookie_id}") or cookies.get(
        f"access-token-unsecure-{gradio_app.cookie_id}")
    return gradio_app.tokens.get(token) if token else None


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m app.server [--host H] [--port P] [--no-browser]`."""
    from app.config import load_settings

    ap = argparse.ArgumentParser(prog="python -m app.server", description="Serve the K2 Agent Hub UI.")
    ap.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="first port to try (default 7860)")
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    args = ap.parse_args(argv)
    from app.perimeter import AuthError

    try:
        serve(load_settings(), args.host, args.port, False if args.no_browser else None)
    except AuthError as err:
        sys.exit(f"K2 Agent Hub: {err}")


if __name__ == "__main__":
    main()
