"""Analysis MCP server: the evidence-backed KPI ledger, derived metrics by code, comparison table, charts, exports.

Every reported value is checked by code against the text of the cited page; arithmetic is exact Decimal; files
are written to the conversation's workspace under analysis/.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.common import cli, safe_files
from mcp_servers.common.adapter import Tools, conversation, workspace
from mcp_servers.common.database import DatabaseState, database
from mcp_servers.common.annotations import ADDITIVE, READ_ONLY, REPLACES
from mcp_servers.analysis import kpi, export
from mcp_servers.analysis.summary_check import check_summary
from mcp_servers.analysis.kpi_vocab import DERIVED, REPORTED, check_metric, describe, normalize_period, plan
from mcp_servers.common.paths import library_dirs, workspace_root
from mcp_servers.pdf_reader.ingest import local_pdf
from mcp_servers.pdf_reader.layout import PageLayout, page_layout
from storage import documents, ledger, repo
from storage.db import Database
from storage.models import Conversation

RUN_META_KEY = "k2hub/run"
OUTPUT_DIR = "analysis"
# Where the UI serves the page viewer; numbers in the comparison table link there.
EVIDENCE_LINK = "/k2hub/evidence/{id}"

Metrics = Annotated[list[str], Field(description="Metric names, reported or derived, e.g. ['revenue', 'fcf']")]
Filter = Annotated[list[str] | None, Field(description="Only these (omit for all)")]


tools = Tools()


@dataclass
class AnalysisState(DatabaseState):
    """The app's database and the conversations known to have a row in it."""

    seen: set[str] = field(default_factory=set)


def create_server(root: str | os.PathLike[str] | None = None, database_url: str | None = None) -> MCPServer:
    """Build the analysis server over the app's database and the per-conversation workspaces under root."""
    state = AnalysisState(workspace_root(root), database_url)
    server = MCPServer(
        "analysis",
        instructions="KPI ledger for comparing financial reports. record_kpi stores one value with the page and "
        "verbatim quote it comes from (checked by code); derive computes margins, growth, FCF and ratios from "
        "ledger rows; compare shows the table; report writes charts, CSV, XLSX and a Markdown report.\n" + describe(),
        lifespan=state.lifespan(),
    )
    return tools.register(server)


@tools.tool(annotations=ADDITIVE)
def record_kpi(
    ctx: Context,
    company: Annotated[str, Field(description="Company name, the same spelling for all its rows, e.g. '3M'")],
    fiscal_period: Annotated[str, Field(description="Fiscal year of the value, e.g. 'FY2022'")],
    metric: Annotated[str, Field(description="Canonical metric name, e.g. 'revenue', 'capex', 'total_debt'")],
    value: Annotated[
        str, Field(description="The number exactly as printed, in the page's scale: '1,577', '(370)', '8.70'")
    ],
    scale: Annotated[str, Field(description="Scale stated on the page: units, thousands, millions, billions")],
    currency: Annotated[str, Field(description="ISO currency of amounts, e.g. 'USD' ('' for ratios/counts)")],
    document: Annotated[str, Field(description="Document id (or its first 8 characters, or its filename)")],
    page: Annotated[int, Field(ge=1, description="1-based page number where the quote is")],
    quote: Annotated[
        str,
        Field(
            description="Verbatim text from that page holding the line item and the "
            "number, e.g. 'Purchases of property, plant and equipment (1,577)'"
        ),
    ],
) -> str:
    """Record one KPI value with its evidence: the quote must be on the cited page, its row label must name the
        metric, and the number's column header (or its sentence's year) must be the fiscal period."""
    cid, run = _where(ctx)
    db = database(ctx)
    # Only this conversation's documents (and the user's library) can be cited, never another conversation's.
    within = {d.id for d in documents.conversation_documents(db, cid)}
    within |= {d.id for d in documents.library_documents(db, library_dirs())}
    doc = documents.get_document(db, document, within=within)
    if doc is None:
        raise ToolError(f"no document {document!r} in this conversation: use the id the PDF reader gave for the "
                        "report")
    claim = kpi.Claim(company, fiscal_period, metric, value, scale, currency, doc.id, page, quote)
    try:
        return kpi.record(db, cid, run, claim, lambda d, n: documents.page_text(db, d, n), _layout_of(db))
    except kpi.Rejected as err:
        raise ToolError(f"REJECTED, not recorded: {err}. Fix it and call record_kpi again.") from None


@tools.tool(annotations=READ_ONLY)
def plan_metrics(metrics: Metrics) -> str:
    """JSON: which metrics to record from the reports and which to derive (inputs first), unknown names refused."""
    try:
        return json.dumps(plan(metrics))
    except ValueError as err:
        raise ToolError(str(err)) from None


@tools.tool(annotations=READ_ONLY)
def get_ledger(
    ctx: Context,
    companies: Filter = None,
    metrics: Filter = None,
    periods: Filter = None,
    include_rejected: Annotated[bool, Field(description="Also list rejected attempts and why")] = False,
) -> str:
    """List ledger rows: id, company, period, metric, value, scale, source page or formula, status."""
    cid, _ = _where(ctx)
    db = database(ctx)
    found = ledger.rows(
        db,
        cid,
        include_rejected=include_rejected,
        metrics=metrics,
        companies=companies,
        periods=[normalize_period(p) for p in periods or []] or None,
    )
    if not found:
        return "the ledger is empty for this filter"
    names = _doc_names(db, found)
    lines = [f"{len(found)} row(s)"]
    for r in found:
        source = (
            f"derived: {r.formula}"
            if r.method == "derived"
            else f"[{names.get(r.document_id or '', r.document_id)} p.{r.page}]"
        )
        extra = f" — {r.note}" if r.note and r.status != "verified" else ""
        lines.append(
            f"row {r.id} {r.status}: {r.company} {r.fiscal_period} {r.metric} = {r.value} "
            f"{r.currency} {r.scale} {source}{extra}"
        )
    return "\n".join(lines)


