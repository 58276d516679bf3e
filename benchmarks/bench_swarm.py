"""Agent swarm at scale: 100 sub-agents × 5 tool calls against the fake K2 with 200 ms per model call, cap 20.

The fake K2 runs as its own process (its JSON work and sleeps do not share this interpreter); each sub-agent calls
the test toolbox's echo 5 times (a real MCP stdio server) and then answers: 6 model calls each, 600 in all. The
ideal schedule is the total model time divided by the cap (600 × 0.2 s / 20 = 6 s); the scheduler's overhead is the
CPU its own code (pacer, event bookkeeping) spends in the event loop's thread. Wall time and RSS growth are measured
from the swarm's start (after the parent's first model call, which loads litellm) to its last sub-agent's end;
process_cpu_s_during_swarm says how much of the wall time the process itself needed (planner, litellm, hub, SQLite),
loop_thread_cpu_s_during_swarm the event loop's thread alone (the rest: database writes in worker threads), and
process_cpu_ms_per_call that CPU per model or tool call (less sensitive to other load on the machine than wall time).
Sub-agents' whole answers run through the model worker process (agents/models/call_worker.py, started in the
background when the web app's agent opens: Agent.warm_model_worker): model_worker_cpu_s_during_swarm is its CPU in the
same span (not in process_cpu_*), model_worker_rss_mb its memory, model_worker_ready_after_s when it was ready (from
the swarm's start; negative: before it), whole_answers_in_app_process the answers made in this process until then.
What comes before the swarm is printed too, as it is not in wall_s: open_s (Agent.open and the worker's background
start, as the web app does) and before_swarm_s (from the request to the swarm's start: the parent's first model call,
which imports litellm in this process while the worker imports it in its own).
BENCH_PROFILE=FILE writes a cProfile (CPU time) of the event loop's thread during the swarm.

Prints `name: value` lines. Targets: wall_vs_ideal <= 1.2, scheduler_cpu_ms_per_subagent <= 5, lock_errors 0,
rss_growth_mb <= 200 (and every sub-agent done).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SUBAGENTS = int(os.environ.get("BENCH_SUBAGENTS", "100"))
CALLS = 5
LATENCY_S = 0.2
CAP = 20
MODEL = "kimi-k2-0905-preview"
PROFILE = None
if os.environ.get("BENCH_PROFILE"):  # a profile of the event loop's thread during the swarm
    import cProfile

    # CPU time, not wall time: on a shared machine the wall clock charges other processes' turns to whatever ran.
    PROFILE = cProfile.Profile(time.thread_time)


def serve() -> None:
    """The fake K2 answering the swarm's script (run with --serve in a process of its own)."""
    from tests.agents.swarm.script import SwarmScript, spawn_args
    from tests.fakes.k2_server import FakeK2Server, ToolCall

    goals = [f"check record {n}" for n in range(SUBAGENTS)]
    script = SwarmScript(spawn_args(goals, CAP), latency_s=LATENCY_S,
                         calls=lambda goal: [ToolCall("toolbox__echo", {"text": f"{goal} part {k}"})
                                             for k in range(CALLS)])
    server = FakeK2Server(models=[MODEL], responder=script).start()
    print(f"fake K2 serving at {server.url}", flush=True)
    for line in sys.stdin:  # the benchmark asks for the peak of in-flight sub-agent calls, then closes stdin
        print(json.dumps({"peak": script.peak, "calls": sum(script.served.values()), "cpu_s": time.process_time()}),
              flush=True)
    server.stop()


def worker_stats() -> tuple[float, float]:
    """(CPU seconds, RSS MB) of the model worker process (agents/models/call_worker.py), zeros when none runs."""
    import psutil

    from agents.models.call_worker import WORKER

    try:
        proc = psutil.Process(WORKER.pid) if WORKER.pid else None
        if proc is None:
            return 0.0, 0.0
        times = proc.cpu_times()
        return times.user + times.system, proc.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0, 0.0


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class LockErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "locked" in record.getMessage().lower():
            self.count += 1


