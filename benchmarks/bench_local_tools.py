"""Does the embedded local model do things? Tool calling measured two ways, through the app's own local path.

    python benchmarks/bench_local_tools.py --bfcl DIR [--n N] [--split tune|heldout|all] [--selection]
    python benchmarks/bench_local_tools.py [--n N]

(a) --bfcl: BFCL v4 simple_python and multiple questions (benchmarks/bfcl_scoring.py reads and scores them). Each
    question's functions are offered as the tools of an MCP server (`bfcl__...`) through providers.complete with the
    local preset: the small-model system prompt, tool selection, schema shaping, our server, the text-call parser,
    argument repair and the one retry. Scored with BFCL's AST rules. The split: `tune` is every 7th question of
    100-128 in each subset (what the prompt and repairs were tuned on: in-sample), `heldout` every 7th question
    from 151. Prints `bfcl_<subset>: x`, `bfcl_accuracy: x`, the median seconds per question
    and, against raw llama-cpp-python in the same run, `bfcl_seconds_vs_raw: ratio`. With --selection, no model
    runs: only whether the tool selector sends each question's function (`bfcl_gold_tool_sent: x`).

    What the speed ratio compares, per question: "ours" is the wall time of providers.complete (selection, litellm,
    HTTP/SSE, our server process, parsing, review, and the one corrective call when review asks for it); "raw" is
    `Llama.create_completion` in this process on the same model file with the same n_ctx and threads, fed the very
    prompt tokens our server reads (the same template rendering of the same system prompt, question and chosen tool
    schemas), greedy, max 1024 tokens, stopping where our server stops (eos, or the first complete call), with
    libgomp's default settings (our server runs with runtime.OPENMP_SPIN, part of the app's own path). Neither
    side reuses a prompt cache (the server's prefix cache is off and raw resets). Both models are loaded and have
    answered one untimed request before timing starts (raw's load is outside its timing, so the server's start is
    too). The two sides take turns going first (the 2 shared cores' load drifts within minutes; going second was
    seen to be faster). Each question's line on stderr shows both sides' prompt + generated tokens (a retry shows
    as a bigger count on our side) and the load average; `bfcl_calls_per_question` says how many model calls our
    side made on average, and the CPU seconds each side used (ours: this process and the server process);
    `bfcl_median_question_ratio` is the median of the per-question ours/raw ratios.
(b) without --bfcl: first tasks a new user tries with the built-in tools (benchmarks/local_tasks.py), each run as a
    chat turn through the Agent and checked by its effect; prints `tasks_success: x` and the median seconds per task.

Needs the installed local model (`python run.py local install`). Prints `name: value` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agents.models.local import adapter, runtime, weights  # noqa: E402
from agents.models.local.installer import runtime_installed  # noqa: E402
from benchmarks import bfcl_scoring  # noqa: E402

TUNE_START, TUNE_STOP = 100, 129  # the questions looked at while tuning (every 7th, like held out)
HELDOUT_START, HELDOUT_STRIDE = 151, 7


def pick(pairs: list[Any], split: str, n: int | None) -> list[Any]:
    """The questions of a split (see the module docstring), at most n of them."""
    if split == "tune":
        chosen = pairs[TUNE_START:TUNE_STOP:HELDOUT_STRIDE]
    elif split == "heldout":
        chosen = pairs[HELDOUT_START::HELDOUT_STRIDE]
    else:
        chosen = pairs
    return chosen[:n] if n else chosen


def _calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = fn.get("arguments")
        out.append({"name": fn.get("name", ""), "arguments": args})
    return out


class Raw:
    """Raw llama-cpp-python in this process: the same model file, threads, template and greedy sampling."""

    def __init__(self, model: Path) -> None:
        from llama_cpp import Llama

        from agents.models.local.server import ChatTemplate

        threads = os.cpu_count() or 1
        self.llm = Llama(model_path=str(model), n_ctx=runtime.context_size(), n_threads=threads,
                         n_threads_batch=threads, verbose=False)
        self.template = ChatTemplate(self.llm)

    def seconds(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> tuple[float, int, int]:
        """(seconds, prompt tokens, generated pieces) to read the prompt and generate until the first complete call
        (or the end), as our server stops."""
        from llama_cpp import StoppingCriteriaList

        from agents.models.toolcall_text import complete_call_end

        tokens = self.template.tokens(messages, tools or None)
        names = {t["function"]["name"] for t in tools}
        text: list[str] = []
        self.llm.reset()  # no prefix cache on either side: our server's is off for this benchmark too

        def done(_ids: Any, _logits: Any) -> bool:
            return bool(names) and complete_call_end("".join(text), names) is not None

        started = time.perf_counter()
        for chunk in self.llm.create_completion(tokens, max_tokens=1024, temperature=0.0, stream=True,
                                                stopping_criteria=StoppingCriteriaList([done]),
                                                stop=[self.template.eos] if self.template.eos else None):
            text.append(chunk["choices"][0]["text"])
        return time.perf_counter() - started, len(tokens), len(text)


async def bfcl(directory: Path, split: str, n: int | None, with_raw: bool) -> None:
    from agents.models import providers
    from agents.planner.runner import SMALL_MODEL_PROMPT

    runtime.set_prefix_cache(False)  # each question is new: compare like with like against raw llama.cpp
    spec = providers.resolve("local", home=Path(os.environ["K2HUB_HOME"]))
    system = {"role": "system", "content": SMALL_MODEL_PROMPT.format(today=date.today().isoformat())}
    raw = Raw(weights.model_for_use()) if with_raw else None
    await _warm_up(spec, system, raw)
    calls_before = adapter.REVIEW_STATS["asked_again"]
    total = right = 0
    ours_s: list[float] = []
    raw_s: list[float] = []
    for subset in bfcl_scoring.SUBSETS:
        pairs = pick(bfcl_scoring.load(directory, subset), split, n)
        good = 0
        for question, answer in pairs:
            tools = bfcl_scoring.tools_of(question)
            messages = [system, {"role": "user", "content": bfcl_scoring.user_text(question)}]
            raw_first = raw is not None and len(ours_s) % 2 == 1
            line = ""
            if raw_first:
                line = await _raw_line(raw, spec, messages, tools, raw_s)
            started, cpu = time.perf_counter(), _cpu_seconds()
            done = await providers.complete([spec], messages, tools, emit=lambda _e: None)
            ours_s.append(time.perf_counter() - started)
            client_cpu, server_cpu = (a - b for a, b in zip(_cpu_seconds(), cpu))
            ok, why = bfcl_scoring.score(question, answer, _calls(done.message))
            good += ok
            # Where the time goes: our prompt and generated tokens (a retry adds its own) against raw's.
            ours = (f"ours {ours_s[-1]:.1f}s, {done.prompt_tokens}+{done.completion_tokens} tokens, "
                    f"CPU s: app {client_cpu:.1f} + server {server_cpu:.1f}")
            if raw is not None and not raw_first:
                line = await _raw_line(raw, spec, messages, tools, raw_s)
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            print(f"  {question['id']}: {'ok' if ok else 'FAIL ' + why} ({ours}; {line or 'no raw'}; "
                  f"load {load}{', raw first' if raw_first else ''})", file=sys.stderr)
        total += len(pairs)
        right += good
        print(f"bfcl_{subset}: {good / max(1, len(pairs)):.3f} ({good}/{len(pairs)}, split {split})")
    stats = adapter.REVIEW_STATS
    print(f"bfcl_accuracy: {right / max(1, total):.3f} ({right}/{total}, split {split}"
          f"{', in-sample' if split == 'tune' else ', held out' if split == 'heldout' else ''})")
    print(f"bfcl_median_seconds_per_question: {statistics.median(ours_s):.2f}")
    print(f"bfcl_calls_repaired_by_code: {stats['repaired']}/{stats['reviewed']}")
    print(f"bfcl_retry_fixed: {stats['fixed_by_retry']}/{stats['asked_again']}")
    print(f"bfcl_calls_per_question: {1 + (stats['asked_again'] - calls_before) / max(1, len(ours_s)):.2f}")
    if raw_s:
        print(f"bfcl_raw_median_seconds: {statistics.median(raw_s):.2f}")
        print(f"bfcl_seconds_vs_raw: {statistics.median(ours_s) / statistics.median(raw_s):.2f}")
        # The same question on both sides, moments apart: less exposed to the load drifting between questions.
        ratios = [o / r for o, r in zip(ours_s, raw_s) if r > 0]
        print(f"bfcl_median_question_ratio: {statistics.median(ratios):.2f}")


async def _raw_line(raw: Raw, spec: Any, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                    raw_s: list[float]) -> str:
    """Time raw llama-cpp-python on the prompt our path builds (the same chosen, shaped tools); one stderr note."""
    chosen = adapter.tools_for(spec.info, messages, tools)
    cpu = _cpu_seconds()[0]
    seconds, prompt_n, generated = await asyncio.to_thread(raw.seconds, messages, chosen)
    raw_s.append(seconds)
    return f"raw {seconds:.1f}s, {prompt_n}+{generated} tokens, CPU s {_cpu_seconds()[0] - cpu:.1f}"


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by the local server process (its /proc stat; 0 without one).
    The same work costing more CPU on one side points at spinning threads; the same CPU over a longer wall time at
    waiting for the cores."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    server, stat = runtime.current(), None
    if server is not None and server.proc is not None:
        try:
            stat = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            stat = None
    ticks = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK") if stat else 0.0
    return own.ru_utime + own.ru_stime, ticks


async def _warm_up(spec: Any, system: dict[str, Any], raw: Raw | None) -> None:
    """One untimed request on each side: the server process starts and loads the model (raw's load is outside its
    timing too), and both have decoded once before the first timed question."""
    from agents.models import providers

    hello = [system, {"role": "user", "content": "Say hello."}]
    await providers.complete([spec], hello, None, emit=lambda _e: None)
    if raw is not None:
        await asyncio.to_thread(raw.seconds, hello, [])


def selection(directory: Path, split: str, n: int | None) -> None:
    """Without the model: how often the tool selector sends each question's right function (a question whose
    function is not sent cannot be answered). Prints `bfcl_gold_tool_sent: x` per subset and in all."""
    from agents.models import providers

    spec = providers.resolve("local", home=Path(os.environ["K2HUB_HOME"]))
    sent = total = 0
    for subset in bfcl_scoring.SUBSETS:
        pairs = pick(bfcl_scoring.load(directory, subset), split, n)
        good = 0
        for question, answer in pairs:
            messages = [{"role": "user", "content": bfcl_scoring.user_text(question)}]
            chosen = {t["function"]["name"] for t in adapter.tools_for(spec.info, messages,
                                                                       bfcl_scoring.tools_of(question))}
            good += {bfcl_scoring.tool_name(next(iter(g))) for g in answer["ground_truth"]} <= chosen
        print(f"bfcl_gold_tool_sent_{subset}: {good / max(1, len(pairs)):.3f} ({good}/{len(pairs)}, split {split})")
        sent, total = sent + good, total + len(pairs)
    print(f"bfcl_gold_tool_sent: {sent / max(1, total):.3f} ({sent}/{total}, split {split})")


async def tasks(n: int | None) -> None:
    from benchmarks import local_tasks

    await local_tasks.run_all(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bfcl", type=Path, help="directory with BFCL_v4_<subset>.json and possible answers")
    ap.add_argument("--n", type=int, default=None, help="at most N questions per subset (or N tasks)")
    ap.add_argument("--split", choices=("tune", "heldout", "all"), default="heldout")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw llama-cpp-python baseline")
    ap.add_argument("--selection", action="store_true",
                    help="with --bfcl: only check that the selector sends each question's function (no model run)")
    args = ap.parse_args()
    if not runtime_installed():
        raise SystemExit("llama-cpp-python is not installed: python run.py local install")
    os.environ.setdefault("K2HUB_MODELS_DIR", str(weights.models_dir()))
    os.environ["K2HUB_HOME"] = tempfile.mkdtemp(prefix="k2bench-")
    try:
        if args.bfcl and args.selection:
            selection(args.bfcl, args.split, args.n)
        elif args.bfcl:
            asyncio.run(bfcl(args.bfcl, args.split, args.n, not args.no_raw))
        else:
            asyncio.run(tasks(args.n))
    finally:
        runtime.stop_server()


if __name__ == "__main__":
    main()
