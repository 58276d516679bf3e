"""First tasks a new user tries with the embedded model and the built-in tools, each checked by its effect
(bench_local_tools.py without --bfcl): the file exists with the content, the program's output holds the answer,
the cited page holds the number. Each task is one chat turn through the Agent (the whole app path) in a fresh
conversation.
"""

from __future__ import annotations

import dataclasses
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Check = Callable[["Outcome"], bool]


@dataclass
class Outcome:
    """What a task's turn left behind."""

    workspace: Path
    answer: str
    outputs: str  # every tool result's preview, joined
    tools: list[str]
    pages: dict[int, str] = field(default_factory=dict)  # the attached document's pages (PDF tasks)

    def file(self, name: str) -> str:
        path = self.workspace / name
        return path.read_text(errors="replace") if path.is_file() else ""


@dataclass
class Task:
    prompt: str
    check: Check
    files: dict[str, str] = field(default_factory=dict)
    pdf: str = ""  # "report": the synthetic annual report; "3m": FinanceBench's 3M 2018 10-K
    kind: str = "files"


def _out(*needles: str) -> Check:
    return lambda o: all(n.lower() in (o.outputs + "\n" + o.answer).lower() for n in needles) and bool(o.tools)


def _ran(*needles: str) -> Check:
    return lambda o: any(t.startswith("sandbox__") for t in o.tools) and all(n in o.outputs for n in needles)


def _said(*needles: str) -> Check:
    return lambda o: all(n.lower() in o.answer.lower() for n in needles)


def _cited(number: str) -> Check:
    def check(o: Outcome) -> bool:
        cited = [int(n) for n in re.findall(r"(?:p\.|page)\s*(\d+)", o.answer, re.I)]
        return number in o.answer and any(number in o.pages.get(n, "") for n in cited)
    return check


REPORT_PAGES = {3: "Revenue for fiscal 2023 was $48.2 million, up from $41.7 million in fiscal 2022.",
                6: "Operating expenses totalled $31.9 million in fiscal 2023.",
                9: "The company had 412 employees at the end of fiscal 2023.",
                11: "Capital expenditures were $5.6 million in fiscal 2023, mostly for the Lyon plant.",
                14: "Net income was $7.3 million in fiscal 2023."}

TASKS: list[Task] = [
    # Write and run code
    Task("Write a Python file primes.py that prints the first 10 primes, then run it with the sandbox",
         lambda o: "primes.py" in os.listdir(o.workspace) and "29" in o.outputs, kind="code"),
    Task("Run Python code in the sandbox that prints 17 * 23", _ran("391"), kind="code"),
    Task("Write a Python file hello.py that prints Hello, world!", lambda o: "Hello, world" in o.file("hello.py"),
         kind="code"),
    Task("Run the shell command `echo k2hub-$((6*7))` in the sandbox", _ran("k2hub-42"), kind="code"),
    Task("Use the sandbox to run Python that prints the sum of the numbers from 1 to 100", _ran("5050"), kind="code"),
    Task("Write a file fizz.py with a Python program that prints FizzBuzz for 1 to 15",
         lambda o: "Fizz" in o.file("fizz.py"), kind="code"),
    Task("Run Python in the sandbox to print the length of the string 'offline mode'", _ran("12"), kind="code"),
    Task("Write squares.py that prints the squares of 1 to 5, then run it in the sandbox",
         lambda o: bool(o.file("squares.py")) and "25" in o.outputs, kind="code"),
    Task("Run Python code in the sandbox that prints the current Python version", _ran("3."), kind="code"),
    Task("Run this Python code in the sandbox: print(sorted([5, 3, 9, 1]))", _ran("[1, 3, 5, 9]"), kind="code"),
    # Files
    Task("List the files in my workspace", _said("a.txt", "b.csv"), files={"a.txt": "x\n", "b.csv": "k,v\n"}),
    Task("Read notes.txt and tell me the code written in it", _said("7421"), files={"notes.txt": "The code is 7421.\n"}),
    Task("Create a file todo.md containing '- buy milk'", lambda o: "buy milk" in o.file("todo.md")),
    Task("Write the text 'The meeting is at 3pm' to meeting.txt", lambda o: "meeting is at 3pm" in o.file("meeting.txt")),
    Task("Delete the file old.log from my workspace", lambda o: not (o.workspace / "old.log").exists(),
         files={"old.log": "stale\n"}),
    Task("Search my workspace files for the word PINEAPPLE and tell me which file contains it", _said("fruit.txt"),
         files={"fruit.txt": "I like PINEAPPLE.\n", "veg.txt": "Carrots.\n"}),
    Task("Read config.json and tell me the value of port", _said("8080"),
         files={"config.json": '{"host": "localhost", "port": 8080}\n'}),
    Task("Make a directory named reports in my workspace", lambda o: (o.workspace / "reports").is_dir()),
    Task("Replace the contents of greeting.txt with 'Goodbye'", lambda o: o.file("greeting.txt").strip() == "Goodbye",
         files={"greeting.txt": "Hello\n"}),
    Task("Read data.csv and tell me the city in the second data row", _said("Lyon"),
         files={"data.csv": "name,city\nAna,Paris\nBo,Lyon\nCy,Nice\n"}),
    Task("Read the file secret.txt and tell me the secret word", _said("BANANA"),
         files={"secret.txt": "The secret word is BANANA.\n"}),
    Task('Write a JSON file settings.json containing {"theme": "dark"}',
         lambda o: '"dark"' in o.file("settings.json")),
    # Documents (attached; too large for the 8K window, so the app searches them first)
    Task("What was the revenue for fiscal 2023? Cite the page.", _cited("48.2"), pdf="report", kind="pdf"),
    Task("How many employees did the company have at the end of fiscal 2023? Cite the page.", _cited("412"),
         pdf="report", kind="pdf"),
    Task("What were capital expenditures in fiscal 2023? Cite the page.", _cited("5.6"), pdf="report", kind="pdf"),
    Task("What was net income in fiscal 2023? Cite the page.", _cited("7.3"), pdf="report", kind="pdf"),
    Task("What were operating expenses in fiscal 2023? Cite the page.", _cited("31.9"), pdf="report", kind="pdf"),
    Task("What was 3M's FY2018 capital expenditure (purchases of property, plant and equipment)? Cite the page.",
         _cited("1,577"), pdf="3m", kind="pdf"),
    # Skills
    Task("List the available skills", lambda o: sum(s in o.answer for s in ("data-analysis", "web-research",
                                                                            "long-pdf-reading")) >= 2, kind="skills"),
    Task("Search the skills for one about reading long PDFs", _out("long-pdf-reading"), kind="skills"),
    Task("Load the skill data-analysis and tell me what it is for",
         lambda o: any(t.startswith("skills_hub__") for t in o.tools) and "data" in o.answer.lower(), kind="skills"),
    Task("Show me the skill secure-code-review", lambda o: "secure-code-review" in o.outputs, kind="skills"),
]


