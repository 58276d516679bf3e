"""The Runs tab's totals charts and replaying a run on another model, in headless Chromium (the real app on the fake
K2 server, which sees the model name of each request)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, Turn

pytestmark = [pytest.mark.slow, requires_chromium]

OTHER = "kimi-k2-0905-preview"


def test_totals_chart_and_replay_on_another_model(fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(Turn(content="Hello first."), Turn(content="Four, says the thinking model."),
                    Turn(content="Four, says the other model."))
    with chromium_page(app_url, height=1000) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        for prompt, answer in (("Hello", "Hello first."), ("What is 2+2?", "Four, says the thinking model.")):
            page.locator("#k2-prompt textarea").fill(prompt)
            page.locator("#k2-send").click()
            expect(chat.get_by_text(answer)).to_be_visible(timeout=60_000)
            expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        original = page.url

        page.get_by_role("tab", name="Runs").click()
        table = page.locator("#k2-runs-table")
        expect(table).to_contain_text("kimi-k2-thinking", timeout=20_000)
        page.locator("#k2-runs-totals").get_by_text("Totals").first.click()
        by_provider = page.locator("#k2-chart-provider")
        expect(by_provider).to_contain_text("openai-compatible")
        expect(by_provider).to_contain_text("2 runs")
        expect(page.locator("#k2-chart-day")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d"))
        assert by_provider.locator("rect.bar").count() == 1
        page.locator("#k2-runs-chart").screenshot(path=str(artifacts_dir / "ui_runs_chart.png"))

        # The newest run ("What is 2+2?") comes first; both runs are in the chat titled "Hello".
        table.get_by_text("Hello", exact=True).filter(visible=True).first.click()
        expect(page.locator("#k2-runs-run-id textarea, #k2-runs-run-id input")).not_to_have_value("", timeout=20_000)
        page.locator("#k2-replay-provider input").click()
        page.get_by_role("option", name="OpenAI-compatible URL", exact=True).click()
        model_box = page.locator("#k2-replay-model input")
        # The provider's answer opens the box (closed on Auto) with its model list: typed before it, a name was lost.
        expect(model_box).to_be_enabled(timeout=30_000)
        model_box.fill(OTHER)
        model_box.press("Enter")
        page.locator("#k2-replay").click()
        result = page.locator("#k2-replay-result")
        expect(result).to_contain_text("✓ Replayed in a new conversation", timeout=60_000)
        expect(result).to_contain_text("Four, says the other model.")
        page.screenshot(path=str(artifacts_dir / "ui_runs_replay.png"), full_page=True)

        replayed = fake_k2.requests[-1]
        assert replayed["model"] == OTHER
        sent = replayed["messages"]
        assert sent[-1]["content"] == "What is 2+2?"
        assert "Hello first." in str(sent) and "thinking model" not in str(sent)  # the history before the run only

        page.locator("#k2-replay-link").click()
        expect(chat.get_by_text("Four, says the other model.")).to_be_visible(timeout=60_000)
        expect(chat.get_by_text("Four, says the thinking model.")).to_have_count(0)
        page.goto(original)  # the original conversation is untouched
        expect(chat.get_by_text("Four, says the thinking model.")).to_be_visible(timeout=60_000)
        expect(chat.get_by_text("Four, says the other model.")).to_have_count(0)
