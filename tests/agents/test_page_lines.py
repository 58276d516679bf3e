"""What a small model is shown of a found page (agents/policy/page_lines) and the app's check of its answer's figures
against the pages it cites (agents/policy/page_check). Made-up pages: nothing here knows a company or a figure."""

from __future__ import annotations

from agents.policy import page_check, page_lines

PAGE = """Table of Contents
Widget Corp and Subsidiaries
Consolidated Statement of Cash Flows
(Millions) 2021 2020 2019
Net income $ 900 $ 800 $ 700
Depreciation and amortization 120 110 100
Purchases of machinery and tooling
(455) (400) (390)
Proceeds from sale of businesses 12 — 4
Dividends paid to shareholders (300) (280) (260)
"""
REASON = ("terms: purchases of machinery and tooling, 2021; cash flow statement; row: purchases of machinery and "
          "tooling; year columns")


def test_the_matched_row_is_shown_under_the_page_heading_with_each_figure_labelled_by_its_year():
    fit, lines = page_lines.key_lines(PAGE, "What did Widget spend on new equipment in 2021?",
                                      page_lines.reason_terms(REASON))
    assert fit > 0
    assert lines[:3] == ["Widget Corp and Subsidiaries", "Consolidated Statement of Cash Flows",
                         "(Millions) 2021 2020 2019"]
    # The label and its figures sat on two lines of the PDF text: joined, then labelled by column.
    assert "Purchases of machinery and tooling — 2021: (455)" in lines
    assert not any("Dividends" in line for line in lines)  # a line matching nothing of the question stays out


def test_a_row_whose_figures_do_not_match_the_columns_is_left_as_written():
    assert page_lines.by_year("Segment sales 1 2 3 4", "(Millions) 2021 2020") == "Segment sales 1 2 3 4"
    assert page_lines.by_year("Net income $ 3,033 $ 10,073", "2017 2018") == "Net income — 2017: $3,033; 2018: $10,073"


def test_the_search_reason_gives_its_terms_and_row():
    assert page_lines.reason_terms(REASON) == ["purchases of machinery and tooling", "2021",
                                               "purchases of machinery and tooling"]
    assert page_lines.reason_row(REASON) == "purchases of machinery and tooling"
    assert page_lines.reason_row("terms: revenue") is None


PAGES = {("widget.pdf", 7): PAGE, ("widget.pdf", 9): "Capital spending was $455 million in 2021."}


def test_an_answer_citing_a_page_that_holds_its_figure_gets_no_note():
    assert page_check.note("Widget spent 455 million in 2021 (widget.pdf, p. 7).", PAGES) is None


def test_an_answer_without_a_citation_is_told_where_its_figure_is():
    line = page_check.note("Widget spent $455 million in 2021.", PAGES)
    assert line is not None and line.startswith("Page check (by the app, not the model)")
    assert "(widget.pdf, p. 7)" in line and "(widget.pdf, p. 9)" in line


def test_a_figure_on_none_of_the_pages_is_flagged_even_when_a_page_is_cited():
    line = page_check.note("Widget spent $1,000,000 in 2021 (widget.pdf, p. 7).", PAGES)
    assert line is not None and "1,000,000 is on none of the pages searched" in line


def test_years_and_page_numbers_are_not_figures():
    assert page_check.figures("In 2021 (p. 7) it was 1,577 and 3.5") == ["1,577", "3.5"]
    assert page_check.note("It was in 2021, see p. 7.", PAGES) is None


def test_only_the_years_the_question_asks_stay_in_a_row():
    assert page_lines.asked_years("What was the FY2019 figure?") == ["2019"]
    assert page_lines.by_year("Net income $ 3,033 $ 10,073 $ 11,588", "2017 2018 2019", ["2019"]) == (
        "Net income — 2019: $11,588")
    assert page_lines.by_year("Net income $ 3,033 $ 10,073", "2017 2018", ["2016"]) == (
        "Net income — 2017: $3,033; 2018: $10,073")  # a year the row does not have: every column stays


def test_a_five_year_header_with_a_long_caption_is_a_column_header():
    page = ("ITEM 6 - Selected Financial Data\nFiscal Year\n"
            "In Millions, Except Per Share Data, Percentages and Ratios 2020 (a) 2019 2018\n"
            "Net sales $ 17,626.6 $ 16,865.2 $ 15,740.4\nTotal assets 30,806.7 30,111.2 30,624.0\n")
    _, lines = page_lines.key_lines(page, "What were the FY2019 net sales?", ["net sales"])
    assert "Net sales — 2019: $16,865.2" in lines
