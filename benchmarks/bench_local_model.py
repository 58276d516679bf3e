"""The embedded local model: generation speed through our whole path vs raw llama-cpp-python, and what the prompt-prefix
cache saves on the second step of an agent loop.

1. Same prompt, same greedy sampling, same model file, same thread count: raw `Llama.create_completion` in this process
   vs the planner (Agent.run -> providers -> litellm -> HTTP/SSE -> our server -> llama.cpp). Generation speed is
   completion tokens / time from the first to the last streamed token, so prompt reading is left out on both sides.
   Rounds alternate so machine noise hits both alike; medians are printed. Target: planner_vs_raw_gen_ratio >= 0.9.
2. A two-step agent loop (a write_file call, then the answer) with the server's prefix cache on and off; the second
   model step's duration comes from its Step row.
3. The first answer of a freshly started server (start, model load and answer, through Agent.run) with an empty
   prompt-prefix state cache (cold) and with the one the cold run left (warm: the system prompt and tool schemas are
   restored from disk instead of read). `first_answer_warm_vs_cold` is warm seconds / cold seconds (lower is better).
   `--first-answer` runs only this part.

Needs the installed local model (`python run.py local install`). Prints `name: value` lines.
"""

from __future__ import annotations

import asyncio
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

from agents.models.local import runtime, weights  # noqa: E402
from agents.models.local.tool_select import select_tools  # noqa: E402
from agents.models.local.installer import runtime_installed  # noqa: E402

ROUNDS = 3
GEN_PROMPT = "Describe the differences between TCP and UDP in detail."  # ~300 tokens of text, no tool relevant
FIRST = "List the files in the workspace."  # tools relevant: the schemas are part of the stable prefix
LOOP = ("Use the workspace__write_file tool to write the text 'The secret word is PINEAPPLE.' to secret.txt. "
        "Then tell me the secret word.")


def raw_generation(model: Path, prompt_tokens: list[int]) -> tuple[int, float]:
    """(completion tokens, seconds from first to last token) for raw llama-cpp-python, greedy, until EOS."""
    from llama_cpp import StoppingCriteriaList

    llm = _raw_llm(model)
    count = [0]

    def counter(_ids: Any, _logits: Any) -> bool:
        count[0] += 1
        return False

    first = last = 0.0
    for chunk in llm.create_completion(prompt_tokens, max_tokens=1024, temperature=0.0, stream=True,
                                       stopping_criteria=StoppingCriteriaList([counter]), stop=["<|im_end|>"]):
        if chunk["choices"][0]["text"]:
            last = time.perf_counter()
            first = first or last
    return count[0], last - first


_LLM: dict[str, Any] = {}


def _raw_llm(model: Path) -> Any:
    from llama_cpp import Llama

    if "llm" not in _LLM:
        threads = os.cpu_count() or 1
        _LLM["llm"] = Llama(model_path=str(model), n_ctx=runtime.context_size(), n_threads=threads,
                            n_threads_batch=threads, verbose=False)
    return _LLM["llm"]


def gen_prompt(model: Path, tools: list[dict[str, Any]]) -> tuple[list[int], int]:
    """The exact tokens the planner's request renders to (same system prompt, same chosen tools, same template)."""
    from agents.models.local.adapter import compact
    from agents.models.local.server import ChatTemplate
    from agents.planner.runner import SYSTEM_PROMPT

    messages = [{"role": "system", "content": SYSTEM_PROMPT.format(today=date.today().isoformat())},
                {"role": "user", "content": GEN_PROMPT}]
    chosen = [compact(t) for t in select_tools(messages, tools, 2400)]
    return ChatTemplate(_raw_llm(model)).tokens(messages, chosen or None), len(chosen)


async def planner_generation(agent: Any) -> tuple[int, float, int]:
    """(completion tokens, seconds from first to last text delta, prompt tokens) through Agent.run."""
    from agents.planner.runner import RunRequest

    first = last = 0.0
    usage = None
    async for event in agent.run(RunRequest(prompt=GEN_PROMPT)):
        if event.type == "text_delta":
            last = time.perf_counter()
            first = first or last
        elif event.type == "usage":
            usage = event
        elif event.type == "run_finished" and event.reason != "done":
            raise SystemExit(f"planner run failed: {event.error}")
    return usage.completion_tokens, last - first, usage.prompt_tokens


async def second_step(agent: Any) -> tuple[float, int, int]:
    """(seconds of model step 2, its prompt tokens, its cached tokens) of the write-then-answer loop."""
    from agents.planner.runner import RunRequest
    from storage import repo

    usages = []
    run_id = ""
    async for event in agent.run(RunRequest(prompt=LOOP)):
        if event.type == "run_started":
            run_id = event.run_id
        elif event.type == "usage":
            usages.append(event)
    steps = [s for s in repo.steps_for_run(agent.db, run_id) if s.kind == "model"]
    if len(steps) < 2:
        raise SystemExit("the loop did not reach a second model step")
    second = steps[1]
    return second.duration_s, second.prompt_tokens, second.cached_tokens


