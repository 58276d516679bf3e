"""The COBOL refactoring session in headless Chromium against the real app and the scripted fake K2 server: open a
project, start a session, draft the plan, edit and save it, generate & verify; the status table shows 'equal' and the
generation run received the edited plan."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.test_cobol_session import EDIT, PLAN, course_project, generation_turns
from tests.app.ui_support import chromium_page, requires_chromium, running_app
from tests.fakes.k2_server import FakeK2Server, Turn
from tests.mcp_servers.cobol_support import requires_cobc, requires_data, requires_go
from tests.mcp_servers.sandbox_support import GO_CACHE, requires_sandbox

pytestmark = [
    pytest.mark.slow,
    requires_data,
    requires_sandbox,
    requires_cobc,
    requires_go,
    requires_chromium,
]


@pytest.fixture
def session_app(fake_k2: FakeK2Server, tmp_path: Path) -> Iterator[str]:
    """The app on the fake K2 server, with the warmed Go build cache of the sandbox tests."""
    with running_app(fake_k2.url, tmp_path / "home", K2HUB_GO_CACHE=str(GO_CACHE)) as url:
        yield url


def test_session_plan_edit_generate_shows_equal(
    session_app: str,
    fake_k2: FakeK2Server,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    from playwright.sync_api import expect

    project = course_project(tmp_path / "omp")
    fake_k2.enqueue(Turn(reasoning="One program, one module.", content=PLAN), *generation_turns())
    with chromium_page(session_app, height=1000) as page:
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
    prompts = [r["messages"][-1]["content"] for r in fake_k2.requests if r["messages"][-1]["role"] == "user"]
    generation = [p for p in prompts if "<plan>" in p]
    assert generation and EDIT in generation[0], "the generation run did not receive the edited plan"
