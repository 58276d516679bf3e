"""Does a quoted number mean what the extractor says? Metric from the row label, period from the column header.

A value is bound when (a) the quote's row label names the metric (kpi_vocab.Metric.labels: capex ↔ "purchases of
property, plant and equipment", "capital expenditures", ...), (b) the number's column header (the year or quarter
printed above it, found with pdfium's character boxes) or, in running text, the year the sentence gives it is the
claimed period, and (c) the number is not a heading year, a page number or a note reference. What cannot be
decided is flagged, never guessed: a fiscal quarter whose year the header does not settle, a number with no
header above it and no single year in its sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mcp_servers.analysis.text import normalize, squeeze_map
from mcp_servers.pdf_reader.layout import PageLayout

LayoutOf = Callable[[str, int], "PageLayout | None"]
"""(document_id, 1-based page) -> the page's layout, or None when the original PDF is not available."""

_NUMBER = re.compile(r"(?<![\w.,])\(?-?\$?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\)?%?(?![\w])")
_YEAR = re.compile(r"(?<![\w.,$])((?:19|20)\d\d)(?![\w%]|[.,]\d)")
_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b", re.IGNORECASE)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("quarter", re.compile(r"three months|13 weeks|thirteen weeks|\bquarter\b|\bq[1-4]\b", re.IGNORECASE)),
    ("year_to_date", re.compile(r"(?:six|nine) months|(?:26|39) weeks", re.IGNORECASE)),
    ("annual", re.compile(r"twelve months|years? ended|fiscal years?|(?:52|53) weeks|full year", re.IGNORECASE)),
)
_NOTE_BEFORE = re.compile(r"\bnotes?\s*\(?$", re.IGNORECASE)
_FILLER = frozenset(
    "a an and or in of to from with was were is the than versus vs respectively compared billion billions million "
    "millions thousand thousands percent year years fiscal fy".split()
)
"""Words between the numbers of a sentence ('$30.7 billion and $38.5 billion'): no label."""
PAGE_MARGIN = 0.08
"""Top and bottom share of a page where a lone number is its page number."""
PROSE_WORDS = 8
"""A line with more words than this is running text."""
NOTE_HEADER_WORDS = 6
HEADER_REACH = 0.95
COLUMN_REACH = 45.0
"""Points between a number's centre and its column header's centre, at most."""
KIND_REACH = 60.0
"""Points between a number's centre and a spanning header ("Six Months Ended") that can still be its column's."""
"""How far above a number (share of the page height) its column header may be."""


@dataclass(frozen=True)
class Binding:
    """What the number's place on the page says: 'bound' (period confirmed), 'flagged' (undecidable) or
    'refused'; the reason says what was found."""

    status: str
    reason: str
    period: str | None = None


def label_before(quote: str, value: Decimal) -> str:
    """The words of the quote that label the value: the last run of words before it (a table row's label), else
    the words after it ('$1.6 billion of capital expenditures')."""
    text = normalize(quote)
    spans = [(m.start(), m.end(), _number(m.group(0))) for m in _NUMBER.finditer(text)]
    at = next((s for s in spans if s[2] is not None and abs(s[2]) == abs(value)), None)
    if at is None:
        return _words(text)
    before = [_words(text[end:start]) for (_, end, _), (start, _, _) in zip([(0, 0, None), *spans], spans)]
    index = spans.index(at)
    for i in range(index, -1, -1):
        if re.search(r"[a-z]{2}", before[i]) and not set(before[i].split()) <= _FILLER:
            return before[i]
    return _words(text[at[1] :])


def note_reference(quote: str, value: Decimal) -> bool:
    """Whether every occurrence of the value in the quote is a note number ('(Note 7)', 'Notes 4 and 7')."""
    text = normalize(quote)
    places = [m for m in _NUMBER.finditer(text) if (n := _number(m.group(0))) is not None and abs(n) == abs(value)]
    return bool(places) and all(re.search(r"\bnotes?\s*\(?(?:\d{1,2}\s*(?:,|and)\s*)*$", text[: m.start()]) for m in places)


