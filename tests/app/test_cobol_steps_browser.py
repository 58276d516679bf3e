"""The COBOL tab's steps as a user meets them (the real app on the fake K2 server, headless Chromium): no step can be
pressed before a session exists, the next runnable step is the highlighted one, and a project far beyond the model's
window is refused before any model call, in words that say what works."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server

pytestmark = [pytest.mark.slow, requires_chromium]

SMALL_WINDOW = "8192"  # the local model's window, given to the fake K2 model (K2HUB_CONTEXT_WINDOW)


def big_project(dest: Path, programs: int = 40, paragraphs: int = 60) -> Path:
    """A COBOL project whose analysis map alone is far beyond an 8K window (~57K tokens of source)."""
    dest.mkdir(parents=True)
    for i in range(programs):
        body = "\n".join(
            f"       PARA-{j:03d}.\n           DISPLAY 'STEP {j} OF {i}'.\n           PERFORM PARA-{j + 1:03d}."
            for j in range(paragraphs)
        )
        (dest / f"PROG{i:03d}.cbl").write_text(
            f"       IDENTIFICATION DIVISION.\n       PROGRAM-ID. PROG{i:03d}.\n       PROCEDURE DIVISION.\n"
            f"       MAIN-PARA.\n           PERFORM PARA-000.\n           STOP RUN.\n{body}\n"
            f"       PARA-{paragraphs:03d}.\n           DISPLAY 'END'.\n"
        )
    return dest


def _variant(page: object, selector: str) -> str:
    return page.locator(selector).get_attribute("class") or ""  # type: ignore[attr-defined]


def test_steps_follow_the_session_and_a_plan_too_big_is_refused_in_words(
    fake_k2: FakeK2Server, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    project = big_project(tmp_path / "big")
    env = {"K2HUB_CONTEXT_WINDOW": SMALL_WINDOW, "K2HUB_BUILTIN_SERVERS": "workspace,cobol"}
    with running_app(fake_k2.url, tmp_path / "home", **env) as url, chromium_page(url, height=1000) as page:
        page.get_by_role("tab", name="COBOL").click(timeout=60_000)
        draft, save, generate = page.locator("#k2-cobol-draft"), page.locator("#k2-cobol-save"), page.locator(
            "#k2-cobol-generate"
        )
        # No session: no step can be pressed, none is the main action, and no error badge appears.
        for button in (page.locator("#k2-cobol-start"), draft, save, generate, page.locator("#k2-cobol-stop")):
            expect(button).to_be_disabled()
        assert "primary" not in _variant(page, "#k2-cobol-generate")
        assert "primary" in _variant(page, "#k2-cobol-analyze")
        page.screenshot(path=str(artifacts_dir / "cobol_steps_empty.png"))

        page.locator("#k2-cobol-folder textarea, #k2-cobol-folder input").first.fill(str(project))
        page.locator("#k2-cobol-analyze").click()
        expect(page.locator("#k2-cobol-summary")).to_contain_text("40 programs", timeout=60_000)
        expect(page.locator("#k2-cobol-start")).to_be_enabled()
        page.locator("#k2-cobol-start").click()
        expect(page.locator("#k2-cobol-session-status")).to_contain_text("stage analyzed", timeout=60_000)
        expect(draft).to_be_enabled()
        expect(generate).to_be_disabled()  # no plan yet
        assert "primary" in _variant(page, "#k2-cobol-draft")
        assert "primary" not in _variant(page, "#k2-cobol-generate")

        requests_before = len(fake_k2.requests)
        draft.click()
        progress = page.locator("#k2-cobol-progress")
        expect(progress).to_contain_text("cannot run on kimi-k2-thinking", timeout=60_000)
        expect(progress).to_contain_text("8,192-token window")
        expect(progress).to_contain_text("fewer programs")
        expect(progress).to_contain_text("kimi-k2")  # a model that holds it is named
        text = progress.inner_text()
        assert "litellm" not in text and "BadRequestError" not in text
        assert len(fake_k2.requests) == requests_before, "a model call went out although the plan cannot fit"
        assert page.locator(".toast-body.error").count() == 0
        expect(draft).to_be_enabled()  # refused, nothing runs: the step can be pressed again (with another model)
        progress.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "cobol_steps_too_big.png"))
