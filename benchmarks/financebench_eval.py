"""FinanceBench end to end: `python benchmarks/financebench_eval.py --model PRESET [--part report] [--limit N]`.

Every question runs through the full app (planner, pdf_reader, analysis) with its filing attached, as a user would
ask it; the answer is scored (benchmarks/financebench_scoring.py): numeric golds by value within --tolerance after
scale normalisation, text golds by a judge model (--judge PRESET, default the answering preset; its prompt is
benchmarks/financebench_judge.md). Citation accuracy: a page the answer cites is an evidence page. Cost: the runs'
and the judge's provider-reported usage. Results are given per part of the fixed split
(benchmarks/financebench_split.py; the tuning part is in-sample for retrieval). `--model local` runs the same
pipeline on the embedded local model (slow on 2 cores; its quality is not the point, the harness is).
Without --model only retrieval is scored (search_pages over the question's filing: top-1 page and hit@k).

DIR (--data) holds pdfs/ and questions.jsonl (default: ../shared/data/financebench next to the repository).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.financebench_scoring import (
    cited_pages,
    is_numeric,
    judge_messages,
    judge_verdict,
    non_answer,
    numeric_match,
)
from benchmarks.financebench_split import DATA, Question, load_questions


def ingest_all(db, data: Path, names: set[str]) -> dict[str, str]:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    return {
        n: ingest_pdf(db, data / "pdfs" / f"{n}.pdf").document.id
        for n in sorted(names)
        if (data / "pdfs" / f"{n}.pdf").is_file()
    }


def retrieval_only(data: Path, questions: list[Question], k: int) -> None:
    from mcp_servers.pdf_reader.search import search_pages
    from storage.db import Database

    db = Database()
    ids = ingest_all(db, data, {q.doc for q in questions})
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    started = time.monotonic()
    for q in questions:
        if q.doc not in ids:
            continue
        pages = [h.number for h in search_pages(db, q.text, doc_ids=[ids[q.doc]], k=k)]
        for part in (q.part, "all"):
            tally[part][0] += 1
            tally[part][1] += bool(pages) and pages[0] in q.gold
            tally[part][2] += bool(q.gold & set(pages))
    print("mode: retrieval only (no model: answers are not generated)")
    for part, (n, top1, hit) in sorted(tally.items()):
        print(f"{part}_questions: {n}")
        print(f"{part}_citation_accuracy: {top1 / max(n, 1):.3f}  (top-1 page is an evidence page)")
        print(f"{part}_hit_at_{k}: {hit / max(n, 1):.3f}")
    print(f"seconds_per_question: {(time.monotonic() - started) / max(len(questions), 1):.3f}")


async def judge(spec, question: Question, answer: str) -> tuple[bool | None, float]:
    """The judge model's verdict on a text answer, and what the call cost."""
    from agents.models import providers

    completion = await providers.complete([spec], judge_messages(question.text, question.answer, answer), None,
                                          emit=lambda _event: None)  # fmt: skip
    return judge_verdict(str(completion.message.get("content") or "")), completion.cost_usd


