"""Ledger operations done by code, not by the model: quote verification, scale normalisation, conflicts, derivation.

Arithmetic is exact Decimal in this process (see README design notes): the formulas are the app's own fixed
DerivedSpecs, not model-written code, so there is nothing to isolate, and Decimal never rounds 0.1 + 0.2.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mcp_servers.analysis import binding
from mcp_servers.analysis.binding import LayoutOf as LayoutOf
from mcp_servers.analysis.text import DASHES, normalize, squeeze
from mcp_servers.analysis.kpi_vocab import DERIVED, REPORTED, DerivedSpec, check_metric, normalize_period, previous_period
from storage import ledger
from storage.db import Database
from storage.ledger import SCALES, KpiRow, company_key

PageText = Callable[[str, int], "str | None"]
"""(document_id, 1-based page) -> the page's text; storage.documents.page_text bound to a database."""

# A number as reports print it: $1,577 (1,577) -370.5 16.5% 8.70; a parenthesised one is negative.
_NUMBER = re.compile(r"(\()?\s*[-]?\s*\$?\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(\))?")
_SCALE_WORDS = {"thousands": r"thousand", "millions": r"million", "billions": r"billion"}
DERIVED_PLACES = Decimal("0.0001")
_YEAR_LIKE = re.compile(r"(?:19|20)\d\d")


class Rejected(ValueError):
    """A value the ledger refuses; the message says exactly what to fix."""


def quote_on_page(quote: str, page: str) -> bool:
    """Whether the quote occurs on the page, modulo whitespace, NBSP, dash, quote-mark and case differences."""
    q = normalize(quote)
    return bool(q) and (q in normalize(page) or squeeze(quote) in squeeze(page))


def parse_value(raw: str | float) -> Decimal:
    """'1,577' '(370)' '$8.70' '-2.5%' 1577 → Decimal; ValueError when it is not a number."""
    text = str(raw).strip().translate(DASHES).replace("$", "").replace("%", "").replace(",", "").replace(" ", "")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Rejected(f"value {raw!r} is not a number: give it as digits, e.g. 1577 or -370.5") from None
    if not value.is_finite():
        raise Rejected(f"value {raw!r} is not a finite number")
    return -value if negative else value


def numbers_in(text: str) -> list[Decimal]:
    """Every number printed in a text, parenthesised ones negative."""
    found = []
    for m in _NUMBER.finditer(normalize(text)):
        value = Decimal(m.group(2).replace(",", ""))
        found.append(-value if m.group(1) and m.group(3) else value)
    return found


def stated_scales(page: str) -> set[str]:
    """The scales a page names ('in millions', '(Thousands)')."""
    low = normalize(page)
    return {scale for scale, word in _SCALE_WORDS.items() if re.search(rf"\b{word}s?\b", low)}


@dataclass
class Claim:
    """What the extractor says it found."""

    company: str
    fiscal_period: str
    metric: str
    value: str | float | int
    scale: str
    currency: str
    document_id: str
    page: int
    quote: str


