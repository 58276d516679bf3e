"""Runs tab, fork, regenerate, edit and resend, and the model restored on reopen, driven in headless Chromium
(the real app on the fake K2 server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

pytestmark = [pytest.mark.slow, requires_chromium]


def _pick(page: object, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()  # type: ignore[attr-defined]
    page.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]


def _send(page: object, text: str) -> None:
    page.locator("#k2-prompt textarea").fill(text)  # type: ignore[attr-defined]
    page.locator("#k2-send").click()  # type: ignore[attr-defined]


def test_runs_timeline_fork_regenerate_edit_and_model_restore(
    fake_k2: FakeK2Server, app_url: str, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    fake_k2.enqueue(
        Turn(reasoning="Write it.", tool_calls=[ToolCall("workspace__write_file", {"path": "a.txt", "content": "A"})]),
        Turn(content="First answer: wrote a.txt."),
    )
    with chromium_page(app_url) as page:
        chat = page.locator("#k2-chat")
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        _send(page, "write a file")
        expect(chat.get_by_text("First answer: wrote a.txt.")).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        first_url = page.url

        # Regenerate: a new branch answers the same prompt again; the original keeps its answer.
        fake_k2.enqueue(Turn(content="Second take on it."))
        chat.locator("button[aria-label='Retry']").last.click()
        expect(chat.get_by_text("Second take on it.")).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)
        expect(page.locator("#k2-conversations label", has_text="(regenerated)")).to_be_visible(timeout=20_000)
        assert fake_k2.requests[-1]["messages"][-1]["content"] == "write a file"
        assert "First answer" not in str(fake_k2.requests[-1]["messages"])  # the branch starts before that answer

        # Edit and resend: the edited prompt goes out in a new branch.
        fake_k2.enqueue(Turn(content="Answer to the edited prompt."))
        chat.locator("button[aria-label='Edit']").first.click()
        editor = chat.locator("textarea").first
        editor.fill("write two files")
        chat.get_by_role("button", name="Submit").click()
        expect(chat.get_by_text("Answer to the edited prompt.")).to_be_visible(timeout=60_000)
        assert fake_k2.requests[-1]["messages"][-1]["content"] == "write two files"
        expect(page.locator("#k2-send")).to_be_visible(timeout=30_000)

        # The model a conversation ran on comes back when it is reopened.
        model_box = page.locator("#k2-model input")
        model_box.fill("kimi-k2-0905-preview")  # any model id may be typed
        model_box.press("Enter")
        expect(page.locator("#k2-header-model")).to_contain_text("kimi-k2-0905-preview", timeout=10_000)
        page.goto(first_url)
        expect(chat.get_by_text("First answer: wrote a.txt.")).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-model input")).to_have_value("kimi-k2-thinking", timeout=20_000)
        expect(page.locator("#k2-header-model")).to_contain_text("kimi-k2-thinking")

        # Runs tab: every run listed; the first run's timeline; fork from step 2 (the tool call).
        page.get_by_role("tab", name="Runs").click()
        table = page.locator("#k2-runs-table")
        expect(table).to_contain_text("kimi-k2-thinking", timeout=20_000)
        expect(page.locator("#k2-runs-page")).to_contain_text("runs 1–3")
        table.get_by_text("write a file").last.click()  # the oldest run: write a file, with its tool call
        timeline = page.locator("#k2-runs-timeline")
        expect(timeline).to_contain_text("workspace__write_file", timeout=20_000)
        expect(timeline).to_contain_text("model call")
        page.screenshot(path=str(artifacts_dir / "ui_runs.png"), full_page=True)
        # The self-host calculator uses the recorded usage and a dated list price.
        page.get_by_text("Self-host vs API").click()
        page.locator("#k2-calc-run").click()
        expect(page.locator("#k2-calc-result")).to_contain_text("breaks even at", timeout=20_000)
        expect(page.locator("#k2-calc-result")).to_contain_text("Your last 1 active day")
        page.locator("#k2-fork-step input").fill("2")
        page.locator("#k2-fork").click()
        link = page.locator("#k2-fork-link")
        expect(link).to_be_visible(timeout=20_000)
        link.click()
        expect(page).to_have_url(re.compile(r"\?c=[0-9a-f]{32}"), timeout=20_000)
        expect(chat.get_by_text("workspace__write_file")).to_be_visible(timeout=60_000)
        expect(chat.get_by_text("First answer: wrote a.txt.")).to_have_count(0)
        expect(chat.get_by_text(re.compile("Forked from step 2"))).to_be_visible()
