"""The page search's feature weights (features.FEATURES): how much each kind of evidence counts.

Fitted on the tuning side of the FinanceBench split only — the tuning part's 29 questions plus 68 questions over 49
other filings of 22 companies from the upstream FinanceBench repository (`benchmarks/financebench_extra.py`; no
report-part company) — with `python benchmarks/bench_pdf_retrieval.py --extra DIR --fit`: the mean of five fits,
each without a fifth of the companies (rank_fit.bagged), every kind of question weighing alike
(rank_fit.fit_objective), each question twice: analysed with the hand-written finance vocabulary and without it
(rank_fit.with_dropout, so the weights do not lean on concepts an unseen kind of question will not trigger), so
the values are in-sample there. `--cv` fits them again
without each group of companies and scores the group held out, which is how a feature earns its place. The report
part never enters a fit. Weights are relative to `words` (1); a negative weight is evidence against a page.
"""

from __future__ import annotations

WEIGHTS: dict[str, float] = {
    "words": 1,  # the scale: every other weight is relative to it
    "pairs": -0.24,
    "concepts": 1,
    "line_items": 0.85,
    "years": -0.09,
    "numbers": 0.2,  # -0.34 before the title field held every heading opening on a page; the question's own figures
    # (365 in a ratio's definition, a 20 % threshold) recur on unrelated pages, so the sign is not settled
    "coverage": 0.12,
    "title": 0.48,
    "rows": 0.61,
    "row_item": 0.5,
    "statement": 1.15,
    "any_statement": 0.17,
    "section": 0.71,
    "tabular": 0.46,
    "prose": -0.5,  # 0.3 before the vocabulary-free analyses joined the fit
    "year_header": 0.42,
    "quarter": 0.27,
    "contents": -1,
    "semantic": 1.5,  # the question's and the page's static embeddings (semantic.py); 0.55 before the
    # vocabulary-free analyses joined the fit
}
