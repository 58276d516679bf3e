"""The page search's feature weights (features.FEATURES): how much each kind of evidence counts.

Fitted on the tuning part of the FinanceBench split only (`python benchmarks/bench_pdf_retrieval.py --fit`, so the
values are in-sample there); `--cv` fits them again without each tuning company in turn and scores that company,
which is how a feature earns its place. The report part never enters a fit. Weights are relative to `words` (1);
a negative weight is evidence against a page.
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "words": 1,  # the scale: every other weight is relative to it
    "pairs": 0.3,
    "concepts": 1.5,
    "line_items": 0.25,  # the fit's neutral start: no tuning question moved it
    "years": -0.5,  # negative in every CV fold: pages repeating the question's years are seldom its evidence
    "numbers": -0.5,  # negative in most folds: a question's own figures (365 in a ratio's definition, a 20 %
    # threshold) recur on unrelated pages; dropping the feature lowered the CV. A search for a printed figure
    # ("1,577") is the exception this weight gets wrong.
    "coverage": 0.3,
    "title": 1,
    "rows": 0.5,
    "row_item": 0.25,
    "statement": 0.75,
    "any_statement": 0.2,
    "section": 0.5,
    "tabular": 0.5,
    "prose": 0.05,
    "year_header": 0.3,
    "quarter": 0.25,  # the fit's neutral start: the tuning part has no quarter question whose page it could move
    "contents": -1,
}
