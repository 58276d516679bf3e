"""Every number of an executive summary, checked by code against the ledger: "n of m numbers verified".

The summary cites ledger rows with markers — `[r12]` (row 12) or `[DOCUMENT p.N]` (the rows of that page). Each
number it states (amounts with their scale words, percentages, ratios, counts) is matched to a ledger row —
reported or derived — by value after scale normalisation (within the precision the summary printed it to:
"$21.7 billion" is 21,653 million), by unit (a percentage only matches a percent row), and by period when its
sentence names some (the row's period must be one of them). The rows the number's sentence cites are tried first, then every row. Years, quarters, page
numbers and the markers themselves are not claims. What matches nothing is highlighted and counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from storage.ledger import SCALES, KpiRow

_MARKER = re.compile(r"\[(?:r(?P<row>\d+)(?:\s*,\s*r\d+)*|(?P<doc>[^\]\[]{1,120}?)\s+p\.?\s*(?P<page>\d{1,4}))\]", re.I)
_ROWS_IN_MARKER = re.compile(r"r(\d+)", re.I)
_NUMBER = re.compile(
    r"(?<![\w.])(?P<neg>\(|-|−)?(?P<cur>[$€£]|USD\s?|EUR\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\)?"
    r"(?:\s?(?P<pct>%|percent\b|per cent\b|percentage points?\b|pp\b)|\s?(?P<scale>thousands?\b|millions?\b|"
    r"billions?\b|trillions?\b|bn\b|mn\b|m\b|k\b|b\b)|(?P<times>x\b|×))?",
    re.IGNORECASE,
)
_PERIOD = re.compile(r"\b(?:FY\s?'?|fiscal(?: year)?\s)?((?:19|20)\d\d)\b|\bFY\s?'?(\d\d)\b", re.IGNORECASE)
_QUARTER_OR_PAGE = re.compile(r"(?:\bQ|\bp\.?\s?|\bpage\s|\bnote\s|\bitem\s|\brow\s|#)$", re.IGNORECASE)
_SCALE_WORDS = {
    "thousand": "thousands", "k": "thousands", "million": "millions", "mn": "millions", "m": "millions",
    "billion": "billions", "bn": "billions", "b": "billions", "trillion": "trillions",
}  # fmt: skip
TRILLION = Decimal(10) ** 12


@dataclass
class Stated:
    """One number of the summary: where it is, what it says, and the ledger row it was matched to (or not)."""

    start: int
    end: int
    text: str
    value: Decimal
    unit: str  # currency, percent, ratio, plain
    base: Decimal  # value in units (scale applied) for currency and plain numbers
    tolerance: Decimal
    scaled: bool = False
    """A scale word followed the number ('21.7 billion')."""
    periods: set[str] = field(default_factory=set)
    row: int | None = None


@dataclass
class SummaryCheck:
    """The summary's numbers and which ledger row each one traces to."""

    numbers: list[Stated]

    @property
    def verified(self) -> int:
        return sum(1 for n in self.numbers if n.row is not None)

    @property
    def unmatched(self) -> list[Stated]:
        return [n for n in self.numbers if n.row is None]

    def header(self) -> str:
        """'41 of 41 numbers verified against the ledger'."""
        return f"{self.verified} of {len(self.numbers)} numbers verified against the ledger"

    def highlighted(self, summary: str) -> str:
        """The summary with each unverified number marked **⚠ … (unverified)**."""
        out = summary
        for n in sorted(self.unmatched, key=lambda n: -n.start):
            out = out[: n.start] + f"**⚠ {n.text} (unverified)**" + out[n.end :]
        return out


