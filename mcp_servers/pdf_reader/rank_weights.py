"""The page search's feature weights (features.FEATURES): how much each kind of evidence counts.

Fitted on the tuning part of the FinanceBench split only (`python benchmarks/bench_pdf_retrieval.py --fit`, so the
values are in-sample there); `--cv` fits them again without each tuning company in turn and scores that company,
which is how a feature earns its place. The report part never enters a fit.
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "words": 1,
    "pairs": 0,
    "concepts": 1,
    "line_items": 0.25,
    "years": 0,
    "numbers": 0.25,
    "coverage": 0,
    "title": 0.5,
    "rows": 0.25,
    "row_item": 0.25,
    "statement": 1,
    "any_statement": 0.25,
    "section": 0.25,
    "tabular": 0.3,
    "prose": 0.25,
    "year_header": 0.3,
    "quarter": 0.25,
    "contents": -0.25,
}
