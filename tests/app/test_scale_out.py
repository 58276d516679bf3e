"""Several app processes on one PostgreSQL: started together on an empty database, and any process serving any
conversation (documents, page images, workspace files). Skipped without PostgreSQL.

Each process is `python -m app.cli ask --json` with a data home of its own, as on another machine; they share
DATABASE_URL and K2HUB_WORKSPACE_ROOT only. The fake K2 server plays each prompt's own script of tool calls.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.scale_out_support import child_env, finish_all, start_ask, tool_results
from tests.fakes.k2_server import FakeK2Server
from tests.fakes.tool_script import script_prompt, script_responder
from tests.pg_cluster import new_database
from tests.storage.conftest import pg_url  # noqa: F401 - the throwaway cluster fixture

# A hang (the bug this guards against held every process for its whole timeout) must fail, not stall the suite.
TURN_TIMEOUT_S = 120


@pytest.fixture
def scripted_k2() -> Iterator[FakeK2Server]:
    """A fake K2 answering every conversation from its prompt's script, whatever the interleaving."""
    with FakeK2Server(responder=script_responder()) as server:
        yield server


@pytest.fixture
def empty_pg(pg_url: str) -> Iterator[str]:  # noqa: F811 - the imported fixture
    """A new database with no tables at all."""
    with new_database(pg_url) as url:
        yield url


def test_four_processes_started_together_on_an_empty_database_each_finish_a_tool_turn(
    empty_pg: str, scripted_k2: FakeK2Server, tmp_path: Path
):
    workspaces = tmp_path / "shared-workspaces"
    procs = []
    for i in range(4):
        env = child_env(tmp_path / f"home{i}", empty_pg, workspaces, "workspace")
        prompt = script_prompt([("workspace__write_file", {"path": f"p{i}.txt", "content": f"from process {i}"})])
        procs.append(start_ask(env, scripted_k2.url, prompt))
    outcomes = finish_all(procs, TURN_TIMEOUT_S)
    for i, (code, events, err) in enumerate(outcomes):
        assert code is not None, f"process {i} hung for {TURN_TIMEOUT_S} s:\n{err[-3000:]}"
        assert code == 0, f"process {i} failed ({code}):\n{err[-3000:]}"
        written = tool_results(events)["workspace__write_file"]
        assert written["error"] is None, written
        assert events[-1]["type"] == "run_finished" and events[-1]["reason"] == "done"
        conversation = events[0]["conversation_id"]
        assert (workspaces / conversation / f"p{i}.txt").read_text() == f"from process {i}"
