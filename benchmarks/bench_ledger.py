"""What binding a KPI to its label and period costs per recorded value (target: ≤ 20 ms added per value).

Claims are made from real statement pages of tuning-part FinanceBench 10-Ks: every table row whose label names a
ledger metric, claimed for the first column's year. Two checks, measured in the same run on the same claims:
  quote_only  the old check: the quote is on the page and the value is one of its numbers
  bound       kpi.verify: that, plus the row label against the metric's synonyms and the number's column header
              from pdfium character boxes of the kept PDF (the page's layout is opened on its first claim)
Prints the mean per value, the first value of a page (PDF page opened) and what binding decided.

Run: python benchmarks/bench_ledger.py
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_servers.analysis import kpi
from mcp_servers.analysis.kpi_vocab import REPORTED
from mcp_servers.pdf_reader import layout as layouts
from mcp_servers.pdf_reader.extract import normalise
from mcp_servers.pdf_reader.layout import page_layout

PDFS = ROOT.parent / "shared" / "data" / "financebench" / "pdfs"
PAGES = {"AMAZON_2019_10K": (37, 38, 40), "3M_2018_10K": (58, 60), "BOEING_2018_10K": (50, 52)}
ROW = re.compile(r"^([A-Za-z][^\d$(]{3,80}?)\s+\$?\s*(\(?[\d,]+(?:\.\d+)?\)?)(?:\s+\$?\s*\(?[\d,]+(?:\.\d+)?\)?){1,3}$")
YEARS = re.compile(r"\b((?:19|20)\d\d)\b")


def claims() -> list[tuple[str, int, kpi.Claim, str]]:
    """(pdf path, page, claim, page text) for every statement row naming a metric."""
    out = []
    for name, pages in PAGES.items():
        path = PDFS / f"{name}.pdf"
        for number in pages:
            layout = page_layout(path, number)
            if layout is None:
                continue
            text = normalise(layout.text)
            header = next((YEARS.findall(line) for line in text.splitlines() if len(YEARS.findall(line)) >= 2), [])
            if not header:
                continue
            for line in text.splitlines():
                m = ROW.match(line)
                if not m:
                    continue
                metric = next((n for n, s in REPORTED.items() if s.unit == "currency" and
                               s.label_pattern.search(m.group(1).lower())), None)  # fmt: skip
                if metric:
                    claim = kpi.Claim(name, f"FY{header[0]}", metric, m.group(2), "millions", "USD", name, number, line)
                    out.append((str(path), number, claim, text))
    return out


def quote_only(claim: kpi.Claim, text: str) -> bool:
    return kpi.quote_on_page(claim.quote, text) and kpi.parse_value(claim.value) in kpi.numbers_in(claim.quote)


def main() -> None:
    if not PDFS.is_dir():
        sys.exit(f"FinanceBench PDFs not found at {PDFS}")
    made = claims()
    layouts.close_all()  # measure the first claim of each page with its PDF page opened
    base, bound, first = [], [], []
    seen: set[tuple[str, int]] = set()
    decided: Counter[str] = Counter()
    for path, number, claim, text in made:
        started = time.perf_counter()
        quote_only(claim, text)
        base.append(time.perf_counter() - started)
        started = time.perf_counter()
        try:
            row, _ = kpi.verify(claim, lambda _d, _n, t=text: t, lambda _d, n, p=path: page_layout(p, n))
            decided[row.status] += 1
        except kpi.Rejected:
            decided["refused"] += 1
        took = time.perf_counter() - started
        (first if (path, number) not in seen else bound).append(took)
        seen.add((path, number))
    every = bound + first
    added = statistics.mean(every) - statistics.mean(base)
    print(f"{len(made)} claims from {len(seen)} statement pages: {dict(decided)}")
    print(f"ledger_quote_only_ms_mean: {1000 * statistics.mean(base):.2f}")
    print(f"ledger_bound_ms_mean: {1000 * statistics.mean(every):.2f}")
    print(f"ledger_bound_added_ms_mean: {1000 * added:.2f}")
    print(f"ledger_bound_first_on_page_ms_mean: {1000 * statistics.mean(first):.2f}")
    print(f"ledger_bound_same_page_ms_mean: {1000 * statistics.mean(bound or [0.0]):.2f}")
    print(f"ledger_bound_vs_quote_only_ratio: {statistics.mean(every) / max(statistics.mean(base), 1e-9):.1f}")


if __name__ == "__main__":
    main()
