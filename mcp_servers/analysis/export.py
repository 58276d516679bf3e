"""What the ledger becomes for people: a comparison table, Cleveland dot plots, CSV, XLSX and a Markdown report.

Currency amounts are shown in millions whatever scale each report used (normalised from the stated scale first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from mcp_servers.analysis.kpi_vocab import DERIVED, unit_of
from mcp_servers.analysis.summary_check import SummaryCheck, check_summary
from storage.ledger import SCALES, KpiRow, company_key

MILLION = Decimal(1_000_000)
COLUMNS = [
    "id",
    "company",
    "fiscal_period",
    "metric",
    "value",
    "scale",
    "unit",
    "currency",
    "normalized",
    "document_id",
    "page",
    "quote",
    "method",
    "formula",
    "inputs",
    "status",
    "note",
]
NORMALIZED_COL = "I"  # where the XLSX ledger keeps the normalised value (currency in millions)


def display_value(row: KpiRow) -> Decimal:
    """Currency in millions, everything else as stated."""
    return row.base_value / MILLION if row.unit == "currency" else row.decimal


def fmt(row: KpiRow) -> str:
    """A number as the table shows it: 32,765.0 · 19.96% · 8.70."""
    value = display_value(row)
    if row.unit == "percent":
        return f"{value:,.2f}%"
    if row.unit == "currency":
        return f"{value:,.1f}" if value != value.to_integral() else f"{value:,.0f}"
    if row.unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def unit_label(metric: str, rows: Sequence[KpiRow]) -> str:
    """'USD m', '%', 'USD/share' for a column header."""
    unit = unit_of(metric)
    currency = next((r.currency for r in rows if r.metric == metric and r.currency), "")
    return {
        "currency": f"{currency} m".strip(),
        "percent": "%",
        "per_share": f"{currency}/share",
        "ratio": "×",
        "count": "#",
    }.get(unit, "")


def grid(rows: Sequence[KpiRow], metrics: Sequence[str]) -> tuple[list[tuple[str, str]], dict[tuple, list[KpiRow]]]:
    """(company, period) pairs in order and the rows in each (company, period, metric) cell."""
    cells: dict[tuple, list[KpiRow]] = {}
    names: dict[str, str] = {}
    for r in rows:
        if r.metric in metrics and r.status != "rejected":
            names.setdefault(company_key(r.company), r.company)
            cells.setdefault((company_key(r.company), r.fiscal_period, r.metric), []).append(r)
    pairs = sorted({(k[0], k[1]) for k in cells})
    return [(names[c], p) for c, p in pairs], cells


def comparison_markdown(rows: Sequence[KpiRow], metrics: Sequence[str], link: str | None = None) -> str:
    """A Markdown table: one line per company and period, one column per metric; each number links to its evidence."""
    pairs, cells = grid(rows, metrics)
    if not pairs:
        return "(no ledger rows for these metrics yet)"
    head = "| company | period | " + " | ".join(f"{m} ({unit_label(m, rows)})" for m in metrics) + " |"
    lines = [head, "|" + "---|" * (2 + len(metrics))]
    for company, period in pairs:
        out = []
        for m in metrics:
            found = cells.get((company_key(company), period, m), [])
            values = []
            for r in found:
                text = fmt(r)
                values.append(f"[{text}]({link.format(id=r.id)})" if link else text)
                values[-1] += f" [r{r.id}]" if not link else ""
            cell = " / ".join(dict.fromkeys(values)) or "–"
            if any(r.status == "conflict" for r in found):
                cell = "⚠ " + cell + " (conflict)"
            elif found and all(r.status == "flagged" for r in found):
                cell = "⚑ " + cell + " (period unconfirmed)"
            out.append(cell)
        lines.append(f"| {company} | {period} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def dot_plot(rows: Sequence[KpiRow], metric: str):
    """A Cleveland dot plot: companies on the y axis, the metric on x, one coloured dot per period."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    pairs, cells = grid(rows, [metric])
    companies = list(dict.fromkeys(c for c, _ in pairs))
    periods = sorted({p for _, p in pairs})
    fig = Figure(figsize=(7, 0.6 * len(companies) + 1.6), dpi=110)
    ax = fig.add_subplot()
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for y, company in enumerate(companies):
        values = [
            float(display_value(r)) for p in periods for r in cells.get((company_key(company), p, metric), [])[:1]
        ]
        if len(values) > 1:
            ax.hlines(y, min(values), max(values), color="#999999", linewidth=1.2, zorder=1)
    colours = matplotlib.colormaps["viridis"].resampled(max(len(periods), 2))
    for i, period in enumerate(periods):
        xs, ys = [], []
        for y, company in enumerate(companies):
            found = cells.get((company_key(company), period, metric), [])
            if found:
                xs.append(float(display_value(found[0])))
                ys.append(y)
        ax.scatter(xs, ys, s=55, color=colours(i), label=period, zorder=3, edgecolors="white", linewidths=0.8)
    ax.set_yticks(range(len(companies)), companies)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} ({unit_label(metric, rows)})")
    ax.set_title(metric.replace("_", " "), loc="left", fontsize=11)
    ax.legend(title="period", loc="best", fontsize=8, title_fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def dot_plot_pngs(rows: Sequence[KpiRow], metrics: Sequence[str]) -> dict[str, bytes]:
    """One PNG (file name -> bytes) per metric that has values."""
    written = {}
    for metric in metrics:
        if not any(r.metric == metric and r.status != "rejected" for r in rows):
            continue
        buf = io.BytesIO()
        dot_plot(rows, metric).savefig(buf, format="png")
        written[f"dotplot_{metric}.png"] = buf.getvalue()
    return written


def _record(row: KpiRow) -> list[object]:
    return [
        row.id,
        row.company,
        row.fiscal_period,
        row.metric,
        float(row.decimal),
        row.scale,
        row.unit,
        row.currency,
        float(display_value(row)),
        row.document_id or "",
        row.page or "",
        row.quote or "",
        row.method,
        row.formula or "",
        ",".join(map(str, row.inputs or [])),
        row.status,
        row.note or "",
    ]


def ledger_csv(rows: Sequence[KpiRow]) -> bytes:
    """The ledger as CSV (value as stated plus the normalised value: currency in millions)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for r in rows:
        record = _record(r)
        record[4], record[8] = r.value, str(display_value(r))  # exact text, not float, in CSV
        writer.writerow(record)
    return buf.getvalue().encode("utf-8")


def excel_formula(row: KpiRow, line_of: dict[int, int]) -> str | None:
    """A derived row's value as an Excel formula over the normalised cells of its input rows."""
    spec = DERIVED.get(row.metric)
    if row.method != "derived" or spec is None or not row.inputs or any(i not in line_of for i in row.inputs):
        return None
    a, b = (f"{NORMALIZED_COL}{line_of[i]}" for i in row.inputs[:2])
    return {
        "sub": f"={a}-{b}",
        "add": f"={a}+{b}",
        "pct": f"={a}/{b}*100",
        "ratio": f"={a}/{b}",
        "growth_pct": f"=({a}/{b}-1)*100",
    }[spec.op]


def kpi_xlsx(rows: Sequence[KpiRow], metrics: Sequence[str]) -> bytes:
    """Ledger sheet (derived values are Excel formulas over their inputs) and Table sheet referencing it."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    wb = Workbook()
    sheet = wb.active
    sheet.title = "Ledger"
    sheet.append(COLUMNS)
    line_of = {r.id: n for n, r in enumerate(rows, start=2) if r.id is not None}
    for n, r in enumerate(rows, start=2):
        sheet.append(_record(r))
        factor = SCALES.get(r.scale, Decimal(1)) / MILLION if r.unit == "currency" else Decimal(1)
        formula = excel_formula(r, line_of)
        sheet[f"{NORMALIZED_COL}{n}"] = formula or (f"=E{n}*{factor}" if factor != 1 else f"=E{n}")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    table = wb.create_sheet("Table")
    table.append(["company", "period", *[f"{m} ({unit_label(m, rows)})" for m in metrics]])
    pairs, cells = grid(rows, metrics)
    for company, period in pairs:
        line = [company, period]
        notes: dict[int, str] = {}
        for j, m in enumerate(metrics):
            found = cells.get((company_key(company), period, m), [])
            line.append(f"=Ledger!{NORMALIZED_COL}{line_of[found[0].id]}" if found else None)
            if len(found) > 1 or any(r.status == "conflict" for r in found):
                notes[j + 3] = "conflict: ledger rows " + ", ".join(str(r.id) for r in found)
        table.append(line)
        for col, text in notes.items():
            table.cell(row=table.max_row, column=col).comment = Comment(text, "K2 Agent Hub")
    for cell in table[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def report_markdown(
    rows: Sequence[KpiRow],
    metrics: Sequence[str],
    title: str,
    summary: str,
    charts: Sequence[str],
    names: dict[str, str],
    check: SummaryCheck | None = None,
) -> bytes:
    """The Markdown report: the summary's check, the summary (unverified numbers marked), table, conflicts, charts
    and every row with its evidence or formula."""
    conflicts = [r for r in rows if r.status == "conflict"]
    check = check or check_summary(summary, rows, names)
    head = f"> **{check.header()}** (every number of the summary matched by code to a ledger row"
    head += "; unverified ones are marked ⚠)" if check.unmatched else ")"
    parts = [f"# {title}", "", head, "", check.highlighted(summary).strip(), ""]
    parts += ["## Comparison", "", comparison_markdown(rows, metrics), ""]
    if conflicts:
        parts += ["## Conflicts (flagged, not resolved)", ""]
        parts += [
            f"- row {r.id}: {r.company} {r.fiscal_period} {r.metric} = {r.value} {r.scale} "
            f"([{names.get(r.document_id or '', r.document_id)} p.{r.page}]) — {r.note or ''}"
            for r in conflicts
        ]
        parts.append("")
    if charts:
        parts += ["## Charts", ""] + [f"![{c.rsplit('.', 1)[0]}]({c})" for c in charts] + [""]
    parts += ["## Ledger", "", "| row | company | period | metric | value | source |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r.method == "derived":
            source = f"derived: {r.formula}"
        else:
            quote = (r.quote or "").replace("|", "\\|").replace("\n", " ")
            source = f"[{names.get(r.document_id or '', r.document_id)} p.{r.page}] “{quote[:160]}”"
        parts.append(f"| {r.id} | {r.company} | {r.fiscal_period} | {r.metric} | {fmt(r)} | {source} |")
    return ("\n".join(parts) + "\n").encode("utf-8")