async def main() -> None:
    from agents.planner.runner import Agent, RunRequest
    from agents.workflows.swarm import scheduler
    from storage import swarms
    from tests.agents.conftest import agent_config, toolbox_server, write_mcp_json

    fake = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None and fake.stdin is not None
    url = fake.stdout.readline().split(" at ", 1)[1].strip()
    locks = LockErrors()
    logging.getLogger().addHandler(locks)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["K2HUB_HOME"] = str(home)
        write_mcp_json(home, {"toolbox": {**toolbox_server(), "trusted": True}})  # no approvals
        config = agent_config(home, url, model=MODEL, builtin=[])
        opening = time.monotonic()
        agent = await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")
        agent.warm_model_worker()  # as the web app does when its agent opens
        opened = time.monotonic()
        base = agent.config.limits
        from agents.policy.budget import Limits

        agent.config.limits = Limits(max(base.max_steps, SUBAGENTS * (CALLS + 2)), base.max_tokens, base.max_cost_usd,
                                     base.max_wall_s)
        jobs: list[scheduler.Job] = []
        original = scheduler.run

        async def watched(job: scheduler.Job) -> list[swarms.SwarmBranch]:
            jobs.append(job)
            return await original(job)

        scheduler.run = watched  # type: ignore[assignment]
        from agents.workflows.swarm import spawn

        spawn.scheduler.run = watched  # type: ignore[attr-defined]
        from agents.models import call_worker, providers

        in_app = [0]  # sub-agents' whole answers made in this process (the worker was not ready yet)
        here = providers.whole_answer_here

        async def counted(kwargs: dict) -> dict:
            in_app[0] += 1
            return await here(kwargs)

        providers.whole_answer_here = counted  # type: ignore[assignment]
        worker_ready: list[float] = []  # when the worker said it was ready (monotonic clock)

        async def watch_worker() -> None:
            while not call_worker.WORKER.ready:
                await asyncio.sleep(0.02)
            worker_ready.append(time.monotonic())

        watcher = asyncio.create_task(watch_worker())
        rss_before = 0.0
        worker_before = (0.0, 0.0)
        events, times, cpu = [], [], {}
        async for event in agent.run(RunRequest("Check the records.")):
            events.append(event)
            times.append(time.monotonic())
            if event.type in ("swarm_started", "subagent_finished"):
                cpu.setdefault(event.type, []).append(time.process_time())
                cpu.setdefault("loop " + event.type, []).append(time.thread_time())
            if event.type == "swarm_started":
                # From here: the parent's first model call has loaded litellm (~150 MB) and opened the hub.
                rss_before = rss_mb()
                worker_before = worker_stats()
                in_app[0] = 0
                if PROFILE is not None:
                    PROFILE.enable()
        rss_after = rss_mb()
        worker_after = worker_stats()
        watcher.cancel()
        if PROFILE is not None:
            PROFILE.disable()
            PROFILE.dump_stats(os.environ["BENCH_PROFILE"])
        kinds = [e.type for e in events]
        first = times[kinds.index("swarm_started")]
        last = times[len(kinds) - 1 - kinds[::-1].index("subagent_finished")]
        wall = last - first
        finished = [e for e in events if e.type == "subagent_finished"]
        done = sum(e.status == "done" for e in finished)
        locked = sum("locked" in (e.error or "").lower() for e in finished) + locks.count
        job = jobs[0]
        fake.stdin.write("stats\n")
        fake.stdin.flush()
        stats = json.loads(fake.stdout.readline())
        fake.stdin.close()
        fake.wait(10)
        await agent.aclose()
    ideal = stats["calls"] * LATENCY_S / CAP
    print(f"subagents: {SUBAGENTS}")
    print(f"subagents_done: {done}")
    print(f"model_calls: {stats['calls']}")
    print(f"tool_calls: {sum(e.tool_calls for e in finished)}")
    print(f"peak_in_flight: {stats['peak']}")
    print(f"ideal_s: {ideal:.2f}")
    print(f"wall_s: {wall:.2f}")
    print(f"wall_vs_ideal: {wall / ideal:.2f}")
    print(f"scheduler_cpu_ms_per_subagent: {1000 * (job.cpu_s + job.pacer.scheduler_cpu_s) / SUBAGENTS:.2f}")
    print(f"process_cpu_s_during_swarm: {cpu['subagent_finished'][-1] - cpu['swarm_started'][0]:.2f}")
    print(f"loop_thread_cpu_s_during_swarm: {cpu['loop subagent_finished'][-1] - cpu['loop swarm_started'][0]:.2f}")
    print(f"process_cpu_ms_per_call: {1000 * (cpu['subagent_finished'][-1] - cpu['swarm_started'][0]) / (stats['calls'] + sum(e.tool_calls for e in finished)):.2f}")
    print(f"model_worker_cpu_s_during_swarm: {worker_after[0] - worker_before[0]:.2f}")  # litellm's share, elsewhere
    print(f"model_worker_rss_mb: {worker_after[1]:.1f}")
    # The worker imports litellm first (seconds of CPU); until it is ready, sub-agents' answers are made here.
    print(f"model_worker_ready_after_s: {worker_ready[0] - first if worker_ready else float('nan'):.2f}")
    print(f"whole_answers_in_app_process: {in_app[0]}")
    print(f"fake_k2_process_cpu_s: {stats['cpu_s']:.2f}")  # another process, but the same cores
    print(f"open_s: {opened - opening:.2f}")
    print(f"before_swarm_s: {first - opened:.2f}")
    print(f"lock_errors: {locked}")
    print(f"rss_growth_mb: {rss_after - rss_before:.1f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        asyncio.run(main())
