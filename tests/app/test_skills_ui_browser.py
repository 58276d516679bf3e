"""The Skills tab end to end: the real app, the fake K2 server, headless Chromium.

Search and open a built-in skill, edit and save it as a new version, diff the two versions; then run a chat whose
model loads a skill (the status line names it) and save that conversation as a new skill drafted by the model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import semver

from skills import skillmd
from skills.registry import BUILTIN_DIR
from tests.app.ui_support import chromium_page, requires_chromium
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn

pytestmark = [
    pytest.mark.slow,
    requires_chromium,
]

COBOL_VERSION = skillmd.parse((BUILTIN_DIR / "cobol-to-go-migration" / "SKILL.md").read_bytes()).version or ""
BUILTINS = [d for d in BUILTIN_DIR.iterdir() if (d / "SKILL.md").is_file()]
SECURE_VERSION = skillmd.parse((BUILTIN_DIR / "secure-code-review" / "SKILL.md").read_bytes()).version or ""
DRAFT = """---
name: code-review-quickstart
description: Review a small Python file for injection and unsafe calls. Use when asked for a quick security check.
license: Apache-2.0
metadata:
  version: "1.0.0"
---
# Quick security check

## Steps
1. Load `secure-code-review` with `skills_hub__load_skill` and follow its procedure.
"""


def test_search_open_edit_save_diff_and_save_conversation_as_skill(
    fake_k2: FakeK2Server,
    app_url: str,
    artifacts_dir: Path,
) -> None:
    from playwright.sync_api import expect

    with chromium_page(app_url) as page:
        expect(page.get_by_text("Ask Kimi K2 anything")).to_be_visible(timeout=60_000)
        page.get_by_role("tab", name="Skills").click()
        listing = page.locator("#k2-skill-list label")
        expect(listing.filter(has_text="web-research")).to_be_visible(timeout=30_000)
        expect(listing).to_have_count(len(BUILTINS))  # every built-in skill is listed

        # Search narrows the list; open the hit and read it rendered.
        page.locator("#k2-skill-search textarea").press_sequentially("cobol", delay=30)
        expect(listing).to_have_count(1, timeout=10_000)
        listing.filter(has_text="cobol-to-go-migration").click()
        header = page.locator("#k2-skill-header")
        expect(header).to_contain_text("cobol-to-go-migration")
        expect(header).to_contain_text(COBOL_VERSION)
        expect(page.locator("#k2-skill-body h1")).to_have_text(
            "COBOL → Go migration with differential verification"
        )
        page.screenshot(path=str(artifacts_dir / "ui_skills_read.png"))

        # Edit and save: a new version, shown as the latest, with the edit rendered.
        page.get_by_role("tab", name="Edit").click()
        editor = page.locator("#k2-skill-editor textarea")
        expect(editor).to_have_value(re.compile(r"^---\nname: cobol-to-go-migration"))
        editor.fill(editor.input_value() + "\n## Team note\n\nAlways keep the golden files in git.\n")
        page.locator("#k2-skill-save").click()
        saved = str(semver.Version.parse(COBOL_VERSION).bump_patch())
        expect(page.locator("#k2-skill-status")).to_contain_text(
            f"Saved cobol-to-go-migration {saved}.", timeout=15_000
        )
        expect(header).to_contain_text(saved)
        expect(page.locator("#k2-skill-body")).to_contain_text("Always keep the golden files in git.")

        # Versions: both listed; the diff shows the added lines.
        page.get_by_role("tab", name="Versions").click()
        page.locator("#k2-skill-diff").click()
        diff = page.locator("#k2-skill-diff-out")
        expect(diff).to_contain_text("+## Team note", timeout=10_000)
        expect(diff).to_contain_text(f"cobol-to-go-migration@{COBOL_VERSION}/SKILL.md")
        page.screenshot(path=str(artifacts_dir / "ui_skills_diff.png"))

        # A chat whose model loads a skill: the finished run names the skill version it used.
        fake_k2.enqueue(
            Turn(
                reasoning="A security review: load the skill.",
                tool_calls=[ToolCall("skills_hub__load_skill", {"name": "secure-code-review"})],
            ),
            Turn(reasoning="Done.", content="No findings in this tiny file."),
        )
        page.get_by_role("tab", name="Chat").click()
        page.locator("#k2-prompt textarea").fill("Do a security review of my Python code")
        page.locator("#k2-send").click()
        expect(page.locator("#k2-chat").get_by_text("No findings in this tiny file.")).to_be_visible(timeout=60_000)
        expect(page.locator("#k2-status")).to_contain_text(
            f"skills: secure-code-review@{SECURE_VERSION}", timeout=20_000
        )

        # Save this conversation as a skill: the model's draft lands in the editor; Save stores it.
        fake_k2.enqueue(Turn(content=f"```markdown\n{DRAFT}```"))
        page.get_by_role("tab", name="Skills").click()
        page.locator("#k2-skill-draft").click()
        expect(editor).to_have_value(re.compile(r"^---\nname: code-review-quickstart"), timeout=30_000)
        expect(page.locator("#k2-skill-status")).to_contain_text("Draft ready")
        transcript = fake_k2.requests[-1]["messages"][1]["content"]
        assert "USER: Do a security review of my Python code" in transcript
        assert "TOOL CALL skills_hub__load_skill" in transcript
        page.screenshot(path=str(artifacts_dir / "ui_skills_draft.png"))
        page.locator("#k2-skill-save").click()
        expect(page.locator("#k2-skill-status")).to_contain_text(
            "Saved code-review-quickstart 1.0.0.", timeout=15_000
        )
        expect(header).to_contain_text("code-review-quickstart")