def verify(claim: Claim, page_text: PageText, layout_of: LayoutOf | None = None) -> tuple[KpiRow, str]:
    """A row (not yet stored; 'verified', or 'flagged' when its period cannot be settled) and notes, or Rejected
    saying exactly what is wrong. `layout_of` gives the page's character boxes (the column of the number); without
    it, or when the original PDF is gone, the period is read from the page's text lines."""
    try:
        metric = check_metric(claim.metric)
        period = normalize_period(claim.fiscal_period)
    except ValueError as err:
        raise Rejected(str(err)) from None
    spec = REPORTED[metric]
    scale = claim.scale.strip().lower()
    if scale not in SCALES:
        raise Rejected(f"scale '{claim.scale}' unknown: use one of {', '.join(SCALES)} as the page states it")
    if not claim.company.strip():
        raise Rejected("company is empty")
    value = parse_value(claim.value)
    text = page_text(claim.document_id, claim.page)
    if text is None:
        raise Rejected(f"document {claim.document_id} has no page {claim.page} (pages are 1-based)")
    if len(normalize(claim.quote)) < 8:
        raise Rejected(
            "quote too short: copy the line item label and its number verbatim from the page, "
            "e.g. 'Purchases of property, plant and equipment (PP&E) (1,577)'"
        )
    if not quote_on_page(claim.quote, text):
        raise Rejected(
            f"quote not found on page {claim.page} of document {claim.document_id}: copy it verbatim "
            "from that page's text (read the page again; check the page number), do not paraphrase"
        )
    printed = numbers_in(claim.quote)
    if value not in printed and abs(value) not in {abs(n) for n in printed}:
        shown = ", ".join(str(n) for n in printed[:8]) or "none"
        raise Rejected(
            f"value {value} does not appear in the quote (numbers in it: {shown}); record the number as "
            "printed, in the page's scale (e.g. 1,577 in millions → value 1577, scale millions)"
        )
    if _YEAR_LIKE.fullmatch(_text(abs(value))) and all(_YEAR_LIKE.fullmatch(_text(abs(n))) for n in printed):
        raise Rejected(f"{value} is a year (the quote holds only years: a column header), not a value of {metric}")
    if binding.note_reference(claim.quote, value):
        raise Rejected(f"{value} is a note reference ('Note {value}') in the quote, not a value of {metric}")
    label = binding.label_before(claim.quote, value)
    wrong = binding.bind_metric(metric, spec.label_pattern, spec.exclude_pattern, label)
    if wrong:
        raise Rejected(f"{wrong} ({spec.hint}): quote the row of {metric} itself, with its label")
    layout = layout_of(claim.document_id, claim.page) if layout_of is not None else None
    bound = binding.bind_period(layout, text, claim.quote, value, period)
    if bound.status == "refused":
        raise Rejected(bound.reason)
    notes = [] if bound.status == "bound" else [f"FLAGGED, period not confirmed: {bound.reason}"]
    if spec.absolute and value < 0:
        value, _ = -value, notes.append(f"{metric} is kept as a magnitude (sign conventions differ)")
    if spec.unit in ("currency", "per_share") and not claim.currency.strip():
        raise Rejected(f"{metric} is a currency amount: give currency (e.g. USD)")
    named = stated_scales(text)
    if scale != "units" and spec.unit == "currency" and named and scale not in named:
        raise Rejected(
            f"the page states amounts in {', '.join(sorted(named))}, not {scale}: give the scale the page states"
        )
    if scale != "units" and spec.unit == "currency" and not named:
        notes.append(f"page {claim.page} does not name a scale; {scale} taken as given (check the table header)")
    row = KpiRow(
        conversation_id="",
        company=" ".join(claim.company.split()),
        fiscal_period=period,
        metric=metric,
        value=_text(value),
        unit=spec.unit,
        currency=claim.currency.strip().upper(),
        scale=scale if spec.unit == "currency" else "units",
        document_id=claim.document_id,
        page=claim.page,
        quote=claim.quote.strip(),
        method="reported",
        status="verified" if bound.status == "bound" else "flagged",
        note=None if bound.status == "bound" else bound.reason,
    )
    return row, "; ".join(notes)


