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

from storage import repo
from storage.db import Database
from tests.app.scale_out_support import child_env, finish_all, start_ask, tool_results
from tests.fakes.k2_server import FakeK2Server
from tests.fakes.tool_script import script_prompt, script_responder
from tests.mcp_servers.pdf_support import text_pdf
from tests.pg_cluster import new_database
from tests.storage.conftest import pg_url  # noqa: F401 - the throwaway cluster fixture

# A hang (the bug this guards against held every process for its whole timeout) must fail, not stall the suite.
TURN_TIMEOUT_S = 300


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


@pytest.mark.timeout(TURN_TIMEOUT_S + 60)
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


@pytest.mark.timeout(2 * TURN_TIMEOUT_S + 60)
def test_a_document_and_a_file_from_process_a_are_served_by_process_b(
    empty_pg: str, scripted_k2: FakeK2Server, tmp_path: Path
):
    workspaces = tmp_path / "shared-workspaces"
    database = Database(empty_pg)
    try:
        conversation = repo.create_conversation(database, "shared").id
    finally:
        database.close()
    (workspaces / conversation).mkdir(parents=True)
    report = text_pdf(["Annual report 2031", "Revenue was 4,321 million in fiscal 2031.\nZebra margin grew."])
    (workspaces / conversation / "report.pdf").write_bytes(report)
    home_a, home_b = tmp_path / "machine-a", tmp_path / "machine-b"
    servers = "workspace,pdf_reader"

    script_a = script_prompt([("workspace__write_file", {"path": "notes/from-a.txt", "content": "written on A"}),
                              ("pdf_reader__ingest", {"path": "report.pdf"})])  # fmt: skip
    proc = start_ask(child_env(home_a, empty_pg, workspaces, servers), scripted_k2.url, script_a, conversation)
    code, events, err = finish_all([proc], TURN_TIMEOUT_S)[0]
    assert code == 0, err[-3000:]
    assert all(e["error"] is None for e in tool_results(events).values()), tool_results(events)
    # Machine A goes away with its data home, and the uploaded file leaves the workspace: B has only the database.
    shutil.rmtree(home_a)
    (workspaces / conversation / "report.pdf").unlink()

    script_b = script_prompt([("workspace__list_files", {"path": "notes"}),
                              ("pdf_reader__read_pages", {"doc": "report.pdf", "first": 2}),
                              ("pdf_reader__search", {"query": "zebra margin"}),
                              ("pdf_reader__page_image", {"doc": "report.pdf", "page": 2})])  # fmt: skip
    proc = start_ask(child_env(home_b, empty_pg, workspaces, servers), scripted_k2.url, script_b, conversation)
    code, events, err = finish_all([proc], TURN_TIMEOUT_S)[0]
    assert code == 0, err[-3000:]
    results = tool_results(events)
    assert all(e["error"] is None for e in results.values()), results
    assert "from-a.txt" in results["workspace__list_files"]["preview"]
    assert "4,321 million" in results["pdf_reader__read_pages"]["preview"]
    assert "p. 2" in results["pdf_reader__search"]["preview"]
    # The page was rendered on B from the bytes A stored: B now keeps a verified copy of its own.
    kept = list((home_b / "documents").iterdir())
    assert [p.read_bytes() for p in kept] == [report]
