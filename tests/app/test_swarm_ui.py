"""The swarm in the browser: the live tree in the chat, and stopping one sub-agent from the controls under the chat
while the others finish."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents.conftest import write_mcp_json
from tests.agents.swarm.conftest import trusted_toolbox
from tests.agents.swarm.script import SwarmScript, spawn_args
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server, ToolCall

pytestmark = [pytest.mark.slow, requires_chromium]


def test_the_swarm_tree_is_live_and_one_branch_can_be_stopped(fake_k2: FakeK2Server, tmp_path: Path,
                                                               artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"
    home.mkdir()
    write_mcp_json(home, {"toolbox": trusted_toolbox()})

    def calls(goal: str) -> list[ToolCall]:
        return [ToolCall("toolbox__nap", {"seconds": 120 if goal == "slow one" else 2})]

    fake_k2.responder = SwarmScript(spawn_args(["slow one", "quick a", "quick b"], 3), calls=calls,
                                    reasoning="Plan the next step.")
    with running_app(fake_k2.url, home, K2HUB_BUILTIN_SERVERS="workspace", K2HUB_MODEL_WORKER="true") as url:
        with chromium_page(url) as page:
            expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
            page.locator("#k2-prompt textarea").fill("Split the work")
            page.locator("#k2-send").click()
            chat = page.locator("#k2-chat")
            expect(chat.get_by_text("Swarm · 3 sub-agents").first).to_be_visible(timeout=60_000)
            controls = page.locator("#k2-swarm-controls")
            expect(controls).to_be_visible(timeout=30_000)
            expect(page.get_by_role("combobox", name="Running sub-agents")).to_have_value("1. slow one",
                                                                                          timeout=10_000)
            page.screenshot(path=str(artifacts_dir / "ui_swarm_running.png"))
            page.locator("#k2-swarm-stop-one").click()
            expect(chat.get_by_text("Swarm finished.")).to_be_visible(timeout=90_000)
            expect(chat.get_by_text("1 stopped", exact=False).first).to_be_visible(timeout=10_000)
            expect(chat.get_by_text("2 done", exact=False).first).to_be_visible()
            expect(controls).to_be_hidden(timeout=10_000)
            chat.get_by_text("Swarm · 3 sub-agents").first.click()  # collapsible: open it, one line per sub-agent
            expect(chat.get_by_text("1. slow one — stopped").first).to_be_visible(timeout=10_000)
            expect(chat.get_by_text("2. quick a — done").first).to_be_visible()
            page.screenshot(path=str(artifacts_dir / "ui_swarm_done.png"))
