"""Text extraction: normalisation, glued-word detection and fallback on real FinanceBench pages, bookmarks, headings."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from mcp_servers.pdf_reader.extract import detect_heading, extract, glued_tokens, is_glued, normalise
from mcp_servers.common.tokens import count_tokens
from tests.mcp_servers.pdf_support import excerpt, financebench_pdf, have_financebench, text_pdf
from tests.helpers import requires

CORNING_82 = "Incometaxes(Note7)127196\nDerivativeinstruments(Note14)174144\nOtherliabilitiesconsistedofthefollowing"


def test_normalise_spaces_and_control_characters() -> None:
    raw = "Year\xa0ended\xa0December\xa031,\r\n\r\n\r\n\r\n  Net\u2009sales   $ 11,303\x00\r\ninternationally\x02focused\u200b"
    assert normalise(raw) == "Year ended December 31,\n\nNet sales $ 11,303\ninternationally-focused"
    assert count_tokens(normalise(raw)) < count_tokens(raw)


def test_glued_detection() -> None:
    assert glued_tokens(CORNING_82) == 3 and is_glued(CORNING_82)
    prose = "PricewaterhouseCoopers audited the other-than-temporary impairment at https://example.com/a/b"
    assert glued_tokens(prose) == 0 and not is_glued(prose)


def test_headings() -> None:
    assert detect_heading("Table of Contents\n12\nItem 7. Management Discussion and Analysis\ntext") == (
        "Item 7. Management Discussion and Analysis"
    )
    assert detect_heading("Index\nConsolidated Statements of Income\n2022 2021") == "Consolidated Statements of Income"
    assert detect_heading("we sell glass to many customers in many places\n1,234 5,678") is None


def test_bookmarks_become_the_outline(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf(["Cover", "Risk factors", "Income statement"])))
    parent = writer.add_outline_item(title="Part I", page_number=0)
    writer.add_outline_item(title="Item 1A. Risk Factors", page_number=1, parent=parent)
    writer.add_outline_item(title="Financial statements", page_number=2)
    path = tmp_path / "marked.pdf"
    with open(path, "wb") as f:
        writer.write(f)
    tail = list(extract(path))[-1]
    assert tail["outline"] == [
        {"title": "Part I", "page": 1, "level": 1},
        {"title": "Item 1A. Risk Factors", "page": 2, "level": 2},
        {"title": "Financial statements", "page": 3, "level": 1},
    ]


@requires(have_financebench("CORNING_2022_10K"), "FinanceBench PDFs not in ../shared/data")
def test_corning_glued_page_is_extracted_again_with_pypdf(tmp_path: Path) -> None:
    path = tmp_path / "corning-81-83.pdf"
    path.write_bytes(excerpt(financebench_pdf("CORNING_2022_10K"), 81, 83))
    pages = [m for m in extract(path) if "n" in m]
    assert [p["x"] for p in pages] == ["pdfium", "pypdf", "pdfium"]
    glued_page = pages[1]["text"]
    assert "Income taxes (Note 7) 127 196" in glued_page and "Deferred revenue (Note 4) 144 148" in glued_page
    assert not is_glued(glued_page)
    assert pages[1]["h"] == "10. Other Assets and Other Liabilities (Continued)"


@requires(have_financebench("CORNING_2020_10K"), "FinanceBench PDFs not in ../shared/data")
def test_corning_statement_keeps_words_apart(tmp_path: Path) -> None:
    """pypdf's text of this page reads 'YearendedDecember31' once NBSPs are dropped; ours keeps the words."""
    path = tmp_path / "corning-2020-p70.pdf"
    path.write_bytes(excerpt(financebench_pdf("CORNING_2020_10K"), 70, 70))
    page = next(m for m in extract(path) if "n" in m)
    assert "Year ended December 31," in page["text"]
    assert "Net income attributable to Corning Incorporated" in page["text"]
    assert "\xa0" not in page["text"] and not is_glued(page["text"])
