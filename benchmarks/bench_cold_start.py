"""First paint of the app against a bare Gradio Blocks app with one Chatbot, both served and loaded in this run.

Each app runs as its own server process on 127.0.0.1 (the app on the fake K2 server, the lean built-in servers);
headless Chromium opens each page in a fresh browser context (nothing cached), alternating A/B, and records
  first_paint   the browser's first-contentful-paint of the page
  chat_visible  navigation start → the chat area is on screen (the app's #k2-chat, the bare app's Chatbot)
A warm-up load of each comes first (the app starts its agent on the first page load; that is not a paint). Then
`--loads` rounds, each loading both pages, in alternating order (app first, then bare first: neither always runs
right after the other's server work), with a pause after each load so the next starts on a quiet server. The
machine's load average is read before each round: timings on shared cores move with it.

Target (issue 19): app / bare ≤ 1.2. Prints `name: ratio` lines with the medians in ms and the load average at which
they were measured, then what each page carries: the size of the config Gradio writes into the page (the browser
parses it before its first paint), and the numbers of components, events and events run on page load in it.

Run: python benchmarks/bench_cold_start.py [--loads 15]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app.ui_support import CHROMIUM_ARGS, running_app
from tests.agents.conftest import LEAN_SERVERS
from tests.fakes.k2_server import FakeK2Server
from tests.helpers import chromium, free_port, stop

BARE = """
import gradio as gr
with gr.Blocks() as demo:
    gr.Chatbot(elem_id="bare-chat")
demo.launch(server_name="127.0.0.1", server_port={port})
"""
CONFIG = re.compile(r"window\.gradio_config = (.*?);?\s*</script>", re.S)
PAINT = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: NaN}).startTime"


def start_bare() -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", BARE.format(port=port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if re.search(r"Running on local URL", line):
            return proc, f"http://127.0.0.1:{port}/"
    stop(proc)
    raise RuntimeError("the bare Gradio app did not start")


def page_config(url: str) -> str:
    """The size of the page at url and of its embedded config; the numbers of components, events and load events."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a server this script started on loopback
        page = response.read().decode()
    found = CONFIG.search(page)
    if found is None:
        return "no embedded config found"
    config = json.loads(found.group(1))
    loads = sum(any(trigger == "load" for _, trigger in dep["targets"]) for dep in config["dependencies"])
    return (f"page {len(page) / 1024:.0f} KB, config {len(found.group(1)) / 1024:.0f} KB, "
            f"{len(config['components'])} components, {len(config['dependencies'])} events, {loads} on load")


def load(browser: Any, url: str, selector: str) -> tuple[float, float]:
    """(first paint, chat visible) in ms for one load in a fresh context."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(selector, state="visible", timeout=60_000)
        visible = page.evaluate("() => performance.now()")
        page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0",
                               timeout=30_000)
        return float(page.evaluate(PAINT)), float(visible)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15, help="rounds (each loads both pages)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds after each load")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    bare_proc, bare_url = start_bare()
    try:
        with FakeK2Server() as fake, tempfile.TemporaryDirectory() as tmp, \
                running_app(fake.url, Path(tmp) / "home", K2HUB_BUILTIN_SERVERS=",".join(LEAN_SERVERS)) as app_url, \
                sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            try:
                targets = {"app": (app_url, "#k2-chat"), "bare": (bare_url, "#bare-chat")}
                for url, selector in targets.values():
                    load(browser, url, selector)  # warm-up: the app opens its agent on the first load
                carried = {name: page_config(url) for name, (url, _) in targets.items()}
                found: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
                loadavg: list[float] = []
                for i in range(args.loads):
                    loadavg.append(os.getloadavg()[0])
                    for name in (("app", "bare") if i % 2 == 0 else ("bare", "app")):
                        url, selector = targets[name]
                        found[name].append(load(browser, url, selector))
                        time.sleep(args.pause)
            finally:
                browser.close()
    finally:
        stop(bare_proc)
    load_text = (f"load average {statistics.median(loadavg):.1f} (min {min(loadavg):.1f}, max {max(loadavg):.1f}) "
                 f"on {os.cpu_count()} cores")
    for i, what in enumerate(("first_paint", "chat_visible")):
        app = statistics.median(v[i] for v in found["app"])
        bare = statistics.median(v[i] for v in found["bare"])
        # The ratio of each round's pair, too: both pages of a round ran at about the same load.
        pairs = statistics.median(a[i] / b[i] for a, b in zip(found["app"], found["bare"], strict=True))
        print(f"cold_start_{what}: {app / bare:.2f}  (app {app:.0f} ms, bare Gradio Blocks + Chatbot {bare:.0f} ms, "
              f"median of {args.loads}; median of per-round ratios {pairs:.2f}; {load_text})")
    for name, what in carried.items():
        print(f"page_{name}: {what}")


if __name__ == "__main__":
    main()
