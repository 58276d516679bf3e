"""A running tool card's clock and the run's current step, in headless Chromium (the real app on the fake K2 server,
the test toolbox's `nap` as a slow tool)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.agents.conftest import toolbox_server, write_mcp_json
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

pytestmark = [pytest.mark.slow, requires_chromium]


def _seconds(text: str) -> int:
    m = re.fullmatch(r"(?:(\d+) min )?(\d+) s", text.strip())
    assert m, text
    return int(m.group(1) or 0) * 60 + int(m.group(2))


def test_a_running_tool_card_ticks_and_the_status_names_the_step(
    fake_k2: FakeK2Server, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"
    home.mkdir()
    write_mcp_json(home, {"toolbox": {**toolbox_server(), "trusted": True}})
    fake_k2.enqueue(
        Turn(reasoning="Quick one first.", tool_calls=[ToolCall("toolbox__ping", {})]),
        Turn(reasoning="Now the slow one.", tool_calls=[ToolCall("toolbox__nap", {"seconds": 8})]),
        Turn(content="Rested."),
    )
    with running_app(fake_k2.url, home, K2HUB_BUILTIN_SERVERS="workspace") as url, chromium_page(url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.locator("#k2-prompt textarea").fill("Take a nap")
        page.locator("#k2-send").click()
        clock = chat.locator(".thought-group .title", has_text="toolbox__nap").locator(".k2-tool-clock")
        expect(clock).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-status")).to_contain_text("step 2 · running toolbox__nap…")
        first = _seconds(clock.inner_text())
        page.wait_for_timeout(2_500)
        later = _seconds(clock.inner_text())
        assert later >= first + 2, (first, later)
        page.screenshot(path=str(artifacts_dir / "ui_tool_clock.png"))
        # The quick call is done: no clock on its card.
        quick = chat.locator(".thought-group .title", has_text="toolbox__ping")
        expect(quick.locator(".k2-tool-clock")).to_have_count(0)
        expect(chat.get_by_text("Rested.")).to_be_visible(timeout=60_000)
        expect(chat.locator(".k2-tool-clock")).to_have_count(0, timeout=5_000)
