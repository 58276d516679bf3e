"""Each built-in skill tried end to end: the fake K2 loads it through the hub and follows a step with a real tool.

What is proven per skill: the run's system prompt lists it for a matching request, the skill body reaches the model
as the load_skill result, the step's real tool (workspace, sandbox, PDF reader, skills hub) succeeds with the
expected output, and the run records name@version.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from agents.planner.runner import Agent, RunRequest
from skills import skillmd
from skills.registry import BUILTIN_DIR
from storage import repo
from tests.agents.conftest import agent, collect, fake_k2, of_type  # noqa: F401 - fixtures used by name
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.sandbox_support import requires_sandbox
from tests.helpers import requires


@dataclass
class Scenario:
    skill: str
    prompt: str
    calls: list[ToolCall]  # the step(s) taken after loading, one model turn each
    check: Callable[[list[str]], None]  # on the step results, in order
    results: list[str] = field(default_factory=list)


def _step(call: ToolCall) -> Turn:
    return Turn(reasoning=f"Following the skill: {call.name}.", tool_calls=[call])


async def _try(agent: Agent, fake: FakeK2Server, sc: Scenario) -> None:  # noqa: F811
    skill = skillmd.parse((BUILTIN_DIR / sc.skill / "SKILL.md").read_bytes())
    version = skill.version
    fake.reset()
    fake.enqueue(
        Turn(reasoning="A skill fits.", tool_calls=[ToolCall("skills_hub__load_skill", {"name": sc.skill})]),
        *[_step(c) for c in sc.calls],
        Turn(content=f"Done following {sc.skill}."),
    )
    events = await collect(agent.run(RunRequest(prompt=sc.prompt)))
    finished = events[-1]
    assert finished.reason == "done", (sc.skill, finished)
    system = fake.requests[0]["messages"][0]["content"]
    assert f"- {sc.skill} ({version}):" in system, f"{sc.skill} not listed for {sc.prompt!r}"
    loaded = next(m["content"] for m in fake.requests[1]["messages"] if m["role"] == "tool")
    # The whole body reached the model (not a summary), under the version line.
    assert loaded.startswith(f"skill: {sc.skill}@{version}") and skill.body.strip() in loaded
    done = of_type(events, "tool_call_finished")
    assert [e.name for e in done] == ["skills_hub__load_skill", *[c.name for c in sc.calls]]
    assert all(e.error is None for e in done), [(e.name, e.error) for e in done]
    # What the model saw of each step (the full view, not the UI preview).
    seen = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"][1:]
    sc.check(seen)
    assert finished.skills_used == [f"{sc.skill}@{version}"]
    assert repo.get_run(agent.db, finished.run_id).skills_used == [f"{sc.skill}@{version}"]


def _script(skill: str, path: str) -> str:
    return (BUILTIN_DIR / skill / path).read_text(encoding="utf-8")


async def test_document_skills(agent: Agent, fake_k2: FakeK2Server) -> None:  # noqa: F811
    if "pdf_reader__list_documents" not in {t["function"]["name"] for t in agent.hub.tools()}:
        pytest.skip("the pdf_reader server is not available in this checkout")
    await _try(
        agent,
        fake_k2,
        Scenario(
            "web-research",
            "Research on the web who maintains GnuCOBOL, with citations",
            [
                ToolCall(
                    "workspace__write_file",
                    {
                        "path": "sources.md",
                        "content": "[1] GnuCOBOL, https://gnucobol.sourceforge.io (accessed 2025-01-31)\n",
                    },
                )
            ],
            lambda seen: None,
        ),
    )
    await _try(
        agent,
        fake_k2,
        Scenario(
            "long-pdf-reading",
            "Summarise the long annual report PDF and cite pages",
            [ToolCall("pdf_reader__list_documents", {})],
            lambda seen: None,
        ),
    )


@requires_sandbox
async def test_sandbox_skills(agent: Agent, fake_k2: FakeK2Server) -> None:  # noqa: F811
    margin = (
        "from decimal import Decimal\n"
        "operating_income, revenue = Decimal('2284'), Decimal('12480')  # USD millions, p. 52\n"
        "print(f'operating margin = {operating_income} / {revenue} = {operating_income / revenue:.1%}')\n"
    )

    def margin_printed(seen: list[str]) -> None:
        assert "operating margin = 2284 / 12480 = 18.3%" in seen[0]

    await _try(
        agent,
        fake_k2,
        Scenario(
            "financial-kpi-extraction",
            "Extract revenue and operating margin from the 10-K annual report",
            [ToolCall("sandbox__run_python", {"code": margin})],
            margin_printed,
        ),
    )

    app = (
        "import pickle, subprocess\n"
        "def view(cur, name, blob):\n"
        "    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n"
        "    subprocess.run('ls ' + name, shell=True)\n"
        "    return pickle.loads(blob)\n"
    )
    scanner = _script("secure-code-review", "scripts/scan_python.py")

    def findings(seen: list[str]) -> None:
        assert seen[1] == scanner  # read_skill_file returned the script unchanged
        assert "app.py:3: sql-injection" in seen[3] and "app.py:4: command-injection" in seen[3]
        assert "app.py:5: deserialization" in seen[3] and "3 finding(s)" in seen[3]

    await _try(
        agent,
        fake_k2,
        Scenario(
            "secure-code-review",
            "Do a security review of the Python code in my workspace",
            [
                ToolCall("workspace__write_file", {"path": "app.py", "content": app}),
                ToolCall(
                    "skills_hub__read_skill_file", {"name": "secure-code-review", "path": "scripts/scan_python.py"}
                ),
                ToolCall("workspace__write_file", {"path": ".k2hub/scan_python.py", "content": scanner}),
                ToolCall("sandbox__run_shell", {"command": "python3 .k2hub/scan_python.py ."}),
            ],
            findings,
        ),
    )

    chart = (
        "import csv\nfrom collections import defaultdict\n"
        "from analysis.svg_chart import bar_chart\n"
        "totals = defaultdict(float)\n"
        "for row in csv.DictReader(open('sales.csv')):\n"
        "    totals[row['month']] += float(row['amount'])\n"
        "bar_chart('analysis/revenue_by_month.svg', list(totals), list(totals.values()), 'Revenue by month')\n"
        "for month, total in totals.items():\n    print(month, total)\n"
    )

    def charted(seen: list[str]) -> None:
        assert "Jan 150.0\nFeb 75.5" in seen[3]
        assert "files created: analysis/revenue_by_month.svg" in seen[3]

    await _try(
        agent,
        fake_k2,
        Scenario(
            "data-analysis",
            "Analyse sales.csv and chart monthly revenue",
            [
                ToolCall(
                    "workspace__write_file",
                    {"path": "sales.csv", "content": "month,amount\nJan,100\nJan,50\nFeb,75.5\n"},
                ),
                ToolCall("skills_hub__read_skill_file", {"name": "data-analysis", "path": "scripts/svg_chart.py"}),
                ToolCall(
                    "workspace__write_file",
                    {"path": "analysis/svg_chart.py", "content": _script("data-analysis", "scripts/svg_chart.py")},
                ),
                ToolCall("sandbox__run_python", {"code": chart}),
            ],
            charted,
        ),
    )


HELLO = """IDENTIFICATION DIVISION.
PROGRAM-ID. HELLO.
PROCEDURE DIVISION.
    DISPLAY "TOTAL 00042".
    STOP RUN.
"""


@requires_sandbox
@requires(shutil.which("cobc") is not None, "needs GnuCOBOL (apt-get install gnucobol)")
async def test_cobol_migration_skill_takes_the_baseline(agent: Agent, fake_k2: FakeK2Server) -> None:  # noqa: F811
    def baseline(seen: list[str]) -> None:
        assert "TOTAL 00042" in seen[1]

    await _try(
        agent,
        fake_k2,
        Scenario(
            "cobol-to-go-migration",
            "Migrate this COBOL program to Go",
            [
                ToolCall("workspace__write_file", {"path": "src/hello.cbl", "content": HELLO}),
                ToolCall("sandbox__cobol", {"sources": ["src/hello.cbl"], "flags": ["-free"]}),
            ],
            baseline,
        ),
    )