@tools.tool(annotations=ADDITIVE)
def derive(
    ctx: Context,
    metric: Annotated[str, Field(description="Derived metric: " + ", ".join(DERIVED))],
    companies: Filter = None,
    periods: Filter = None,
) -> str:
    """Compute a derived metric by code from ledger rows (scales normalised first); shows each formula."""
    cid, run = _where(ctx)
    try:
        return "\n".join(kpi.derive(database(ctx), cid, run, metric, companies, periods))
    except (ValueError, kpi.Rejected) as err:
        raise ToolError(str(err)) from None


@tools.tool(annotations=READ_ONLY)
def compare(ctx: Context, metrics: Metrics, companies: Filter = None, periods: Filter = None) -> str:
    """The comparison table (Markdown; currency in millions); every number links to its page and quote."""
    cid, _ = _where(ctx)
    names = _check_metrics(metrics)
    found = ledger.rows(
        database(ctx), cid, companies=companies, periods=[normalize_period(p) for p in periods or []] or None
    )
    return export.comparison_markdown(found, names, link=EVIDENCE_LINK)


@tools.tool(annotations=REPLACES)
def report(
    ctx: Context,
    metrics: Metrics,
    summary: Annotated[
        str,
        Field(
            description="Executive summary in Markdown; cite every number with its ledger row as [r12] (ids from "
            "get_ledger); every number is checked by code against the ledger"
        ),
    ],
    title: Annotated[str, Field(description="Report title")] = "KPI comparison",
) -> str:
    """Write dot-plot PNGs, ledger CSV, XLSX (formulas kept) and report.md to the workspace's analysis/ folder."""
    cid, _ = _where(ctx)
    db = database(ctx)
    names = _check_metrics(metrics)
    found = ledger.rows(db, cid)
    if not found:
        raise ToolError("the ledger is empty: record values with record_kpi first")
    charts = export.dot_plot_pngs(found, names)
    doc_names = _doc_names(db, found)
    check = check_summary(summary, found, doc_names)
    files = {
        **charts,
        "ledger.csv": export.ledger_csv(found),
        "kpi_comparison.xlsx": export.kpi_xlsx(found, names),
        "report.md": export.report_markdown(found, names, title, summary, list(charts), doc_names, check),
    }
    ws = workspace(ctx)
    for name, data in files.items():  # sandboxed code may have planted links here: the safe layer refuses them
        safe_files.write_bytes(ws, f"{OUTPUT_DIR}/{name}", data)
    listing = "\n".join(f"- {OUTPUT_DIR}/{name} ({cli.human_size(len(data))})" for name, data in files.items())
    table = export.comparison_markdown(found, names, link=EVIDENCE_LINK)
    verdict = f"Summary check: {check.header()}."
    if check.unmatched:
        verdict += (
            " Not in the ledger (marked ⚠ in report.md): " + ", ".join(n.text for n in check.unmatched)
            + ". Correct them, cite their ledger rows as [rN], or derive them, then call report again."
        )
    return f"{verdict}\n\nFiles written (in the conversation workspace; download them from the Files panel under the chat):\n{listing}\n\n{table}"


def _where(ctx: Context) -> tuple[str, str | None]:
    """The conversation of the call (given a row if it is new) and the run, when it is a run of this database."""
    state, db = AnalysisState.of(ctx), database(ctx)
    meta = ctx.request_context.meta or {}
    run = meta.get(RUN_META_KEY)
    # Rows name the run that wrote them only when it is a run of this database (others may call the server).
    known = isinstance(run, str) and repo.get_run(db, run) is not None
    cid = conversation(ctx)
    if cid not in state.seen and repo.get_conversation(db, cid) is None:
        # A client outside the app (Claude Desktop, an inspector) still gets a ledger of its own.
        with db.session() as s:
            s.merge(Conversation(id=cid, title=f"analysis ({cid})"))
    state.seen.add(cid)
    return cid, run if known else None


def _layout_of(db: Database) -> kpi.LayoutOf:
    """Character boxes of a stored document's page, read from its kept original PDF (None when it is gone)."""

    def read(document_id: str, number: int) -> PageLayout | None:
        doc = documents.get_document(db, document_id)
        # Another app process may have ingested it: with PostgreSQL the bytes come from the database.
        path = local_pdf(db, doc) if doc is not None else None
        return page_layout(path, number) if path is not None else None

    return read


def _check_metrics(metrics: list[str]) -> list[str]:
    out = []
    for m in metrics:
        try:
            out.append(check_metric(m, derived=m.strip().lower() in DERIVED))
        except ValueError as err:
            raise ToolError(str(err)) from None
    return [m for m in out if m in REPORTED or m in DERIVED]


def _doc_names(db: Database, rows: list[ledger.KpiRow]) -> dict[str, str]:
    names = {}
    for doc_id in {r.document_id for r in rows if r.document_id}:
        doc = documents.get_document(db, doc_id)
        names[doc_id] = Path(doc.filename).stem if doc else doc_id[:8]
    return names


def main(argv: list[str] | None = None) -> None:
    """Run the analysis server on stdio, or on streamable HTTP with --http PORT."""
    cli.workspace_main("K2 Agent Hub KPI analysis MCP server", create_server, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