async def first_answer(agent: Any, state_dir: Path) -> tuple[float, int, int]:
    """(seconds from a fresh server's start to the run's end, prompt tokens, tokens not read) of the first step."""
    from agents.planner.runner import RunRequest

    runtime.stop_server()
    runtime.set_state_dir(state_dir)
    usage = None
    started = time.perf_counter()
    async for event in agent.run(RunRequest(prompt=FIRST)):
        if event.type == "usage" and usage is None:
            usage = event
        elif event.type == "run_finished" and event.reason != "done":
            raise SystemExit(f"planner run failed: {event.error}")
    seconds = time.perf_counter() - started
    runtime.stop_server()
    return seconds, usage.prompt_tokens, usage.cached_tokens


async def first_answers(agent: Any, home: Path) -> None:
    """Cold then warm, twice (a new empty cache directory for each cold run); prints the medians."""
    cold, warm = [], []
    for n in range(2):
        state_dir = home / f"cache-{n}" / "model-state"
        state_dir.parent.mkdir(mode=0o700)
        cold.append(await first_answer(agent, state_dir))
        warm.append(await first_answer(agent, state_dir))
    c, w = statistics.median(s for s, _, _ in cold), statistics.median(s for s, _, _ in warm)
    print(f"first_answer_prompt_tokens: {cold[0][1]}")
    print(f"first_answer_tokens_restored_warm: {warm[0][2]}")
    print(f"first_answer_cold_s: {c:.2f}")
    print(f"first_answer_warm_s: {w:.2f}")
    print(f"first_answer_warm_vs_cold: {w / c:.2f}")


async def main() -> None:
    if not runtime_installed():
        raise SystemExit("llama-cpp-python is not installed: python run.py local install")
    model = weights.model_for_use()
    from agents.planner.runner import Agent

    # A throwaway data home for the runs; the model stays where it was installed.
    os.environ.setdefault("K2HUB_MODELS_DIR", str(weights.models_dir()))
    home = Path(tempfile.mkdtemp(prefix="k2bench-"))
    os.environ["K2HUB_HOME"] = str(home)
    from app.config import Settings
    from app.services import agent_config

    agent = await Agent.open(agent_config(Settings(home=home, provider="local")), database_url=f"sqlite:///{home}/k2hub.db")
    if "--first-answer" in sys.argv[1:]:
        try:
            await first_answers(agent, home)
        finally:
            await agent.aclose()
            runtime.stop_server()
        return
    try:
        tokens, tools_sent = gen_prompt(model, agent.hub.tools())
        raw_speeds, ours_speeds, counts = [], [], []
        for _ in range(ROUNDS):
            n, seconds = await asyncio.to_thread(raw_generation, model, tokens)
            raw_speeds.append((n - 1) / seconds)
            n2, seconds2, prompt = await planner_generation(agent)
            ours_speeds.append((n2 - 1) / seconds2)
            counts.append((n, n2))
        _LLM.clear()  # free the raw side's model before the loop measurements
        cached = [await second_step(agent) for _ in range(ROUNDS)]
        runtime.set_prefix_cache(False)
        uncached = [await second_step(agent) for _ in range(ROUNDS)]
        runtime.set_prefix_cache(True)
        await first_answers(agent, home)
    finally:
        await agent.aclose()
        runtime.stop_server()
    raw, ours = statistics.median(raw_speeds), statistics.median(ours_speeds)
    print(f"model: {model.name}")
    print(f"threads: {os.cpu_count()}")
    print(f"gen_prompt_tokens: {len(tokens)} (planner: {prompt}; tools sent: {tools_sent})")
    print(f"completion_tokens_raw_vs_planner: {counts}")
    print(f"raw_llama_cpp_gen_tokens_per_s: {raw:.1f}")
    print(f"planner_gen_tokens_per_s: {ours:.1f}")
    print(f"planner_vs_raw_gen_ratio: {ours / raw:.2f}")
    c, u = statistics.median(s for s, _, _ in cached), statistics.median(s for s, _, _ in uncached)
    print(f"step2_prompt_tokens: {cached[0][1]}")
    print(f"step2_cached_tokens_with_cache: {cached[0][2]}")
    print(f"step2_cached_tokens_without_cache: {uncached[0][2]}")
    print(f"step2_latency_with_prefix_cache_s: {c:.2f}")
    print(f"step2_latency_without_prefix_cache_s: {u:.2f}")
    print(f"step2_prefix_cache_speedup: {u / c:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
