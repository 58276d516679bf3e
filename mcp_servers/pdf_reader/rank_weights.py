"""The page search's feature weights (features.FEATURES): how much each kind of evidence counts.

Fitted on the tuning part of the FinanceBench split only (`python benchmarks/bench_pdf_retrieval.py --fit`, so the
values are in-sample there); `--cv` fits them again without each tuning company in turn and scores that company,
which is how a feature earns its place. The report part never enters a fit.
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "words": 1.0,
    "pairs": 0.5,
    "concepts": 0.6,
    "line_items": 0.5,
    "years": 0.2,
    "numbers": 0.2,
    "coverage": 0.3,
    "title": 0.0,
    "rows": 0.0,
    "row_item": 0.25,
    "statement": 0.55,
    "any_statement": 0.0,
    "section": 0.3,
    "tabular": 0.15,
    "prose": 0.15,
    "year_header": 0.1,
    "quarter": 0.1,
    "contents": -0.5,
}