def _filler(page: int) -> str:
    words = ("The company designs and sells industrial sensors in Europe and North America. "
             "Management reviews segment results quarterly and allocates resources by region. ")
    return f"Annual report 2023, page {page}.\n" + "\n".join(words for _ in range(14))


def report_pdf() -> bytes:
    from tests.mcp_servers.pdf_support import text_pdf

    return text_pdf([REPORT_PAGES.get(p, "") + "\n" + _filler(p) for p in range(1, 17)], title="Annual report 2023")


async def run_task(agent: Any, task: Task, home: Path, data: Path) -> tuple[bool, float]:
    from agents.planner.runner import RunRequest
    from mcp_servers.pdf_reader.ingest import ingest_pdf
    from storage import documents as store
    from storage import repo

    conversation = repo.create_conversation(agent.db, task.prompt[:40], "local", "qwen2.5-coder-0.5b-instruct")
    workspace = home / "workspaces" / conversation.id
    workspace.mkdir(parents=True, exist_ok=True)
    for name, text in task.files.items():
        (workspace / name).write_text(text)
    pages: dict[int, str] = {}
    if task.pdf:
        path = data / "3M_2018_10K.pdf" if task.pdf == "3m" else home / "report.pdf"
        if task.pdf == "report" and not path.exists():
            path.write_bytes(report_pdf())
        document = ingest_pdf(agent.db, path).document
        store.attach(agent.db, conversation.id, document.id)
        pages = {p.number: p.text for p in store.pages(agent.db, document.id, 1, document.page_count)}
    started = time.perf_counter()
    answer, outputs, tools = "", [], []
    async for event in agent.run(RunRequest(prompt=task.prompt, conversation_id=conversation.id)):
        if event.type == "tool_call_finished":
            tools.append(event.name)
            outputs.append(event.preview or event.error or "")
        elif event.type == "run_finished":
            answer = event.answer
    seconds = time.perf_counter() - started
    outcome = Outcome(workspace, answer, "\n".join(outputs), tools, pages)
    try:
        ok = task.check(outcome)
    except OSError:
        ok = False
    print(f"  {'ok  ' if ok else 'FAIL'} {seconds:5.1f}s [{task.kind}] {task.prompt[:70]} | tools={tools} | "
          f"answer={answer[:120]!r}", file=sys.stderr, flush=True)
    return ok, seconds


async def run_all(n: int | None) -> None:
    from agents.planner.runner import Agent
    from app.config import Settings
    from app.services import agent_config

    home = Path(os.environ["K2HUB_HOME"])
    data = next((d for d in (Path(__file__).resolve().parents[1].parent / "shared",
                             Path(__file__).resolve().parents[2].parent / "shared") if d.is_dir()),
                Path("/nonexistent")) / "data" / "financebench" / "pdfs"
    usable = [t for t in TASKS if t.pdf != "3m" or (data / "3M_2018_10K.pdf").is_file()]
    # --n N: an even spread over the kinds (every k-th task), not the first N (all of one kind).
    chosen = [usable[i * len(usable) // n] for i in range(min(n, len(usable)))] if n else usable
    config = dataclasses.replace(agent_config(Settings(home=home, provider="local")),
                                 builtin=["workspace", "sandbox", "pdf_reader", "skills_hub"])
    agent = await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")
    results: list[tuple[Task, bool, float]] = []
    try:
        for task in chosen:
            ok, seconds = await run_task(agent, task, home, data)
            results.append((task, ok, seconds))
    finally:
        await agent.aclose()
    for kind in dict.fromkeys(t.kind for t, _, _ in results):
        mine = [ok for t, ok, _ in results if t.kind == kind]
        print(f"tasks_{kind}: {sum(mine) / len(mine):.3f} ({sum(mine)}/{len(mine)})")
    print(f"tasks_success: {sum(ok for _, ok, _ in results) / len(results):.3f} "
          f"({sum(ok for _, ok, _ in results)}/{len(results)})")
    print(f"tasks_median_seconds: {statistics.median(s for _, _, s in results):.1f}")