def _words(text: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", text)  # "(used in)", "(PP&E)", "(loss)", "(Note 7)"
    return " ".join(re.sub(r"[^a-z&' -]+", " ", text).split())


def _number(raw: str) -> Decimal | None:
    digits = raw.replace("$", "").replace(",", "").replace("%", "").replace(" ", "")
    negative = digits.startswith("(") and digits.endswith(")")
    try:
        value = Decimal(digits.strip("()"))
    except InvalidOperation:
        return None
    return -value if negative else value


def bind_metric(metric: str, labels: re.Pattern[str], excludes: re.Pattern[str] | None, label: str) -> str | None:
    """None when the label names the metric, else why not."""
    if not re.search(r"[a-z]{2}", label):
        return "the quote has no line-item label: copy the row's label with its number"
    if labels.search(label) and not (excludes and excludes.search(label)):
        return None
    return f"the quote's label '{label[:80]}' is not {metric}"


def _year_of(period: str) -> tuple[int, str | None]:
    return int(period[2:6]), (period[8:] if "-Q" in period else None)


def bind_period(layout: PageLayout | None, page_text: str, quote: str, value: Decimal, period: str) -> Binding:
    """Where the quoted value sits on the page, and whether its column (or sentence) is `period`."""
    places = _places(layout, quote, value) if layout is not None else []
    if layout is not None and places:
        results = [_bind_place(layout, start, end, period) for start, end in places]
        refused = [r for r in results if r.status == "refused"]
        bound = [r for r in results if r.status == "bound"]
        if bound and not refused:
            return bound[0]
        if refused and not bound:
            return refused[0]
        if bound and refused:
            return Binding("flagged", f"the number appears in several columns: {refused[0].reason}")
        prose = [r for r in results if r.reason == "no column header"]
        if not prose:
            return results[0]
    return _bind_text(page_text, quote, value, period)


def _places(layout: PageLayout, quote: str, value: Decimal) -> list[tuple[int, int]]:
    """(start, end) character indexes of the value inside every occurrence of the quote on the page."""
    if "squeezed" not in layout.memo:
        layout.memo["squeezed"] = squeeze_map(layout.text)
    page, page_index = layout.memo["squeezed"]  # type: ignore[misc]
    wanted, quote_index = squeeze_map(quote)
    if not wanted:
        return []
    tokens = []
    for m in _NUMBER.finditer(quote):
        number = _number(m.group(0))
        if number is not None and abs(number) == abs(value):
            tokens.append((m.start(1), m.end(1)))
    # positions of the value's digits in the squeezed quote
    squeezed_spans = []
    for start, end in tokens:
        inner = [i for i, source in enumerate(quote_index) if start <= source < end]
        if inner:
            squeezed_spans.append((inner[0], inner[-1] + 1))
    out = []
    at = page.find(wanted)
    while at >= 0 and len(out) < 8:
        for s, e in squeezed_spans:
            out.append((page_index[at + s], page_index[at + e - 1] + 1))
        at = page.find(wanted, at + 1)
    return out


def _line_of(text: str, start: int, end: int) -> str:
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    return text[left : right if right >= 0 else len(text)]


def _bind_place(layout: PageLayout, start: int, end: int, period: str) -> Binding:
    box = layout.span_box(start, end)
    token = layout.text[start:end]
    if box is None:
        return Binding("flagged", "no position for the number")
    line = _line_of(layout.text, start, end).strip()
    lone = re.sub(r"[\s$()]", "", line) == re.sub(r"[\s$()]", "", token)
    near_edge = box[1] < PAGE_MARGIN * layout.height or box[3] > (1 - PAGE_MARGIN) * layout.height
    if lone and near_edge:
        return Binding("refused", f"{token} is the page number (alone at the page's edge), not a value")
    if _YEAR.fullmatch(token.strip()) and _all_years(line):
        return Binding("refused", f"{token} is a year in a column header, not a value")
    line_start = layout.text.rfind("\n", 0, start) + 1
    if _NOTE_BEFORE.search(layout.text[line_start:start]):
        return Binding("refused", f"{token} is a note reference ('Note {token}'), not a value")
    if _prose(line):
        return Binding("flagged", "no column header")  # running text: its sentence gives the year
    header = _column_header(layout, box)
    if header is None:
        return Binding("flagged", "no column header")
    label, year, kind, dated = header
    if label == "note":
        return Binding("refused", f"{token} is in the Note column (a note reference), not a value")
    return _compare(year, kind, dated, period, f"the {year} column" + (f" ({kind.replace('_', ' ')})" if kind else ""))


def _prose(line: str) -> bool:
    """A line of running text rather than a table row or a header."""
    return len(re.findall(r"[A-Za-z]{3,}", line)) > PROSE_WORDS


def _all_years(line: str) -> bool:
    rest = _YEAR.sub(" ", line)
    return bool(_YEAR.search(line)) and not re.search(r"\d", rest) and len(re.findall(r"[A-Za-z]+", rest)) <= PROSE_WORDS


def _year_headers(layout: PageLayout) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Every year printed on a header-like line of the page, with its box (computed once per page)."""
    if "years" not in layout.memo:
        found = []
        for m in _YEAR.finditer(layout.text):
            if _prose(_line_of(layout.text, m.start(), m.end())):  # a year inside running text is no column header
                continue
            box = layout.span_box(m.start(1), m.end(1))
            if box is not None:
                found.append((int(m.group(1)), box))
        layout.memo["years"] = found
    return layout.memo["years"]  # type: ignore[return-value]


def _column_header(layout: PageLayout, box: tuple[float, float, float, float]) -> tuple[str, int, str | None, bool] | None:
    """The header of the number's column: ('year', year, kind, header has a month) or ('note', ...), else None.

    The header row is the nearest row of years above the number that has a year within COLUMN_REACH points of it;
    the column is that row's year nearest the number (numbers are right-aligned, headers centred: the nearest
    centre, not an overlap, decides)."""
    left, top, right, _ = box
    centre = (left + right) / 2
    rows: dict[int, list[tuple[float, int]]] = {}
    for year, head in _year_headers(layout):
        gap = top - head[3]
        if -1 <= gap <= HEADER_REACH * layout.height:
            rows.setdefault(round(gap / 3), []).append((abs((head[0] + head[2]) / 2 - centre), year))
    best: tuple[float, int] | None = None
    for key in sorted(rows):
        distance, year = min(rows[key])
        if distance <= COLUMN_REACH:
            best = (key * 3.0, year)
            break
    for m in re.finditer(r"\bnotes?\b(?!\s*\(?\d{1,2}\b)", layout.text, re.IGNORECASE):
        if len(re.findall(r"[A-Za-z]{3,}", _line_of(layout.text, m.start(), m.end()))) > NOTE_HEADER_WORDS:
            continue  # "see the notes to ..." in a sentence, not the Note column's header
        note_box = layout.span_box(m.start(), m.end())
        if note_box and note_box[3] <= top + 1 and note_box[0] - 4 <= centre <= note_box[2] + 4:
            if best is None or top - note_box[3] < best[0]:
                return ("note", 0, None, False)
    if best is None:
        return None
    gap, year = best
    kind, dated = _column_kind(layout, box, gap)
    return ("year", year, kind, dated)


def _column_kind(layout: PageLayout, box: tuple[float, float, float, float], gap: float) -> tuple[str | None, bool]:
    """What the header spanning the column says — quarter, year to date or annual — and whether it gives a date.

    A spanning header ("Three Months Ended") is centred over its columns: the one horizontally nearest the number
    (within KIND_REACH points), among those above it, is the column's."""
    left, top, right, _ = box
    centre = (left + right) / 2
    best: tuple[float, float, str] | None = None
    for kind, head in _phrases(layout, "kinds"):
        if head[3] > top + 1 or top - head[3] > gap + 60:
            continue
        across = max(0.0, head[0] - centre, centre - head[2])
        if across <= KIND_REACH and (best is None or (across, top - head[3]) < best[:2]):
            best = (across, top - head[3], kind)
    dated = any(
        head[3] <= top + 1 and top - head[3] <= gap + 30 and abs((head[0] + head[2]) / 2 - centre) < 80
        for _, head in _phrases(layout, "months")
    )
    return (best[2] if best else None), dated


