"""The detector on its labelled set (benchmarks/privacy_labelled.py): checksummed ids and secrets are all found,
nothing that merely looks like them (amounts, dates, table rows, failed checksums) is replaced."""

from __future__ import annotations

from agents.privacy import detector
from agents.privacy.kinds import DEFAULT_KINDS
from benchmarks.privacy_eval import score

STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "NIR", "SECRET", "PRIVATE_KEY")


def test_labelled_set():
    table = score()
    for kind in STRUCTURED:
        tp, fp, fn = table[kind]
        assert fn == 0 and fp == 0, (kind, table[kind])
    tp, fp, fn = (sum(v[i] for v in table.values()) for i in range(3))
    assert tp / (tp + fp) >= 0.95 and tp / (tp + fn) >= 0.85, table


def test_a_filing_page_keeps_its_numbers():
    page = ("Three Months Ended June 30, 2023 2022\nNet sales $ 12,345 $ 11,204\n(1,234) (967) (383)\n"
            "2019 596 596\nCommission File Number 1-3285, IRS Employer Identification No. 41-0417775\n"
            "3M Center, St. Paul, Minnesota 55144\n")
    assert [(f.kind, page[f.start:f.end]) for f in detector.find(page, DEFAULT_KINDS)] == []
