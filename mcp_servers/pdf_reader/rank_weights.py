"""The page search's feature weights (features.FEATURES): how much each kind of evidence counts.

Fitted on the tuning side of the FinanceBench split only — the tuning part's 29 questions plus 68 questions over 49
other filings of 22 companies from the upstream FinanceBench repository (`benchmarks/financebench_extra.py`; no
report-part company) — with `python benchmarks/bench_pdf_retrieval.py --extra DIR --fit`: the mean of five fits,
each without a fifth of the companies (rank_fit.bagged), every kind of question weighing alike
(rank_fit.fit_objective), so the values are in-sample there. `--cv` fits them again
without each group of companies and scores the group held out, which is how a feature earns its place. The report
part never enters a fit. Weights are relative to `words` (1); a negative weight is evidence against a page.
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "words": 1,  # the scale: every other weight is relative to it
    "pairs": -0.1,
    "concepts": 1,
    "line_items": 0.66,
    "years": 0.2,  # negative when fitted on the 29 tuning questions alone; positive with the 68 more
    "numbers": -0.5,  # a question's own figures (365 in a ratio's definition, a 20 % threshold) recur on unrelated
    # pages; a search for a printed figure ("2,400") is the exception this weight gets wrong.
    "coverage": 0.23,
    "title": 0.41,
    "rows": 0.44,
    "row_item": 0.28,
    "statement": 0.46,
    "any_statement": 0.24,
    "section": 0.3,
    "tabular": 0.25,
    "prose": 0.3,
    "year_header": 0.22,
    "quarter": 0.3,
    "contents": -0.75,
    "semantic": 0.55,  # the question's and the page's static embeddings (semantic.py); CV objective 1.45 without
}
