"""The weight fit and its leave-one-company-out cross-validation (benchmarks/rank_fit.py) on planted samples."""

from __future__ import annotations

import numpy as np

from benchmarks import rank_fit
from mcp_servers.pdf_reader.features import FEATURES


def _sample(company: str, gold_page: int, signal: str, strength: float = 1.0) -> rank_fit.Sample:
    """Ten pages whose `words` feature favours page 1; `signal` marks the evidence page."""
    pages = [(n, {"words": 1.0 - 0.05 * n, signal: strength if n == gold_page else 0.0}) for n in range(1, 11)]
    return rank_fit.sample(company, pages, frozenset({gold_page}))


def test_rank_breaks_ties_by_page_number_and_misses_are_none() -> None:
    s = rank_fit.sample("X", [(3, {"words": 1.0}), (2, {"words": 1.0}), (5, {"words": 0.5})], frozenset({3}))
    w = rank_fit.vector({"words": 1.0})
    assert rank_fit.rank(s, w) == 2  # page 2 ties with page 3 and comes first, as in search_pages
    assert rank_fit.rank(rank_fit.sample("X", [(1, {"words": 1.0})], frozenset({9})), w) is None
    assert rank_fit.rates([1, 4, None, 12]) == {1: 0.25, 3: 0.25, 5: 0.5, 10: 0.5}


def test_stacked_ranking_equals_ranking_each_sample() -> None:
    # The fit ranks every sample at once (rank_fit.Stack); ties, two evidence pages, a sample without its evidence
    # page and one without candidates must rank exactly as rank() does.
    rng = np.random.default_rng(7)
    samples = []
    for i in range(40):
        pages = [(n, {f: float(rng.choice([0.0, 0.5, 1.0])) for f in FEATURES[:4]}) for n in range(1, 12)]
        samples.append(rank_fit.sample(f"C{i % 5}", pages, frozenset({int(rng.integers(1, 16)), 3})))
    samples += [rank_fit.sample("X", [(1, {"words": 1.0})], frozenset({9})), rank_fit.sample("Y", [], frozenset({1}))]
    stack = rank_fit.Stack(samples)
    for _ in range(30):
        w = rng.choice(rank_fit.GRID, size=len(FEATURES))
        assert stack.ranks(w) == [rank_fit.rank(s, w) for s in samples]
    assert stack.ranks(np.zeros(len(FEATURES)))[:3] == [rank_fit.rank(s, np.zeros(len(FEATURES))) for s in samples[:3]]
    assert rank_fit.Stack([]).ranks(np.ones(len(FEATURES))) == []


def test_the_fit_learns_a_feature_that_marks_the_evidence() -> None:
    samples = [_sample(c, gold, "statement") for c in "ABC" for gold in (4, 7)]
    weights = rank_fit.fit(samples)
    assert weights["statement"] > 0 and weights["words"] == 1.0
    assert all(rank_fit.rank(s, rank_fit.vector(weights)) == 1 for s in samples)
    ablated = rank_fit.fit(samples, frozenset({"statement"}))
    assert ablated["statement"] == 0.0
    assert set(weights) == set(FEATURES)


def test_cross_validation_never_fits_on_the_company_it_scores() -> None:
    # Companies A-E mark their evidence with `section`; F marks it with `title` only. Held out, F cannot be helped
    # by its own signal (no other company shows it: its weight stays at the neutral start), so it is not first.
    samples = [_sample(c, 6, "section") for c in "ABCDE"] + [_sample("F", 6, "title")]
    ranks, per = rank_fit.leave_one_company_out(samples)
    assert per["F"][0] > 1 and all(per[c] == [1] for c in "ABCDE")
    assert len(ranks) == len(samples)
    fitted_with_f = rank_fit.fit(samples)
    assert np.isclose(rank_fit.rank(samples[-1], rank_fit.vector(fitted_with_f)), 1)  # in-sample it would be first


def test_bagged_weights_average_fits_that_each_leave_companies_out() -> None:
    # Five companies mark the evidence with `section`; one of them marks it with `title` too. Every single fit that
    # sees that company may move `title`; the bagged weight is the mean over fits, one of which never saw it.
    samples = [_sample(c, 6, "section") for c in "ABCD"] + [_sample("E", 6, "title", 3.0)]
    bag = rank_fit.bagged(samples, bags=5)
    fits = [rank_fit.fit([s for s in samples if "ABCDE".index(s.company) % 5 != k]) for k in range(5)]
    assert bag["section"] == round(float(np.mean([f["section"] for f in fits])), 2) and bag["section"] > 0
    assert bag["words"] == 1.0 and set(bag) == set(FEATURES)
    assert rank_fit.bagged(samples[:2], bags=5) == rank_fit.fit(samples[:2])  # too few companies: one fit


def test_cross_validation_in_groups_still_holds_each_company_out() -> None:
    samples = [_sample(c, 6, "section") for c in "ABCDEFG"] + [_sample("H", 6, "title")]
    ranks, per = rank_fit.leave_one_company_out(samples, folds=3)
    assert set(per) == set("ABCDEFGH") and len(ranks) == len(samples)
    assert per["H"][0] > 1  # its group's fit never saw its signal


def test_each_kind_of_question_weighs_alike_in_the_fit() -> None:
    # Nine easy questions of one kind, one of another: unweighted, the one is a tenth of the objective; by kind, half.
    easy = [rank_fit.sample("A", [(1, {"words": 1.0}), (2, {"words": 0.5})], frozenset({1}), "template")] * 9
    hard = [rank_fit.sample("B", [(1, {"words": 1.0}), (2, {"words": 0.5})], frozenset({2}), "analyst")]
    ranks = [1] * 9 + [2]
    assert np.isclose(rank_fit.fit_objective(easy + hard, ranks), (1.75 + (0.5 + 0.75)) / 2)
    assert np.isclose(rank_fit.fit_objective(easy, [1] * 9), rank_fit.objective([1] * 9))
    # The weight that puts the analyst's page first while the template pages stay first is learned.
    for s in easy:
        s.matrix[:, FEATURES.index("title")] = [0.0, 0.0]
    hard[0].matrix[:, FEATURES.index("title")] = [0.0, 1.0]
    weights = rank_fit.fit(easy + hard)
    assert all(rank_fit.rank(s, rank_fit.vector(weights)) == 1 for s in easy + hard)



def test_cross_validation_learns_from_the_vocabulary_free_samples_of_other_companies_only() -> None:
    # Scored: F's question analysed without the vocabulary, its evidence marked by `title` only. F cannot teach
    # that to its own fit (a company is held out); the other companies' samples passed in `also` can.
    scored = [_sample("F", 6, "title")]
    assert rank_fit.leave_one_company_out(scored)[0][0] > 1
    others = [_sample(c, 6, "title") for c in "ABCDE"]
    assert rank_fit.leave_one_company_out(scored, also=others)[0] == [1]
    # F's own samples in `also` are held out with F: a signal only F shows (`prose`) does not help it.
    own = [_sample("F", 6, "prose")]
    assert rank_fit.leave_one_company_out(own, also=own * 3)[0][0] > 1
    assert len(rank_fit.with_dropout(others, scored)) == 6
