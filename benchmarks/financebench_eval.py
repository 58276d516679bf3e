"""FinanceBench evaluation: `python benchmarks/financebench_eval.py [--data DIR] [--model PRESET] [--limit N]`.

DIR holds pdfs/ and questions.jsonl (default: ../shared/data/financebench next to the repository).
With a model preset whose key is set (groq, moonshot, vllm, openai-compatible, local), every question runs through
the full app (planner, pdf_reader, analysis) and the answer is scored: accuracy = the gold number is matched within
the tolerance (or, for text answers, the gold answer's key numbers all appear); citation accuracy = a page the answer
cites ('p.N' / 'page N') is one of the evidence pages. Without a model only the retrieval stage is scored:
search_pages over the question's report, citation accuracy = top-1 page is an evidence page, plus hit@k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "financebench"
NUMBER = re.compile(r"-?\$?\(?\d[\d,]*(?:\.\d+)?\)?%?")
CITED = re.compile(r"\bp(?:age|\.)\s*(\d{1,4})\b", re.IGNORECASE)


def numbers(text: str) -> list[Decimal]:
    out = []
    for raw in NUMBER.findall(text or ""):
        clean = raw.replace("$", "").replace(",", "").replace("%", "").strip("()")
        try:
            out.append(Decimal(clean))
        except InvalidOperation:
            continue
    return out


def answer_matches(answer: str, gold: str, tolerance: float) -> bool:
    """The gold number appears in the answer within a relative tolerance (text golds: their first number)."""
    wanted = numbers(gold)
    if not wanted:
        return gold.strip().lower()[:40] in answer.lower()
    target = wanted[0]
    return any(abs(n - target) <= abs(target) * Decimal(str(tolerance)) + Decimal("0.005") for n in numbers(answer))


def load(data: Path) -> list[dict]:
    return [
        json.loads(line) for line in (data / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def evidence_pages(q: dict) -> set[int]:
    """1-based evidence pages (the file stores 0-based page indexes)."""
    return {e["page_index0"] + 1 for e in q["evidence"]}


def ingest_all(db, data: Path, names: set[str]) -> dict[str, str]:
    from mcp_servers.pdf_reader.ingest import ingest_pdf

    return {
        n: ingest_pdf(db, data / "pdfs" / f"{n}.pdf").document.id
        for n in sorted(names)
        if (data / "pdfs" / f"{n}.pdf").is_file()
    }


def retrieval_only(data: Path, questions: list[dict], k: int) -> None:
    from mcp_servers.pdf_reader.search import search_pages
    from storage.db import Database

    db = Database()
    ids = ingest_all(db, data, {q["doc_name"] for q in questions})
    top1 = hit_k = n = 0
    started = time.monotonic()
    for q in questions:
        if q["doc_name"] not in ids:
            continue
        hits = search_pages(db, q["question"], doc_ids=[ids[q["doc_name"]]], k=k)
        pages = [h.number for h in hits]
        gold = evidence_pages(q)
        n += 1
        top1 += bool(pages) and pages[0] in gold
        hit_k += bool(gold & set(pages))
    print("mode: retrieval only (no model)")
    print(f"questions: {n}")
    print("accuracy: n/a (no model: answers are not generated)")
    print(f"citation_accuracy: {top1 / max(n, 1):.3f}  (top-1 page is an evidence page)")
    print(f"hit_at_{k}: {hit_k / max(n, 1):.3f}")
    print(f"seconds_per_question: {(time.monotonic() - started) / max(n, 1):.3f}")


async def full_app(data: Path, questions: list[dict], preset: str, model: str | None, tolerance: float) -> None:
    from agents.planner.runner import RunRequest
    from app.config import load_settings
    from app.services import open_agent
    from storage import documents, repo

    settings = load_settings(provider=preset, model=model)
    agent = await open_agent(settings)
    try:
        ids = ingest_all(agent.db, data, {q["doc_name"] for q in questions})
        correct = cited = n = 0
        cost = 0.0
        for q in questions:
            if q["doc_name"] not in ids:
                continue
            conv = repo.create_conversation(agent.db, f"financebench {q['financebench_id']}")
            documents.attach(agent.db, conv.id, ids[q["doc_name"]])
            prompt = (
                f"{q['question']}\n\nUse the report {q['doc_name']} (document {ids[q['doc_name']]}); "
                "cite the page of every number as [document p.N]."
            )
            answer = ""
            async for event in agent.run(RunRequest(prompt=prompt, conversation_id=conv.id)):
                if event.type == "run_finished":
                    answer, cost = event.answer, cost + event.cost_usd
            n += 1
            ok = answer_matches(answer, q["answer"], tolerance)
            pages = {int(p) for p in CITED.findall(answer)}
            correct += ok
            cited += bool(pages & evidence_pages(q))
            print(
                f"{q['financebench_id']}: {'ok ' if ok else 'BAD'} cited={sorted(pages)} gold={q['answer'][:40]!r}",
                flush=True,
            )
        print(f"mode: full app ({preset}{'/' + model if model else ''})")
        print(f"questions: {n}")
        print(f"accuracy: {correct / max(n, 1):.3f}  (numeric match within {tolerance:.0%})")
        print(f"citation_accuracy: {cited / max(n, 1):.3f}  (a cited page is an evidence page)")
        print(f"cost_usd: {cost:.4f}")
    finally:
        await agent.aclose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with pdfs/ and questions.jsonl")
    ap.add_argument(
        "--model",
        default=None,
        help="provider preset (groq, moonshot, vllm, openai-compatible, local); omit to score retrieval only",
    )
    ap.add_argument("--model-id", default=None, help="model id within the preset (default: the preset's)")
    ap.add_argument("--limit", type=int, default=0, help="first N questions only")
    ap.add_argument("--k", type=int, default=5, help="pages retrieved per question (retrieval mode)")
    ap.add_argument("--tolerance", type=float, default=0.01, help="relative tolerance of numeric answers")
    args = ap.parse_args(argv)
    if not (args.data / "questions.jsonl").is_file():
        sys.exit(f"no questions.jsonl in {args.data.resolve()}: pass --data DIR")
    questions = load(args.data)[: args.limit or None]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if "K2HUB_HOME" not in os.environ:  # a throwaway home: the benchmark never touches the user's data
        os.environ["K2HUB_HOME"] = tempfile.mkdtemp(prefix="k2hub-financebench-")
    if args.model:
        asyncio.run(full_app(args.data, questions, args.model, args.model_id, args.tolerance))
    else:
        retrieval_only(args.data, questions, args.k)


if __name__ == "__main__":
    main()
