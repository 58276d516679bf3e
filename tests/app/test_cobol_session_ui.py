"""The COBOL refactoring session in headless Chromium against the real app and the scripted fake K2 server: open a
project, start a session, draft the plan, edit and save it, generate & verify; the status table shows 'equal' and the
generation run received the edited plan."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.test_cobol_session import EDIT, PLAN, course_project, generation_turns
from tests.app.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, fake_k2  # noqa: F401 - fixture by name
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.helpers import free_port, stop
from tests.mcp_servers.cobol_support import requires_cobc, requires_data, requires_go
from tests.mcp_servers.sandbox_support import GO_CACHE, requires_sandbox

pytestmark = [
    pytest.mark.slow,
    requires_data,
    requires_sandbox,
    requires_cobc,
    requires_go,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


@pytest.fixture
def session_app(fake_k2: FakeK2Server, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    """The app on the fake K2 server, with the warmed Go build cache of the sandbox tests."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("K2HUB_") and k not in ("GROQ_API_KEY", "MOONSHOT_API_KEY", "DATABASE_URL")}  # fmt: skip
    env.update(
        K2HUB_HOME=str(tmp_path / "home"),
        K2HUB_PROVIDER="openai-compatible",
        K2HUB_BASE_URL=fake_k2.url,
        K2HUB_MODEL="kimi-k2-thinking",
        K2HUB_GO_CACHE=str(GO_CACHE),
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--port", str(free_port()), "--no-browser"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline, url = time.monotonic() + 90, None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if m := re.search(r"running at (http://\S+)", line):
                url = m.group(1)
        assert url, "the app did not start:\n" + "".join(lines)
        yield url
    finally:
        stop(proc, timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]


def test_session_plan_edit_generate_shows_equal(
    session_app: str,
    fake_k2: FakeK2Server,  # noqa: F811
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    project = course_project(tmp_path / "omp")
    fake_k2.enqueue(Turn(reasoning="One program, one module.", content=PLAN), *generation_turns())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(session_app)
            page.get_by_role("tab", name="COBOL").click(timeout=60_000)
            page.locator("#k2-cobol-folder textarea, #k2-cobol-folder input").first.fill(str(project))
            page.locator("#k2-cobol-analyze").click()
            expect(page.locator("#k2-cobol-summary")).to_contain_text("1 programs", timeout=60_000)

            page.locator("#k2-cobol-start").click()
            status = page.locator("#k2-cobol-session-status")
            expect(status).to_contain_text("stage analyzed", timeout=60_000)

            page.locator("#k2-cobol-draft").click()
            plan_box = page.locator("#k2-cobol-plan textarea")
            expect(plan_box).to_have_value(re.compile("## Paragraph → function mapping"), timeout=90_000)
            expect(status).to_contain_text("stage planned")

            edited = plan_box.input_value().replace("## File I/O", f"{EDIT}\n\n## File I/O")
            plan_box.fill(edited)
            page.locator("#k2-cobol-save").click()
            expect(status).to_contain_text("Plan saved", timeout=20_000)

            page.locator("#k2-cobol-generate").click()
            table = page.locator("#k2-cobol-status")
            expect(page.locator("#k2-cobol-report")).to_contain_text("1 of 1 programs equal", timeout=240_000)
            expect(table).to_contain_text("equal")
            expect(table).to_contain_text("passed")
            expect(status).to_contain_text("stage done")
            expect(page.locator("#k2-cobol-progress")).to_contain_text("cobol__verify")
            page.locator("#k2-cobol-status").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts_dir / "cobol_session.png"), full_page=True)
            status.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts_dir / "cobol_session_top.png"))
        finally:
            browser.close()
    prompts = [r["messages"][-1]["content"] for r in fake_k2.requests if r["messages"][-1]["role"] == "user"]
    generation = [p for p in prompts if "<plan>" in p]
    assert generation and EDIT in generation[0], "the generation run did not receive the edited plan"
