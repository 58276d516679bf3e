"""report(): dot-plot PNGs, CSV, XLSX (derived values as formulas over ledger cells) and report.md, read back."""

from __future__ import annotations

import csv
import io
import struct
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mcp_servers.analysis import export
from mcp_servers.analysis.server import create_server
from storage import ledger
from tests.mcp_servers.conftest import connect
from tests.mcp_servers.kpi_support import Library, ingest_reports

# (report, page, metric, value, period, company, quote): AMAZON_2019_10K p.38 / p.37 and 3M_2018_10K p.60 (millions).
ROWS = [
    ("AMAZON_2019_10K", 38, "revenue", "280,522", "FY2019", "Amazon", "Total net sales 177,866 232,887 280,522"),
    ("AMAZON_2019_10K", 38, "revenue", "232,887", "FY2018", "Amazon", "Total net sales 177,866 232,887 280,522"),
    (
        "AMAZON_2019_10K",
        37,
        "cfo",
        "38,514",
        "FY2019",
        "Amazon",
        "Net cash provided by (used in) operating activities 18,365 30,723 38,514",
    ),
    (
        "AMAZON_2019_10K",
        37,
        "capex",
        "(16,861)",
        "FY2019",
        "Amazon",
        "Purchases of property and equipment (11,955) (13,427) (16,861)",
    ),
    (
        "3M_2018_10K",
        60,
        "cfo",
        "6,439",
        "FY2018",
        "3M",
        "Net cash provided by (used in) operating activities 6,439 6,240 6,662",
    ),
    (
        "3M_2018_10K",
        60,
        "capex",
        "(1,577)",
        "FY2018",
        "3M",
        "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)",
    ),
]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return ingest_reports(tmp_path_factory, ("AMAZON_2019_10K", "3M_2018_10K"))


async def test_report_files_open_and_hold_the_ledger(library: Library, tmp_path: Path) -> None:
    conv = library.conversation()
    async with connect(create_server(tmp_path, database_url=library.db.url)) as tools:
        for report, page, metric, value, period, company, quote in ROWS:
            await tools.ok(
                "record_kpi",
                conv,
                company=company,
                fiscal_period=period,
                metric=metric,
                value=value,
                scale="millions",
                currency="USD",
                document=library.ids[report],
                page=page,
                quote=quote,
            )
        await tools.ok("derive", conv, metric="fcf")
        text = await tools.ok(
            "report",
            conv,
            metrics=["revenue", "cfo", "fcf"],
            title="Amazon vs 3M",
            # One number traces to the ledger (FCF 21,653 = 38,514 − 16,861); the other is invented.
            summary="Amazon's FY2019 FCF was 21,653 [AMAZON_2019_10K p.37]; its net margin was 7.1%.",
        )
    folder = tmp_path / conv / "analysis"
    for name in (
        "dotplot_revenue.png",
        "dotplot_cfo.png",
        "dotplot_fcf.png",
        "ledger.csv",
        "kpi_comparison.xlsx",
        "report.md",
    ):
        assert f"analysis/{name}" in text and (folder / name).stat().st_size > 0
    rows = ledger.rows(library.db, conv)
    line = {(r.company, r.fiscal_period, r.metric): n for n, r in enumerate(rows, start=2)}

    png = (folder / "dotplot_fcf.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 500 and height >= 150

    wb = load_workbook(folder / "kpi_comparison.xlsx")
    sheet = wb["Ledger"]
    amzn_fcf, cfo, capex = (line[("Amazon", "FY2019", m)] for m in ("fcf", "cfo", "capex"))
    assert sheet[f"D{amzn_fcf}"].value == "fcf" and sheet[f"E{amzn_fcf}"].value == 21653
    assert sheet[f"I{amzn_fcf}"].value == f"=I{cfo}-I{capex}"  # a real formula over the ledger cells
    assert sheet[f"E{cfo}"].value == 38514 and sheet[f"I{cfo}"].value == f"=E{cfo}"
    assert sheet[f"K{cfo}"].value == 37 and "38,514" in sheet[f"L{cfo}"].value
    table = wb["Table"]
    header = [c.value for c in table[1]]
    assert header == ["company", "period", "revenue (USD m)", "cfo (USD m)", "fcf (USD m)"]
    by_key = {(r[0].value, r[1].value): [c.value for c in r[2:]] for r in table.iter_rows(min_row=2)}
    assert by_key[("Amazon", "FY2019")] == [
        f"=Ledger!I{line[('Amazon', 'FY2019', m)]}" for m in ("revenue", "cfo", "fcf")
    ]
    assert by_key[("3M", "FY2018")][0] is None  # no revenue recorded for 3M

    records = list(csv.DictReader(io.StringIO((folder / "ledger.csv").read_text(encoding="utf-8"))))
    assert {(r["company"], r["metric"], r["value"]) for r in records} >= {
        ("3M", "fcf", "4862"),
        ("Amazon", "capex", "16861"),
    }
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "# Amazon vs 3M" in report and "![dotplot_fcf](dotplot_fcf.png)" in report
    assert "[AMAZON_2019_10K p.37]" in report and "cfo − capex" in report
    assert "**1 of 2 numbers verified against the ledger**" in report and "**⚠ 7.1% (unverified)**" in report
    assert text.startswith("Summary check: 1 of 2 numbers verified") and "7.1%" in text.split("\n")[0]

    fig = export.dot_plot(rows, "fcf")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3M", "Amazon"]
    points = {c.get_label(): [tuple(p) for p in c.get_offsets()] for c in ax.collections if c.get_label()[:2] == "FY"}
    assert points == {"FY2018": [(4862.0, 0.0)], "FY2019": [(21653.0, 1.0)]}
    assert ax.get_xlabel() == "fcf (USD m)"
