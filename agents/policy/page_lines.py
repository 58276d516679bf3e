"""The few lines of a found page that a small model needs: the page's heading down to its column headers, and the
lines that hold the terms the search matched.

A whole 10-K page (2,000-4,000 characters of table rows) is too much for the 0.5B model: measured, it echoed the
page instead of answering. The search already says why a page ranked (its reason: "terms: purchases of property
plant and equipment, 2018; …; row: purchases of property plant and equipment"), with the question's words turned
into the report's wording ("capex" → that row label). Those terms pick the lines here; nothing is specific to one
question, company or figure.
"""

from __future__ import annotations

import re

MOST_LINES = 4
HEADING_LINES = 8  # a statement page's title, units and year columns sit in its first lines
_WORD = re.compile(r"[a-z0-9][a-z0-9&]+")
_NUMBER = re.compile(r"\(?\$?\s?\d[\d,]*(?:\.\d+)?\)?%?")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_ASKED_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_STOP = frozenset(
    "a an and are as at be by cite did do does for from give has have how in is it its much of on or page pages "
    "the their this to was were what when which who why with".split()
)


def words(text: str) -> set[str]:
    """Lower-case content words of `text` (possessives cut: "Acme's" → "acme")."""
    return {w.removesuffix("s") if w.endswith("'s") else w for w in _WORD.findall(text.lower().replace("’", "'"))
            if w not in _STOP}


def reason_terms(reason: str) -> list[str]:
    """The matched terms and the row label a search hit's reason names ("terms: a, b; …; row: c")."""
    terms: list[str] = []
    for part in reason.split("; "):
        if part.startswith("terms: "):
            terms.extend(t.strip() for t in part[len("terms: "):].split(", ") if t.strip())
        elif part.startswith("row: "):
            terms.append(part[len("row: "):].strip())
    return terms


def reason_row(reason: str) -> str | None:
    """The table-row label a search hit's reason names (the line item the question asks for), if any."""
    return next((part[len("row: "):].strip() for part in reason.split("; ") if part.startswith("row: ")), None)


def _has_number(line: str) -> bool:
    return any(len(re.sub(r"\D", "", m)) >= 1 for m in _NUMBER.findall(line) if not _YEAR.fullmatch(m.strip()))


def _only_numbers(line: str) -> bool:
    return bool(line) and not re.sub(r"[\d,.\s()$%—–-]", "", line)


def joined_lines(text: str) -> list[str]:
    """The page's non-empty lines, a row label on its own line joined with the line of figures under it."""
    out: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if out and _only_numbers(line) and not _only_numbers(out[-1]) and not _has_number(out[-1]):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def _is_columns(line: str) -> bool:
    """A column header: years and no other figure, with little else beside two years ("(Millions) 2018 2017 2016";
    a five-year table's "In Millions, Except Per Share Data … 2020 (a) 2019 2018 2017 2016")."""
    years = len(_YEAR.findall(line))
    if years < 2 or any(len(re.sub(r"\D", "", m)) >= 3 for m in _NUMBER.findall(_YEAR.sub("", line))):
        return False  # a row of figures, not a header ("December 31, 2018 2017" is one: 31 is a date)
    return years >= 3 or len(_WORD.findall(_YEAR.sub("", line).lower())) <= 6


_VALUE = re.compile(r"\(?-?\$?\s?\d[\d,]*(?:\.\d+)?\)?%?|[—–]")


def asked_years(question: str) -> list[str]:
    """The years a question names ("FY2019", "in 2018")."""
    return _ASKED_YEAR.findall(question)


def by_year(line: str, columns: str, asked: list[str] | None = None) -> str:
    """A table row with each figure labelled by its column's year, when the row has exactly one figure per year of
    the column header ("Net income $ 3,033 $ 10,073" under "2017 2018" → "Net income — 2017: $3,033; 2018: $10,073");
    else the row unchanged. When the question names years the row has, only those stay: the 0.5B model copies the
    first figure of a row (measured: the 2017 column for a FY2019 question) or the whole row."""
    years = _YEAR.findall(columns)
    first = _VALUE.search(line)
    if not years or first is None:
        return line
    label = line[:first.start()].rstrip(" $")
    rest = line[first.start():]
    values = [v.replace(" ", "") for v in _VALUE.findall(rest.replace("$ ", "$"))]
    if not label or len(values) != len(years) or _VALUE.sub("", rest).replace("$", "").strip():
        return line
    pairs = list(zip(years, values))
    if any(y in (asked or []) for y in years):
        pairs = [p for p in pairs if p[0] in (asked or [])]  # the other years' figures only get copied by mistake
    return f"{label} — " + "; ".join(f"{y}: {v}" for y, v in pairs)


def key_lines(text: str, question: str, terms: list[str], most: int = MOST_LINES) -> tuple[float, list[str]]:
    """(how well the best line matches, the lines of a page to show for `question`): its heading when that holds
    year columns (title, units, columns), then up to `most` lines sharing most of the question's words and the
    search's terms (at least half as many as the best line), in page order."""
    lines = joined_lines(text)
    if not lines:
        return 0.0, []
    asked = words(question)
    phrases = [p for p in (words(t) for t in terms) if p]

    def score(line: str) -> float:
        have = words(line)
        value = float(len(asked & have))
        for phrase in phrases:
            # A whole term on the line (the row label the search matched) counts far more than scattered words.
            value += 2.0 * len(phrase) if phrase <= have else 0.5 * len(phrase & have)
        return value + (0.5 if value and _has_number(line) else 0.0)

    ranked = sorted(range(len(lines)), key=lambda i: (-score(lines[i]), i))
    best = score(lines[ranked[0]])
    chosen = sorted(i for i in ranked[:most] if score(lines[i]) > 0 and score(lines[i]) >= best / 2)
    head = next((i for i in range(min(HEADING_LINES, len(lines))) if _is_columns(lines[i])), None)
    shown: list[int] = []
    if head is not None:
        shown = [i for i in range(head + 1) if lines[i].lower() != "table of contents"]
    elif chosen:
        # Else the nearest column header above the first chosen line, so figures keep their years.
        above = next((i for i in range(chosen[0] - 1, -1, -1) if _is_columns(lines[i])), None)
        shown = [above] if above is not None else []
    columns = next((lines[i] for i in reversed(shown) if _is_columns(lines[i])), "")
    out, last = [], -1
    for i in [*shown, *(i for i in chosen if i not in shown)]:
        if last >= 0 and i > last + 1:
            out.append("[…]")
        out.append(by_year(lines[i], columns, asked_years(question)) if columns and i not in shown else lines[i])
        last = i
    return best, out
