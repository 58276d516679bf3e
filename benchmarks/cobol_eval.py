"""COBOL→Go evaluation: with a model preset, one migration session per omp-course program that has an oracle (a
triples/<PROGRAM>/ folder), each judged by our own differential run (never by the model's claim); prints the share
whose Go output equals the COBOL output, and tokens and cost per program.

Without --model (or a configured key) it cannot run sessions: it says what it needs, runs the harness self-check (the
hand-written fixture translations in tests/fixtures/cobol_go must verify EQUAL) and exits 2.

Run: python benchmarks/cobol_eval.py [--data DIR] [--model PRESET] [--programs CBL0001,EMPPAY] [--max-steps N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from mcp_servers.sandbox import golang
from mcp_servers.common import limits as _limits
from mcp_servers.sandbox.bwrap import choose
from mcp_servers.cobol.verify import Request, verify
from mcp_servers.common.paths import Workspace

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "cobol"
FIXTURES = {"CBL0001": "cbl0001", "EMPPAY": "emppay"}
PROMPT = (
    "Migrate the COBOL program cobol/{src} to Go following the cobol-to-go-migration skill. The Go module goes "
    "in go/{name} (use cobol__add_runtime). Inputs for verification: {inputs}; output files: {outputs}. "
    "Loop with cobol__verify until EQUAL, then report."
)


def program_setup(data: Path, program: str, ws: Path) -> tuple[str, dict[str, str], list[str]]:
    """Copy a program and its oracle inputs into ws; returns the source path, inputs and output DD names."""
    course = data / "omp-course"
    src = next((course / "cbl-gnucobol").glob(f"{program}.*"))
    (ws / "cobol").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, ws / "cobol" / src.name)
    triple = course / "triples" / program
    inputs = {}
    for f in sorted(triple.glob("*.in")):
        (ws / "data").mkdir(exist_ok=True)
        shutil.copyfile(f, ws / "data" / f.name)
        inputs[f.stem] = f"data/{f.name}"
    outputs = [f.stem for f in sorted(triple.glob("*.out"))]
    return f"cobol/{src.name}", inputs, outputs


async def judge(
    ws_root: Path, cid: str, program: str, source: str, inputs: dict[str, str], outputs: list[str], data: Path
) -> tuple[bool, str]:
    """Our differential run of the session's Go module (go/<program>) against the COBOL."""
    limits = _limits.load_limits()
    iso, why = choose(_limits.mode(), limits)
    if iso is None:
        return False, f"no sandbox: {why}"
    stdin_file = data / "omp-course" / "triples" / program / "stdin.txt"
    req = Request(
        sources=[source],
        go_dir=f"go/{program.lower()}",
        inputs=inputs,
        outputs=outputs,
        stdin=stdin_file.read_text() if stdin_file.is_file() else None,
    )
    try:
        result = await verify(iso, Workspace(ws_root / cid), cid, req, _limits.go_cache_root(), golang.WarmUp())
    except Exception as exc:  # noqa: BLE001 - a missing module is a failed migration, not a crash of the harness
        return False, str(exc)
    return result.equal, result.render().splitlines()[0]


async def self_check(data: Path) -> int:
    """The fixture translations must verify EQUAL: proves the harness itself works."""
    root = Path(tempfile.mkdtemp(prefix="k2hub-cobol-eval-"))
    ok = 0
    try:
        for program, fixture in FIXTURES.items():
            ws = root / "selfcheck"
            source, inputs, outputs = program_setup(data, program, ws)
            shutil.copytree(ROOT / "tests" / "fixtures" / "cobol_go" / fixture, ws / "go" / program.lower())
            shutil.copytree(ROOT / "assets" / "go" / "cobolrt", ws / "go" / program.lower() / "cobolrt")
            equal, line = await judge(root, "selfcheck", program, source, inputs, outputs, data)
            ok += equal
            print(f"selfcheck_{program}: {'equal' if equal else 'DIFFERENT'}  ({line})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"selfcheck_equal_share: {ok / len(FIXTURES):.2f}")
    return ok


async def evaluate(data: Path, preset: str, programs: list[str], max_steps: int) -> None:
    from agents.planner.runner import RunRequest
    from app.config import load_settings
    from app.services import open_agent
    from storage import chat_tools, repo

    settings = load_settings(provider=preset)
    agent = await open_agent(settings)
    equal_count, total_tokens, total_cost = 0, 0, 0.0
    try:
        for program in programs:
            cid = repo.create_conversation(agent.db, f"cobol-eval {program}").id
            chat_tools.set_switched_off(agent.db, cid, [])  # a plain chat has no COBOL tools by default: all on
            ws_root = settings.home / "workspaces"
            source, inputs, outputs = program_setup(data, program, ws_root / cid)
            prompt = PROMPT.format(
                src=Path(source).name,
                name=program.lower(),
                inputs=inputs or "none",
                outputs=outputs or "none (stdout only)",
            )
            finished = None
            async for ev in agent.run(RunRequest(prompt=prompt, conversation_id=cid, max_steps=max_steps)):
                if ev.type == "run_finished":
                    finished = ev
            equal, line = await judge(ws_root, cid, program, source, inputs, outputs, data)
            equal_count += equal
            tokens = finished.tokens if finished else 0
            cost = finished.cost_usd if finished else 0.0
            total_tokens += tokens
            total_cost += cost
            print(f"{program}: {'equal' if equal else 'different'} tokens={tokens} cost_usd={cost:.4f}  ({line})")
    finally:
        await agent.aclose()
    n = max(1, len(programs))
    print(f"equal_share: {equal_count / n:.2f}")
    print(f"tokens_per_program: {total_tokens / n:.0f}")
    print(f"cost_usd_per_program: {total_cost / n:.4f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder holding omp-course/ (default ../shared/data/cobol)"
    )
    p.add_argument("--model", default=None, help="provider preset: groq, moonshot, vllm, openai-compatible, local")
    p.add_argument("--programs", default="", help="comma-separated PROGRAM-IDs (default: every one with an oracle)")
    p.add_argument("--max-steps", type=int, default=60, help="step budget per session")
    args = p.parse_args()
    triples = args.data / "omp-course" / "triples"
    if not triples.is_dir():
        print(f"needs the course data with oracles at {triples} (--data DIR)", file=sys.stderr)
        return 2
    programs = [x for x in args.programs.split(",") if x] or sorted(d.name for d in triples.iterdir() if d.is_dir())
    if not args.model:
        print(
            "cobol_eval needs a model: pass --model PRESET (groq / moonshot with GROQ_API_KEY / MOONSHOT_API_KEY, "
            "vllm or openai-compatible with K2HUB_BASE_URL). Running the harness self-check instead.",
            file=sys.stderr,
        )
        asyncio.run(self_check(args.data))
        return 2
    asyncio.run(evaluate(args.data, args.model, programs, args.max_steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