async def full_app(args: argparse.Namespace, questions: list[Question]) -> None:
    from agents.models.model_spec import resolve
    from agents.planner.runner import RunRequest
    from app.config import load_settings
    from app.services import open_agent
    from storage import documents, repo

    settings = load_settings(provider=args.model, model=args.model_id)
    judge_spec = resolve(args.judge or args.model, args.judge_model_id if args.judge else args.model_id,
                         home=settings.home)  # fmt: skip
    agent = await open_agent(settings)
    scores: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0])  # n, correct, cited, cost, seconds
    try:
        ids = ingest_all(agent.db, args.data, {q.doc for q in questions})
        for q in questions:
            if q.doc not in ids:
                continue
            started = time.monotonic()
            conv = repo.create_conversation(agent.db, f"financebench {q.id}")
            documents.attach(agent.db, conv.id, ids[q.doc])
            prompt = f"{q.text}\n\nAnswer from the report {q.doc}; cite the page of every figure as [{q.doc} p.N]."
            answer, cost = "", 0.0
            request = RunRequest(prompt=prompt, conversation_id=conv.id, max_steps=args.max_steps)
            async for event in agent.run(request):
                if event.type == "run_finished":
                    answer, cost = event.answer or "", cost + event.cost_usd
            if non_answer(answer):
                ok, how = False, "no answer"
            elif is_numeric(q.answer):
                ok, how = numeric_match(answer, q.answer, q.text, args.tolerance), "numeric"
            else:
                verdict, judge_cost = await judge(judge_spec, q, answer)
                ok, how, cost = bool(verdict), "judge" if verdict is not None else "judge-unreadable", cost + judge_cost
            pages = cited_pages(answer)
            took = time.monotonic() - started
            for part in (q.part, "all"):
                row = scores[part]
                row[0] += 1
                row[1] += ok
                row[2] += bool(pages & q.gold)
                row[3] += cost
                row[4] += took
            print(f"{q.id} [{q.part}] {'ok ' if ok else 'BAD'} ({how}) cited={sorted(pages)} gold_pages="
                  f"{sorted(q.gold)} {took:.0f}s answer={answer[:100]!r}", flush=True)  # fmt: skip
        print(f"mode: full app ({args.model}{'/' + args.model_id if args.model_id else ''}; judge {judge_spec.label})")
        for part, (n, correct, cited, cost, seconds) in sorted(scores.items()):
            print(f"{part}_questions: {int(n)}")
            print(f"{part}_accuracy: {correct / max(n, 1):.3f}")
            print(f"{part}_citation_accuracy: {cited / max(n, 1):.3f}  (a cited page is an evidence page)")
            print(f"{part}_cost_usd: {cost:.4f}")
            print(f"{part}_seconds_per_question: {seconds / max(n, 1):.1f}")
    finally:
        await agent.aclose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder with pdfs/ and questions.jsonl")
    ap.add_argument("--model", default=None, help="provider preset (groq, moonshot, vllm, openai-compatible, local); "
                    "omit to score retrieval only")  # fmt: skip
    ap.add_argument("--model-id", default=None, help="model id within the preset (default: the preset's)")
    ap.add_argument("--judge", default=None, help="preset judging text answers (default: --model)")
    ap.add_argument("--judge-model-id", default=None, help="model id within the judge's preset")
    ap.add_argument("--part", choices=("tuning", "report", "all"), default="all", help="part of the split to run")
    ap.add_argument("--ids", default="", help="comma-separated financebench ids to run (default: all of the part)")
    ap.add_argument("--limit", type=int, default=0, help="first N questions only")
    ap.add_argument("--max-steps", type=int, default=16, help="model calls per question")
    ap.add_argument("--k", type=int, default=5, help="pages retrieved per question (retrieval mode)")
    ap.add_argument("--tolerance", type=float, default=0.01, help="relative tolerance of numeric answers")
    args = ap.parse_args(argv)
    if not (args.data / "questions.jsonl").is_file():
        sys.exit(f"no questions.jsonl in {args.data.resolve()}: pass --data DIR")
    questions = [q for q in load_questions(args.data) if args.part in ("all", q.part)]
    if args.ids:
        wanted = set(args.ids.split(","))
        questions = [q for q in questions if q.id in wanted]
    questions = questions[: args.limit or None]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if "K2HUB_HOME" not in os.environ:  # a throwaway home: the benchmark never touches the user's data
        installed = Path.home() / ".k2hub" / "models"
        if installed.is_dir():  # ... but it uses the local model already installed there
            os.environ.setdefault("K2HUB_MODELS_DIR", str(installed))
        os.environ["K2HUB_HOME"] = tempfile.mkdtemp(prefix="k2hub-financebench-")
    if args.model:
        asyncio.run(full_app(args, questions))
    else:
        retrieval_only(args.data, questions, args.k)


if __name__ == "__main__":
    main()