def _phrases(layout: PageLayout, which: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Column-kind phrases ('three months', 'year ended') or month names of the page with their boxes, once."""
    if which not in layout.memo:
        patterns = _KINDS if which == "kinds" else (("month", _MONTH),)
        found = []
        for kind, pattern in patterns:
            for m in pattern.finditer(layout.text):
                box = layout.span_box(m.start(), m.end())
                if box is not None:
                    found.append((kind, box))
        layout.memo[which] = found
    return layout.memo[which]  # type: ignore[return-value]


def _compare(year: int, kind: str | None, dated: bool, period: str, where: str) -> Binding:
    claimed, quarter = _year_of(period)
    if quarter and kind in ("annual", "year_to_date"):
        return Binding("refused", f"the number is in {where}, not a quarter: record {period} from a three-month column")
    if not quarter and kind in ("quarter", "year_to_date"):
        return Binding("refused", f"the number is in {where}, not the fiscal year {period}")
    if year == claimed:
        return Binding("bound", f"{where} matches {period}", period)
    if quarter and dated and claimed == year + 1:
        # A fiscal year that ends early in the next calendar year: its quarters are dated in the year before.
        return Binding("flagged", f"the number is in {where}: fiscal {period} not confirmed by the header")
    return Binding("refused", f"the number belongs to {where}, not {period}: record the {claimed} figure or fix the period")


def _bind_text(page_text: str, quote: str, value: Decimal, period: str) -> Binding:
    """Without positions: a table row mapped to the header line above it, else the years its sentence gives."""
    binding = _bind_row_text(page_text, quote, value, period)
    if binding is not None:
        return binding
    numbers = [n for m in _NUMBER.finditer(normalize(quote)) if (n := _number(m.group(0))) is not None
               and not _YEAR.fullmatch(m.group(1))]  # fmt: skip
    years = [int(y) for y in dict.fromkeys(_YEAR.findall(quote))]
    where = [i for i, n in enumerate(numbers) if abs(n) == abs(value)]
    if len(years) == 1:
        return _compare(years[0], None, False, period, f"the sentence's year {years[0]}")
    if years and len(years) == len(numbers) and len(where) == 1:
        year = years[where[0]]
        return _compare(year, None, False, period, f"the year {year} its sentence pairs it with")
    return Binding("flagged", "period not confirmed: no column header above the number and no single year in the quote")


def _bind_row_text(page_text: str, quote: str, value: Decimal, period: str) -> Binding | None:
    lines = page_text.splitlines()
    key = normalize(quote)[:40]
    for i, line in enumerate(lines):
        if key and key in normalize(line):
            values = [_number(m.group(0)) for m in _NUMBER.finditer(normalize(line))]
            values = [v for v in values if v is not None]
            for above in reversed(lines[:i]):
                years = [int(y) for y in _YEAR.findall(above)]
                if len(years) >= 2 and _all_years(above):
                    where = [j for j, v in enumerate(values[-len(years) :]) if abs(v) == abs(value)]
                    if len(values) >= len(years) and len(where) == 1:
                        return _compare(years[where[0]], None, False, period, f"the {years[where[0]]} column")
                    return None
    return None
