"""How much pre-retrieval adds to a small model's turn: the app's search of the attached documents with the user's
question before the first model call (agents/policy/pre_retrieval.top_pages, through the hub's pdf_reader server,
exactly as the runner calls it). Target (issue 17): ≤ 100 ms.

    python benchmarks/bench_pre_retrieval.py [--pause S]

Measured in one run, with the app's own Agent (built-in workspace and pdf_reader servers; no model is loaded):
  pre_retrieval_first_at_once_ms     a 10-K uploaded (ingested and attached in the app process, as the UI does) and
                                     asked about at once: its first search
  pre_retrieval_first_after_pause_ms another 10-K, asked about --pause seconds after it was attached (a user typing)
  pre_retrieval_median_ms            later questions on a document already searched (median of 10)
  cold_first_search_ms               baseline: the first search of the same document in a fresh process with nothing
                                     loaded and the index built, not loaded (pdf_reader.search_pages alone: what the
                                     first search cost before the server indexed attached documents ahead, see
                                     mcp_servers/pdf_reader/warm.py, and before ingest stored the index)
and the ratios of the first two against that baseline. Uses FinanceBench's 3M 2018 and Amazon 2017 10-Ks from
../shared/data (the synthetic report of benchmarks/local_tasks.py when they are absent). Prints `name: value` lines
and the load average, since the 2 cores may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.planner.runner import Agent  # noqa: E402
from agents.policy import pre_retrieval  # noqa: E402
from agents.policy.context import DocumentRef  # noqa: E402
from app.config import Settings  # noqa: E402
from app.services import agent_config  # noqa: E402
from storage import documents as store  # noqa: E402
from storage import repo  # noqa: E402

DATA = next((d for d in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if d.is_dir()),
            ROOT.parent / "shared") / "data" / "financebench" / "pdfs"
QUESTIONS = [
    "What was the capital expenditure in the latest fiscal year? Cite the page.",
    "What was net income in the latest fiscal year?",
    "How much cash and cash equivalents did the company hold at year end?",
    "What were total revenues (net sales) for the year?",
    "What was research and development expense?",
]
BUDGET_TOKENS = 1500  # the runner's PRE_RETRIEVAL_TOKENS order of size; the search is the cost, not the cut
COLD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from storage.db import Database
from mcp_servers.pdf_reader.search import search_pages
from storage import page_indexes
page_indexes.load = lambda *_: None  # the index built by this search, as before ingest stored it
page_indexes.save = lambda *_: None
db = Database(sys.argv[2])
started = time.perf_counter()
search_pages(db, sys.argv[4], [sys.argv[3]], k=6)
print(round((time.perf_counter() - started) * 1000, 1))
"""


def _pdfs(home: Path) -> list[Path]:
    real = [DATA / "3M_2018_10K.pdf", DATA / "AMAZON_2017_10K.pdf"]
    if all(p.is_file() for p in real):
        return real
    from benchmarks.local_tasks import report_pdf

    out = []
    for n in (1, 2):  # two different files (the id is the content's hash)
        path = home / f"report{n}.pdf"
        path.write_bytes(report_pdf() + b"\n%" + str(n).encode())
        out.append(path)
    return out


async def _upload(agent: Agent, path: Path) -> tuple[str, DocumentRef]:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    document = await asyncio.to_thread(lambda: ingest_pdf(agent.db, path).document)
    conversation = repo.create_conversation(agent.db, path.stem, "local", "qwen2.5-coder-0.5b-instruct")
    store.attach(agent.db, conversation.id, document.id)
    return conversation.id, DocumentRef(document.id, document.title, document.page_count, document.token_count)


async def _ask(agent: Agent, conversation: str, doc: DocumentRef, question: str) -> float:
    found = await pre_retrieval.top_pages(agent.hub, agent.db, conversation, "bench", question, [doc], BUDGET_TOKENS)
    if not found.pages:
        raise SystemExit(f"no page found for {question!r}: the benchmark measures nothing")
    return found.seconds * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between attaching and asking (2nd document)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-pre-"))
    url = f"sqlite:///{home}/k2hub.db"
    config = dataclasses.replace(agent_config(Settings(home=home, provider="local")), builtin=["workspace", "pdf_reader"])
    agent = await Agent.open(config, database_url=url)
    try:
        first, second = _pdfs(home)
        conversation, doc = await _upload(agent, first)
        at_once = await _ask(agent, conversation, doc, QUESTIONS[0])
        other_conversation, other = await _upload(agent, second)
        await asyncio.sleep(args.pause)
        after_pause = await _ask(agent, other_conversation, other, QUESTIONS[0])
        warm = [await _ask(agent, conversation, doc, q) for q in QUESTIONS * 2]
    finally:
        await agent.aclose()
    cold_runs = [float(subprocess.run([sys.executable, "-c", COLD, str(ROOT), url, doc.id, QUESTIONS[0]],
                                      capture_output=True, text=True, check=True, timeout=600).stdout.split()[-1])
                 for _ in range(2)]
    cold = statistics.median(cold_runs)
    print(f"documents: {first.name} ({doc.pages} pages), {second.name} ({other.pages} pages)")
    print(f"pre_retrieval_first_at_once_ms: {at_once:.0f}")
    print(f"pre_retrieval_first_after_pause_ms: {after_pause:.0f} (asked {args.pause:g} s after attaching)")
    print(f"pre_retrieval_median_ms: {statistics.median(warm):.0f} (max {max(warm):.0f}, {len(warm)} questions)")
    print(f"cold_first_search_ms: {cold:.0f} (median of {len(cold_runs)} fresh processes)")
    print(f"pre_retrieval_first_at_once_vs_cold: {at_once / cold:.2f}")
    print(f"pre_retrieval_first_after_pause_vs_cold: {after_pause / cold:.2f}")
    print("load_average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    asyncio.run(main())
