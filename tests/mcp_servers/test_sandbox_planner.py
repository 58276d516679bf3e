"""The sandbox end to end: fake K2 over HTTP asks the planner to run Python; the result reaches the model and the UI."""

from __future__ import annotations

from pathlib import Path

from agents.planner.runner import Agent, RunRequest
from app.ui.render import RunView
from tests.agents.conftest import agent, collect, fake_k2, of_type  # noqa: F401 - fixtures used by name
from tests.fakes.k2_server import FakeK2Server, ToolCall, Turn
from tests.mcp_servers.sandbox_support import requires_sandbox

pytestmark = requires_sandbox

TABLE_CODE = """\
import csv
rows = [("year", "revenue", "growth")]
revenue = 100.0
for year in range(2021, 2025):
    rows.append((year, round(revenue, 1), "5.0%"))
    revenue *= 1.05
with open("revenue.csv", "w", newline="") as f:
    csv.writer(f).writerows(rows)
for row in rows:
    print(" | ".join(str(c) for c in row))
"""


async def test_model_runs_python_that_writes_a_table_and_sees_stdout_and_file(
    agent: Agent, fake_k2: FakeK2Server, _isolated_home: Path  # noqa: F811
) -> None:
    fake_k2.enqueue(
        Turn(reasoning="Compute the table in the sandbox.",
             tool_calls=[ToolCall("sandbox__run_python", {"code": TABLE_CODE, "timeout_s": 30})]),
        Turn(reasoning="Read it back.", tool_calls=[ToolCall("workspace__read_file", {"path": "revenue.csv"})]),
        Turn(content="Revenue grows 5% a year; the table is in revenue.csv."),
    )
    events = await collect(agent.run(RunRequest(prompt="Tabulate revenue growing 5% a year from 2021")))
    finished = events[-1]
    assert finished.type == "run_finished" and finished.reason == "done", finished
    conversation = events[0].conversation_id
    csv_text = (_isolated_home / "workspaces" / conversation / "revenue.csv").read_bytes().decode()
    assert csv_text.splitlines()[:2] == ["year,revenue,growth", "2021,100.0,5.0%"]
    # The model got exit code, stdout and the produced file in the tool message ...
    tool_messages = [m["content"] for m in fake_k2.requests[1]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1
    result = tool_messages[0]
    assert result.startswith("run_python: exit code 0 · ")
    assert "files created: revenue.csv (" in result
    assert "year | revenue | growth\n2021 | 100.0 | 5.0%\n2022 | 105.0 | 5.0%" in result
    # ... and the workspace server sees the same file in the next step.
    assert [m["content"] for m in fake_k2.requests[2]["messages"] if m["role"] == "tool"][1] == csv_text
    # The UI's tool card shows the stdout and the file list.
    view = RunView()
    for event in events:
        view.apply(event)
    card = next(m for m in view.messages if "sandbox__run_python" in str(m.metadata.get("title", "")))
    assert card.metadata["status"] == "done"
    assert "files created: revenue.csv" in str(card.content) and "2024 | 115.8 | 5.0%" in str(card.content)
