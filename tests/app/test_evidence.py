"""The page viewer: a ledger number opens its real page, rendered, with the quote highlighted where pdfium finds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.ui import evidence
from mcp_servers.analysis import kpi
from storage import documents, ledger
from tests.mcp_servers.kpi_support import Library, ingest_reports

QUOTE = "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)"  # 3M_2018_10K p.60


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return ingest_reports(tmp_path_factory, ("3M_2018_10K",))


def _row(library: Library) -> int:
    conv = library.conversation()
    doc = library.ids["3M_2018_10K"]
    claim = kpi.Claim("3M", "FY2018", "capex", "(1,577)", "millions", "USD", doc, 60, QUOTE)
    kpi.record(library.db, conv, None, claim, lambda d, n: documents.page_text(library.db, d, n))
    return ledger.rows(library.db, conv)[0].id or 0


async def test_number_opens_its_page_with_the_quote_highlighted(
    library: Library, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
) -> None:
    monkeypatch.setenv("K2HUB_HOME", str(library.home))  # where the ingest kept the original PDF
    row_id = _row(library)
    app = FastAPI()
    evidence.mount(app, lambda: library.db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        page = await client.get(f"/k2hub/evidence/{row_id}")
        missing = await client.get("/k2hub/evidence/999999")
    assert page.status_code == 200 and missing.status_code == 404
    assert "3M · FY2018 · capex = 1577 USD millions" in page.text and "page 60 of 160" in page.text
    assert "data:image/png;base64," in page.text and page.text.count("class='hl'") >= 1
    doc = documents.get_document(library.db, library.ids["3M_2018_10K"])
    from mcp_servers.pdf_reader.ingest import stored_pdf

    boxes = evidence.highlight_boxes(str(stored_pdf(doc)), 60, QUOTE, "1577")
    # pdfium finds the row label and (1,577) on the left half of the US-letter page, in its upper half.
    assert boxes and all(0 <= left < right <= 612 and 0 <= top < bottom <= 792 for left, top, right, bottom in boxes)
    (artifacts_dir / "evidence.html").write_text(page.text, encoding="utf-8")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if Path(chromium).exists():
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            view = await browser.new_page(viewport={"width": 1100, "height": 900})
            await view.set_content(page.text)
            await view.locator(".hl").first.wait_for()
            await view.screenshot(path=str(artifacts_dir / "evidence.png"), full_page=False)
            await browser.close()
