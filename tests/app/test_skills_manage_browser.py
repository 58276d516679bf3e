"""The Skills tab's defects, driven as a user (the real app, headless Chromium): any file of a skill opens, the Bundle
box follows the skill shown, an install is listed even under an old filter, a third-party skill uninstalls after a
confirmation while a built-in one cannot, and the .zip drop area is not clipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.skills.conftest import write_skill

pytestmark = [pytest.mark.slow, requires_chromium]


def test_files_bundle_filter_uninstall_and_drop_area(app_url: str, tmp_path: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    folder = write_skill(tmp_path, "team-notes", {"notes/howto.md": "# How we do it\n\nStep one."})
    with chromium_page(app_url, height=1000) as page:
        page.get_by_role("tab", name="Skills").click(timeout=60_000)
        listing = page.locator("#k2-skill-list label")
        expect(listing.filter(has_text="web-research")).to_be_visible(timeout=60_000)
        total = listing.count()
        status, body = page.locator("#k2-skill-status"), page.locator("#k2-skill-body")

        # reference.md of the COBOL skill opens from the file picker; a built-in skill cannot be uninstalled.
        page.locator("#k2-skill-search textarea").press_sequentially("cobol", delay=30)
        expect(listing).to_have_count(1, timeout=10_000)
        listing.filter(has_text="cobol-to-go-migration").click()
        page.locator("#k2-skill-file input").click()
        page.get_by_role("option", name="reference.md", exact=True).click()
        expect(body.locator("h1")).to_have_text("COBOL data → Go", timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "skills_reference_md.png"))
        page.get_by_role("tab", name="Versions").click()
        expect(page.locator("#k2-skill-uninstall")).to_be_disabled()
        expect(page.locator("#k2-skill-uninstall")).to_contain_text("Built in")

        # The exported bundle belongs to the skill shown: picking another skill clears the Bundle box.
        page.locator("#k2-skill-export").click()
        expect(page.locator("#k2-skill-export-file")).to_contain_text(".zip", timeout=20_000)
        page.locator("#k2-skill-search textarea").fill("")
        expect(listing).to_have_count(total, timeout=10_000)
        listing.filter(has_text="web-research").click()
        expect(page.locator("#k2-skill-header")).to_contain_text("web-research", timeout=10_000)
        expect(page.locator("#k2-skill-export-file")).not_to_contain_text(".zip")

        # Installed under an old filter: the list shows every skill again, the new one included and selected.
        page.locator("#k2-skill-search textarea").press_sequentially("cobol", delay=30)
        expect(listing).to_have_count(1, timeout=10_000)
        page.locator("#k2-skill-install-box").get_by_text("Install or import").click()
        upload = page.locator("#k2-skill-upload")
        expect(upload).to_be_visible()
        drop, label = upload.bounding_box(), upload.locator("label").first.bounding_box()
        prompt = upload.get_by_text("Click to Upload").bounding_box()  # the drop text: icon, two lines
        assert drop and label and prompt
        assert prompt["y"] + prompt["height"] <= drop["y"] + drop["height"], "the drop text is cut off at the bottom"
        assert prompt["y"] >= label["y"] + label["height"], "the drop text starts under the box's label"
        page.locator("#k2-skill-install-box").screenshot(path=str(artifacts_dir / "skills_drop_area.png"))
        page.locator("#k2-skill-folder textarea").fill(str(folder))
        page.locator("#k2-skill-install").click()
        expect(status).to_contain_text("Installed team-notes 1.0.0", timeout=20_000)
        expect(page.locator("#k2-skill-search textarea")).to_have_value("")
        expect(listing).to_have_count(total + 1)
        page.get_by_role("tab", name="Read").click()
        page.locator("#k2-skill-file input").click()
        page.get_by_role("option", name="notes/howto.md", exact=True).click()
        expect(body.locator("h1")).to_have_text("How we do it", timeout=10_000)

        # Uninstall asks first; Cancel keeps it; Yes removes it from the list.
        page.get_by_role("tab", name="Versions").click()
        page.locator("#k2-skill-uninstall").click()
        expect(page.locator("#k2-skill-confirm-text")).to_contain_text("Uninstall team-notes")
        page.locator("#k2-skill-cancel").click()
        expect(page.locator("#k2-skill-confirm")).to_be_hidden()
        expect(listing.filter(has_text="team-notes")).to_have_count(1)
        page.locator("#k2-skill-uninstall").click()
        page.screenshot(path=str(artifacts_dir / "skills_uninstall_confirm.png"))
        page.locator("#k2-skill-confirm").click()
        expect(status).to_contain_text("Uninstalled team-notes", timeout=20_000)
        expect(listing.filter(has_text="team-notes")).to_have_count(0)
        expect(listing).to_have_count(total)
