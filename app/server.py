"""Serve the UI: bind 127.0.0.1 (by default), step to the next free port when taken, print the URL, open a browser
only where one can be shown."""

from __future__ import annotations

import argparse
import os
import socket
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import Settings

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
    """
    # Gradio phones home at import unless told not to; this must precede the import.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from agents.models.local import runtime
    from agents.models.local.installer import INSTALLER
    from app.ui import CSS_PATH, THEME, build_ui

    if install_local and settings.local:
        INSTALLER.start()  # never blocks: the UI shows its progress in the sidebar

    host = host or settings.host
    port = find_free_port(host, port or settings.port)
    browser = (settings.open_browser if open_browser is None else open_browser) and display_available()
    demo, backend = build_ui(settings)
    demo.queue(default_concurrency_limit=4)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            inbrowser=browser,
            prevent_thread_lock=True,
            quiet=True,
            show_error=False,
            footer_links=[],
            theme=THEME,
            css_paths=[CSS_PATH],
        )
        from app.ui import evidence  # clicking a number in a KPI table opens its page with the quote highlighted

        evidence.mount(demo.app, lambda: backend.opened.db if backend.opened else None)
        from app.ui import files  # workspace files, served one by one from the conversation's own folder

        files.mount(demo.app)
        shown = "127.0.0.1" if host == "0.0.0.0" else (f"[{host}]" if ":" in host else host)
        print(f"K2 Agent Hub running at http://{shown}:{port}  (Ctrl+C to quit)", flush=True)
        # Our own wait rather than demo.block_thread(): that one stops the server (and its event loop) on
        # Ctrl+C before we could close the agent inside that loop.
        signal.signal(signal.SIGTERM, _interrupt)
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    finally:
        INSTALLER.cancel()
        backend.close()
        runtime.stop_server()
        demo.close()


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m app.server [--host H] [--port P] [--no-browser]`."""
    from app.config import load_settings

    ap = argparse.ArgumentParser(prog="python -m app.server", description="Serve the K2 Agent Hub UI.")
    ap.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="first port to try (default 7860)")
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    args = ap.parse_args(argv)
    serve(load_settings(), args.host, args.port, False if args.no_browser else None)


if __name__ == "__main__":
    main()