def check_summary(summary: str, rows: Sequence[KpiRow], names: dict[str, str]) -> SummaryCheck:
    """Match every number the summary states to a ledger row (see the module docstring)."""
    usable = [r for r in rows if r.status in ("verified", "conflict", "flagged")]
    markers = [(m.start(), m.end(), _cited(m, usable, names)) for m in _MARKER.finditer(summary)]
    numbers = []
    for m in _NUMBER.finditer(summary):
        if any(start <= m.start() < end for start, end, _ in markers):
            continue
        stated = _stated(summary, m)
        if stated is None:
            continue
        sentence_start, sentence_end = _sentence(summary, m.start())
        stated.periods = _periods(summary[sentence_start:sentence_end])
        cited = [row for start, _, ids in markers if sentence_start <= start < sentence_end for row in ids]
        preferred = [r for r in usable if r.id in cited]
        for candidates in (preferred, usable):
            match = next((r for r in candidates if _matches(stated, r)), None)
            if match is not None:
                stated.row = match.id
                break
        numbers.append(stated)
    return SummaryCheck(numbers)


def _cited(m: re.Match[str], rows: Sequence[KpiRow], names: dict[str, str]) -> list[int]:
    if m.group("row"):
        return [int(i) for i in _ROWS_IN_MARKER.findall(m.group(0))]
    doc, page = m.group("doc").strip().casefold(), int(m.group("page"))
    return [
        r.id for r in rows
        if r.id is not None and r.page == page and r.document_id
        and doc in (names.get(r.document_id, "").casefold(), r.document_id.casefold(), r.document_id[:8].casefold())
    ]  # fmt: skip


def _stated(summary: str, m: re.Match[str]) -> Stated | None:
    raw = m.group("num")
    before = summary[max(0, m.start() - 8) : m.start()]
    if _QUARTER_OR_PAGE.search(before):
        return None  # Q3, p.37, Note 4, Item 7, row 12
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None
    pct, scale_word, cur, times = m.group("pct"), m.group("scale"), m.group("cur"), m.group("times")
    is_year = re.fullmatch(r"(?:19|20)\d\d", raw) and not (pct or scale_word or cur or times)
    if is_year or (summary[max(0, m.start() - 2) : m.start()].upper().endswith("FY")):
        return None  # a period, not a claim
    if m.group("neg") in ("-", "−", "(") and not (m.group("neg") == "(" and not summary[m.end() - 1 : m.end()] == ")"):
        value = -value
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    step = Decimal(1).scaleb(-decimals) / 2
    text = summary[m.start() : m.end()].strip()
    if pct:
        return Stated(m.start(), m.end(), text, value, "percent", value, step)
    if times:
        return Stated(m.start(), m.end(), text, value, "ratio", value, step)
    factor = _factor(scale_word)
    unit = "currency" if cur else "plain"
    return Stated(m.start(), m.end(), text, value, unit, value * factor, step * factor, scaled=bool(scale_word))


def _factor(word: str | None) -> Decimal:
    if not word:
        return Decimal(1)
    scale = _SCALE_WORDS.get(word.lower().rstrip("s"), _SCALE_WORDS.get(word.lower(), ""))
    return TRILLION if scale == "trillions" else SCALES.get(scale, Decimal(1))


def _sentence(text: str, at: int) -> tuple[int, int]:
    start = max(text.rfind(". ", 0, at), text.rfind("\n", 0, at))
    ends = [i for i in (text.find(". ", at), text.find("\n", at)) if i >= 0]
    return start + 1, (min(ends) + 1 if ends else len(text))


def _periods(sentence: str) -> set[str]:
    found = set()
    for m in _PERIOD.finditer(sentence):
        year = m.group(1) or f"20{m.group(2)}"
        found.add(f"FY{year}")
    return found


def _matches(stated: Stated, row: KpiRow) -> bool:
    if stated.periods and row.fiscal_period.split("-")[0] not in stated.periods:
        return False
    if stated.unit in ("percent", "ratio"):
        return row.unit == stated.unit and _close(row.decimal, stated.value, stated.tolerance)
    if row.unit in ("percent", "ratio"):
        return False  # a percentage is stated with its % sign
    if not stated.scaled:  # "21,653" in a summary of a ledger in millions: the row's own scale
        return _close(row.decimal, stated.value, stated.tolerance) or _close(row.base_value, stated.base, stated.tolerance)
    return _close(row.base_value, stated.base, stated.tolerance)


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(abs(a) - abs(b)) <= tolerance