def _text(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros ('1577', '-370.5')."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def precision(row: KpiRow) -> Decimal:
    """Half a unit of the last printed digit, in units: '38.5' billions is good to ±0.05 billion."""
    exponent = Decimal(row.value).as_tuple().exponent
    step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return step / 2 * SCALES.get(row.scale, Decimal(1))


def same_value(a: KpiRow, b: KpiRow) -> bool:
    """Equal after scale normalisation, within the precision each was printed to ($38.5 billion = 38,514 million)."""
    if a.currency != b.currency or a.unit != b.unit:
        return False
    return abs(a.base_value - b.base_value) <= max(precision(a), precision(b))


def record(
    db: Database,
    conversation_id: str,
    run_id: str | None,
    claim: Claim,
    page_text: PageText,
    layout_of: LayoutOf | None = None,
) -> str:
    """Verify and store a claim; duplicates are reported, conflicts flagged on every row involved."""
    try:
        row, notes = verify(claim, page_text, layout_of)
    except Rejected as err:
        ledger.add_row(db, _rejected(conversation_id, run_id, claim, str(err)))
        raise
    row.conversation_id, row.run_id = conversation_id, run_id
    with ledger.conversation_lock(db, conversation_id) as session:
        same_key = [
            r
            for r in ledger.rows(
                db, conversation_id, metrics=[row.metric], companies=[row.company], periods=[row.fiscal_period],
                session=session,
            )
            if r.method == "reported"
        ]
        for other in same_key:
            if same_value(other, row) and other.document_id == row.document_id and other.page == row.page:
                return f"already recorded as row {other.id} ({other.status}); nothing added"
        clashing = [r for r in same_key if not same_value(r, row)]
        if clashing:
            row.status = "conflict"
            row.note = "differs from rows " + ", ".join(str(r.id) for r in clashing)
        stored = ledger.add_row(db, row, session=session)
        if clashing:
            ledger.set_status(db, [r.id for r in clashing if r.id is not None], "conflict",
                              note=f"differs from row {stored.id}", session=session)
    head = (
        f"row {stored.id} {stored.status}: {stored.company} {stored.fiscal_period} {stored.metric} = "
        f"{stored.value} {stored.currency} {stored.scale} (p.{stored.page})"
    )
    if clashing:
        old = ", ".join(f"row {r.id} = {r.value} {r.scale} (doc {r.document_id} p.{r.page})" for r in clashing)
        head += (
            f"\nCONFLICT flagged (not resolved): {old}. Both are kept; say so in the report (e.g. a "
            "restatement), do not pick one."
        )
    return head + (f"\nnote: {notes}" if notes else "")


def _rejected(conversation_id: str, run_id: str | None, claim: Claim, why: str) -> KpiRow:
    return KpiRow(
        conversation_id=conversation_id,
        run_id=run_id,
        company=claim.company[:200],
        fiscal_period=str(claim.fiscal_period)[:20],
        metric=str(claim.metric)[:60],
        value=str(claim.value)[:60],
        scale=str(claim.scale)[:20],
        currency=str(claim.currency)[:8],
        document_id=claim.document_id,
        page=claim.page,
        quote=claim.quote,
        status="rejected",
        note=why,
    )


def derive(
    db: Database,
    conversation_id: str,
    run_id: str | None,
    metric: str,
    companies: list[str] | None = None,
    periods: list[str] | None = None,
) -> list[str]:
    """Compute a derived metric for every (company, period) whose inputs are in the ledger; one line each."""
    spec = DERIVED[check_metric(metric, derived=True)]
    all_rows = ledger.rows(db, conversation_id)
    by_key: dict[tuple[str, str, str], list[KpiRow]] = {}
    for r in all_rows:
        by_key.setdefault(r.key(), []).append(r)
    targets = sorted({(company_key(r.company), r.fiscal_period) for r in all_rows if r.metric == spec.inputs[0]})
    if companies:
        targets = [t for t in targets if t[0] in {company_key(c) for c in companies}]
    if periods:
        wanted = {normalize_period(p) for p in periods}
        targets = [t for t in targets if t[1] in wanted]
    lines = []
    for company, period in targets:
        lines.append(_derive_one(db, conversation_id, run_id, spec, company, period, by_key))
    return lines or [f"no ledger rows for {spec.inputs[0]} yet: record them first"]


def _derive_one(
    db: Database,
    conversation_id: str,
    run_id: str | None,
    spec: DerivedSpec,
    company: str,
    period: str,
    by_key: dict[tuple[str, str, str], list[KpiRow]],
) -> str:
    keys = (
        [(company, period, spec.inputs[0]), (company, previous_period(period), spec.inputs[0])]
        if spec.op == "growth_pct"
        else [(company, period, m) for m in spec.inputs]
    )
    inputs: list[KpiRow] = []
    for key in keys:
        found = [r for r in by_key.get(key, []) if r.status != "rejected"]
        if not found:
            return f"{company} {period} {spec.name}: skipped, no {key[2]} for {key[1]} in the ledger"
        if any(r.status == "conflict" for r in found):
            ids = ", ".join(str(r.id) for r in found)
            return f"{company} {period} {spec.name}: skipped, {key[2]} {key[1]} is in conflict (rows {ids})"
        found = [r for r in found if r.status == "verified"] or found
        if all(r.status == "flagged" for r in found):
            ids = ", ".join(str(r.id) for r in found)
            return f"{company} {period} {spec.name}: skipped, {key[2]} {key[1]} is flagged: its period is not confirmed (rows {ids})"
        inputs.append(min(found, key=precision))  # agreeing rows: the most precise one ($38,514 m, not $38.5 bn)
    a, b = inputs[0], inputs[1]
    if a.currency != b.currency and a.unit == b.unit == "currency":
        return f"{company} {period} {spec.name}: skipped, currencies differ ({a.currency} vs {b.currency})"
    value, scale = compute(spec, a, b)
    shown = spec.symbol() or " vs "
    formula = (
        f"{spec.name} = {spec.text} = {_show(a)}{shown}{_show(b)} = {_text(value)}"
        f"{'%' if spec.unit == 'percent' else ''} [rows {a.id}, {b.id}]"
    )
    old = [r.id for r in by_key.get((company, period, spec.name), []) if r.method == "derived" and r.id]
    ledger.delete_rows(db, old)
    row = ledger.add_row(
        db,
        KpiRow(
            conversation_id=conversation_id,
            run_id=run_id,
            company=a.company,
            fiscal_period=period,
            metric=spec.name,
            value=_text(value),
            unit=spec.unit,
            currency=a.currency if spec.unit == "currency" else "",
            scale=scale,
            method="derived",
            formula=formula,
            inputs=[a.id, b.id],
            status="verified",
        ),
    )
    return f"row {row.id}: {a.company} {period} {formula}"


def compute(spec: DerivedSpec, a: KpiRow, b: KpiRow) -> tuple[Decimal, str]:
    """The derived value (exact, ratios to 4 places) and its scale; inputs are scale-normalised first."""
    x, y = a.base_value, b.base_value
    if spec.op in ("sub", "add"):
        scale = a.scale if SCALES[a.scale] <= SCALES[b.scale] else b.scale  # the finer of the two, exactly
        total = x - y if spec.op == "sub" else x + y
        return total / SCALES[scale], scale
    if y == 0:
        raise Rejected(f"{spec.name}: division by zero (row {b.id} is 0)")
    if spec.op == "pct":
        return (x / y * 100).quantize(DERIVED_PLACES), "units"
    if spec.op == "ratio":
        return (x / y).quantize(DERIVED_PLACES), "units"
    return ((x / y - 1) * 100).quantize(DERIVED_PLACES), "units"  # growth_pct: a is period t, b is t-1


def _show(row: KpiRow) -> str:
    return row.value if row.scale == "units" else f"{row.value} {row.scale}"
