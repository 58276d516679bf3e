"""The COBOL tab in headless Chromium: analyze CardDemo from a folder and see the programs and a record layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app.ui_support import chromium_page, requires_chromium
from tests.mcp_servers.cobol_support import CARDDEMO, requires_data

pytestmark = [
    pytest.mark.slow,
    requires_data,
    requires_chromium,
]


def test_cobol_tab_shows_the_analysis_map(app_url: str, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    with chromium_page(app_url, height=1000) as page:
        page.get_by_role("tab", name="COBOL").click(timeout=60_000)
        page.locator("#k2-cobol-folder textarea, #k2-cobol-folder input").first.fill(str(CARDDEMO))
        page.locator("#k2-cobol-analyze").click()
        expect(page.locator("#k2-cobol-summary")).to_contain_text("31 programs", timeout=60_000)
        expect(page.locator("#k2-cobol-programs")).to_contain_text("CBTRN02C")
        expect(page.locator("#k2-cobol-detail textarea")).to_have_value(re.compile("FD-ACCT-ID"), timeout=20_000)
        page.screenshot(path=str(artifacts_dir / "cobol_tab.png"), full_page=True)
        page.locator("#k2-cobol-detail").screenshot(path=str(artifacts_dir / "cobol_map.png"))
