"""FinanceBench answer scoring: numbers match after scale normalisation and within the tolerance, not otherwise."""

from __future__ import annotations

from benchmarks.financebench_scoring import (
    cited_pages,
    is_numeric,
    judge_messages,
    judge_verdict,
    non_answer,
    numeric_match,
)

CAPEX = "What is the FY2018 capital expenditure amount (in USD millions)? Answer in USD millions."


def test_numbers_match_in_any_scale_and_only_within_the_tolerance() -> None:
    for answer in ("Capex was $1,577 million [p.60].", "about $1.577 billion", "1577", "USD 1,577.0m", "$1.58 billion"):
        assert numeric_match(answer, "$1577.00", CAPEX, 0.01), answer
    for answer in ("$1,373 million (the 2017 column)", "1.577", "$15.77 billion", "-1577", "no figure given"):
        assert not numeric_match(answer, "$1577.00", CAPEX, 0.01), answer
    assert numeric_match("Revenue grew 30.8% year over year", "30.8%", "growth in percent?", 0.01)
    assert numeric_match("a growth rate of 0.308", "30.8%", "growth in percent?", 0.01)
    assert not numeric_match("growth of 3.08%", "30.8%", "growth in percent?", 0.01)
    assert numeric_match("The ratio is 0.96.", "0.96", "quick ratio?", 0.01)


def test_what_counts_as_a_numeric_gold_and_a_citation() -> None:
    assert is_numeric("$1577.00") and is_numeric("30.8%") and is_numeric("93.86")
    assert not is_numeric("Yes. The company has three segments that each represent more than 20% of revenue.")
    assert cited_pages("see [X_10K p.60] and pages 37 and 40; page 5") == {60, 37, 40, 5}
    assert cited_pages("no citations, FY2022 revenue of 3,000") == set()


def test_the_judge_prompt_and_its_reply() -> None:
    messages = judge_messages("Is it cyclical?", "Yes, demand follows airline cycles.", "Yes [p.8]")
    assert "Is it cyclical?" in messages[0]["content"] and "airline cycles" in messages[0]["content"]
    assert "{answer}" not in messages[0]["content"]
    assert judge_verdict('{"correct": true, "reason": "same verdict"}') is True
    assert judge_verdict('Sure: {"correct": false, "reason": "contradicts"}') is False
    assert judge_verdict("I cannot tell") is None


def test_a_tool_call_written_as_text_is_no_answer() -> None:
    assert non_answer('{"name": "pdf_reader__search", "arguments": {"query": "Boeing"}}')
    assert non_answer("") and non_answer("```json\n{\"name\": \"x\", \"parameters\": {}}\n```")
    assert not non_answer("Yes, Boeing's business is cyclical [p.8].") and not non_answer('{"revenue": 3}')
