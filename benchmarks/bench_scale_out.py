"""Scale-out: N app processes on one PostgreSQL, started together on an empty database, serving M conversations.

Run: python benchmarks/bench_scale_out.py [--processes 4] [--conversations 40] [--turns 2] [--latency 0.3]

A throwaway PostgreSQL cluster (tests/pg_cluster.py) and the fake K2 server (each model call waits --latency
seconds, then plays the prompt's script: one workspace__write_file call, then the answer) stand in for the database
server and the model. N `python -m app.server` processes are started at the same moment on an empty database, each
with its own data home, sharing DATABASE_URL and K2HUB_WORKSPACE_ROOT. They are driven through the HTTP API Gradio
exposes (gradio_client, the chat's /send endpoint), as a browser does: first one turn per process together (the
concurrent first start), then M conversations at once, assigned round-robin and kept on their process (sticky
sessions, as behind the reverse proxy of the README), each sending --turns turns one after another, from 4 client
processes (the fake K2 runs in a process of its own too, so the clients' work cannot slow the model down). The same
load is then served by one process on a fresh database: the baseline measured in the same run.

Prints `name: value` lines: completed and failed turns, deadlocks (pg_stat_database), lock waits (pg_stat_activity
sampled every 50 ms: waits shorter than that can be missed), turn latency p50/p95 for N processes and for one and
their ratios, throughput ratio N vs 1 (target ≥ 0.8 × N), PostgreSQL connections in use, and sessions left idle in a
transaction for more than a second once the load is over (and those seen while it ran, with their statement: a
migration's transaction on a busy machine can be one). Every number is measured on this machine in this run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import psutil  # noqa: E402
from gradio_client import Client  # noqa: E402

from tests.fakes.k2_server import FakeK2Server  # noqa: E402
from tests.fakes.tool_script import script_prompt, script_responder  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.pg_cluster import admin_connection, new_database, throwaway_cluster  # noqa: E402

MODEL = "kimi-k2-0905-preview"
LOAD_AT_START = os.getloadavg()[0]
START_TIMEOUT_S = 300
DRIVERS = 4  # client processes sending the turns, the same number in both phases
TURN_TIMEOUT_S = 600


@dataclass
class Sample:
    """What the PostgreSQL sampler saw during one phase."""

    peak_connections: int = 0
    peak_active: int = 0
    idle_in_transaction_over_1s: set[tuple[int, str]] = field(default_factory=set)  # (pid, last statement)
    lock_waits: dict[tuple[int, str], float] = field(default_factory=dict)  # (pid, query_start) → longest wait seen
    startup_lock_waits: dict[tuple[int, str], float] = field(default_factory=dict)  # the same, before the load
    loading: bool = False  # set once the start-up turns are done


def start_apps(n: int, db_url: str, workspaces: Path, k2_url: str, base: Path, servers: str) -> list[tuple[Any, str]]:
    """Start n app processes at the same moment; return (process, URL) once every one listens."""
    procs = []
    for i in range(n):
        home = base / f"home{i}"
        home.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("K2HUB_") and k != "DATABASE_URL"}
        env.update(K2HUB_HOME=str(home), DATABASE_URL=db_url, K2HUB_WORKSPACE_ROOT=str(workspaces),
                   K2HUB_PROVIDER="openai-compatible", K2HUB_BASE_URL=k2_url, K2HUB_MODEL=MODEL,
                   K2HUB_BUILTIN_SERVERS=servers, K2HUB_LOCAL="false", GRADIO_ANALYTICS_ENABLED="False",
                   LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))  # fmt: skip
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "app.server", "--port", str(free_port()), "--no-browser"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))  # fmt: skip
    apps = []
    for proc in procs:
        deadline, url, seen = time.monotonic() + START_TIMEOUT_S, None, []
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            seen.append(line)
            if m := re.search(r"running at (http://\S+)", line):
                url = m.group(1)
        if url is None:
            stop_apps([(p, "") for p in procs])
            raise RuntimeError("an app process did not start:\n" + "".join(seen[-40:]))
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
        apps.append((proc, url))
    return apps


def cpu_seconds(apps: list[tuple[Any, str]]) -> float:
    """CPU time (user + system) used so far by the app processes and their children (MCP servers)."""
    total = 0.0
    for proc, _ in apps:
        try:
            root = psutil.Process(proc.pid)
            for p in [root, *root.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def stop_apps(apps: list[tuple[Any, str]]) -> None:
    """SIGTERM each process (the Ctrl+C path closes its agent), SIGKILL what is still there after 30 s."""
    for proc, _ in apps:
        if proc.poll() is None:
            proc.terminate()
    for proc, _ in apps:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def turn(client: Client, conversation: int, number: int) -> tuple[float, bool, str]:
    """Send one chat turn through /send; (seconds, succeeded, why not)."""
    prompt = script_prompt([("workspace__write_file", {"path": f"turn-{number}.txt", "content": f"c{conversation}"})])
    started = time.monotonic()
    try:
        out = client.submit(prompt, [], "openai-compatible", MODEL, "", api_name="/send").result(timeout=TURN_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - a failed turn is counted and reported, not fatal
        return time.monotonic() - started, False, repr(exc)[:300]
    elapsed = time.monotonic() - started
    messages, status = out[0], str(out[2])
    last = messages[-1]["content"] if messages else ""
    text = " ".join(p.get("text", "") for p in last) if isinstance(last, list) else str(last)
    ok = "✓" in status and text.startswith("Done. wrote")
    return elapsed, ok, "" if ok else f"status {status[:200]!r}, answer {text[:200]!r}"


def session(url: str) -> Client:
    """A Gradio session on one process (a browser tab): its turns stay in one conversation."""
    return Client(url, verbose=False, httpx_kwargs={"timeout": 120})


def conversation(client: Client, index: int, turns: int) -> list[tuple[float, bool, str]]:
    """One conversation's turns, one after another."""
    return [turn(client, index, t) for t in range(turns)]


def drive(share: list[tuple[str, int]], turns: int, ready: Any, results: Any) -> None:
    """A client process (a crowd of browsers): open its conversations' sessions, wait for the start, send the turns.

    Puts (turn outcomes, this process's CPU seconds during the load) on results.
    """
    clients = [(session(url), index) for url, index in share]
    ready.wait()
    cpu = time.process_time()
    with ThreadPoolExecutor(len(clients)) as pool:
        done = list(pool.map(lambda c: conversation(c[0], c[1], turns), clients))
    results.put(([t for conv in done for t in conv], time.process_time() - cpu))


def serve_k2(latency: float, urls: Any, stop: Any) -> None:
    """The fake K2 in a process of its own, so that the clients' work does not delay its answers."""
    with FakeK2Server(responder=script_responder(latency)) as k2:
        urls.put(k2.url)
        stop.wait()


def sample_postgres(admin_url: str, db_name: str, stop: threading.Event, out: Sample) -> None:
    """Every 50 ms: connections to the database, lock waiters and long idle-in-transaction sessions."""
    with admin_connection(admin_url) as conn:
        while not stop.is_set():
            rows = conn.execute(
                "SELECT pid, state, wait_event_type, query_start::text, "
                "extract(epoch FROM now() - query_start), extract(epoch FROM now() - state_change), left(query, 120) "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db_name,)
            ).fetchall()  # fmt: skip
            out.peak_connections = max(out.peak_connections, len(rows))
            out.peak_active = max(out.peak_active, sum(1 for r in rows if r[1] == "active"))
            for pid, state, wait, query_start, running, in_state, query in rows:
                if wait == "Lock":
                    key, waits = (pid, query_start), out.lock_waits if out.loading else out.startup_lock_waits
                    waits[key] = max(waits.get(key, 0.0), float(running))
                if state == "idle in transaction" and in_state is not None and float(in_state) > 1.0:
                    out.idle_in_transaction_over_1s.add((pid, " ".join(query.split())))
            stop.wait(0.05)


def idle_in_transaction(admin_url: str, db_name: str) -> int:
    """Sessions of the database idle inside a transaction for more than a second."""
    with admin_connection(admin_url) as conn:
        return int(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'idle in transaction' "
            "AND now() - state_change > interval '1 second'", (db_name,)
        ).fetchone()[0])  # fmt: skip


def deadlocks(admin_url: str, db_name: str) -> int:
    with admin_connection(admin_url) as conn:
        row = conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (db_name,)).fetchone()
        return int(row[0]) if row else 0


@dataclass
class Phase:
    """One measured phase: n processes serving the load."""

    processes: int
    startup_s: float
    startup_ok: int
    latencies: list[float]
    failures: list[str]
    wall_s: float
    sample: Sample
    deadlocks: int
    idle_in_transaction_left: int
    cpu_s: float  # CPU seconds the app processes (and their MCP servers) used during the load
    driver_cpu_s: float  # CPU seconds the client processes used during the load

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.wall_s if self.wall_s else 0.0


def run_phase(admin_url: str, k2_url: str, n: int, conversations: int, turns: int, servers: str) -> Phase:
    """Start n processes on a new, empty database and drive the load through them."""
    with new_database(admin_url) as db_url, tempfile.TemporaryDirectory(prefix="k2hub-scale-") as tmp:
        db_name = db_url.rsplit("/", 1)[1]
        sample, stop = Sample(), threading.Event()
        sampler = threading.Thread(target=sample_postgres, args=(admin_url, db_name, stop, sample), daemon=True)
        sampler.start()
        started = time.monotonic()
        apps = start_apps(n, db_url, Path(tmp) / "workspaces", k2_url, Path(tmp), servers)
        try:
            # The first turn of every process at once: each opens its agent on the empty database now.
            with ThreadPoolExecutor(n) as pool:
                first = list(pool.map(lambda i: turn(session(apps[i][1]), 10_000 + i, 0), range(n)))
            startup_s = time.monotonic() - started
            # DRIVERS client processes share the conversations; they open their sessions before the clock starts
            # (fetching Gradio's API description is not a turn), then all begin at once.
            ctx = multiprocessing.get_context("spawn")
            ready, out = ctx.Barrier(DRIVERS + 1), ctx.Queue()
            shares = [[(apps[i % n][1], i) for i in range(d, conversations, DRIVERS)] for d in range(DRIVERS)]
            drivers = [ctx.Process(target=drive, args=(share, turns, ready, out)) for share in shares]
            for driver in drivers:
                driver.start()
            ready.wait(timeout=START_TIMEOUT_S)
            sample.loading = True
            cpu_before, load_started = cpu_seconds(apps), time.monotonic()
            reports = [out.get(timeout=TURN_TIMEOUT_S * turns) for _ in drivers]
            wall = time.monotonic() - load_started
            cpu = cpu_seconds(apps) - cpu_before
            for driver in drivers:
                driver.join(30)
            results = [r for r, _ in reports]
            driver_cpu = sum(c for _, c in reports)
            time.sleep(1.0)  # every turn has ended: whatever is still inside a transaction a second later was left
            left = idle_in_transaction(admin_url, db_name)
        finally:
            stop_apps(apps)
            stop.set()
            sampler.join(5)
        flat = [r for share in results for r in share]
        return Phase(
            processes=n, startup_s=startup_s, startup_ok=sum(1 for _, ok, _ in first if ok),
            latencies=[s for s, ok, _ in flat if ok], failures=[why for _, ok, why in flat if not ok],
            wall_s=wall, sample=sample, deadlocks=deadlocks(admin_url, db_name), idle_in_transaction_left=left, cpu_s=cpu,
            driver_cpu_s=driver_cpu,
        )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(scaled: Phase, single: Phase, turns_per_phase: int) -> None:
    n = scaled.processes
    waits = sorted(scaled.sample.lock_waits.values())
    lines = {
        "processes": n,
        "conversations_x_turns": turns_per_phase,
        "startup_turns_ok": f"{scaled.startup_ok}/{n} (first turn of each process, all started together on an empty database, {scaled.startup_s:.1f} s)",
        "completed_turns": scaled.completed,
        "failed_turns": len(scaled.failures),
        "deadlocks": scaled.deadlocks,
        "lock_waits_seen": f"{len(waits)} during the load, {len(scaled.sample.startup_lock_waits)} during the start-up "
                           f"(longest {max(scaled.sample.startup_lock_waits.values(), default=0) * 1000:.0f} ms)",
        "lock_wait_p95_ms": f"{percentile(waits, 95) * 1000:.0f} (during the load)" if waits else "0 (none seen at 50 ms sampling during the load)",
        "turn_p50_s": f"{percentile(scaled.latencies, 50):.2f} (one process: {percentile(single.latencies, 50):.2f})",
        "turn_p95_s": f"{percentile(scaled.latencies, 95):.2f} (one process: {percentile(single.latencies, 95):.2f})",
        "turn_p50_ratio": f"{percentile(scaled.latencies, 50) / percentile(single.latencies, 50):.2f}",
        "turn_p95_ratio": f"{percentile(scaled.latencies, 95) / percentile(single.latencies, 95):.2f}",
        "throughput_turns_per_s": f"{scaled.throughput:.2f} (one process: {single.throughput:.2f})",
        "throughput_ratio": f"{scaled.throughput / single.throughput:.2f} (target >= {0.8 * n:.1f})",
        "db_connections_peak": f"{scaled.sample.peak_connections} ({scaled.sample.peak_connections / n:.1f} per process; "
                               f"one process: {single.sample.peak_connections})",
        "db_connections_active_peak": scaled.sample.peak_active,
        "idle_in_transaction_after_load": scaled.idle_in_transaction_left + single.idle_in_transaction_left,
        "idle_in_transaction_over_1s_seen": len(scaled.sample.idle_in_transaction_over_1s | single.sample.idle_in_transaction_over_1s),
        "one_process_failed_turns": len(single.failures),
        "one_process_deadlocks": single.deadlocks,
        "app_cpu_s_per_turn": f"{scaled.cpu_s / max(1, scaled.completed):.3f} (one process: "
                              f"{single.cpu_s / max(1, single.completed):.3f})",
        "app_cores_busy_during_load": f"{scaled.cpu_s / scaled.wall_s:.2f} (one process: {single.cpu_s / single.wall_s:.2f})",
        "client_cores_busy_during_load": f"{scaled.driver_cpu_s / scaled.wall_s:.2f} (one process: "
                                         f"{single.driver_cpu_s / single.wall_s:.2f}; {DRIVERS} client processes)",
        "cpu_cores": os.cpu_count(),
        "load_average_1m_at_start": f"{LOAD_AT_START:.1f} (other work on this machine competes for the same cores)",
    }
    for name, value in lines.items():
        print(f"{name}: {value}", flush=True)
    for pid, query in sorted(scaled.sample.idle_in_transaction_over_1s | single.sample.idle_in_transaction_over_1s)[:5]:
        print(f"idle in transaction > 1 s (seen while running): backend {pid} after {query!r}")
    for why in (scaled.failures + single.failures)[:5]:
        print(f"failure: {why}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=4, help="app processes (default 4)")
    ap.add_argument("--conversations", type=int, default=40, help="concurrent conversations (default 40)")
    ap.add_argument("--turns", type=int, default=2, help="turns per conversation, one after another (default 2)")
    ap.add_argument("--latency", type=float, default=0.3, help="seconds the fake K2 waits per model call")
    ap.add_argument("--servers", default="workspace", help="K2HUB_BUILTIN_SERVERS of each process")
    args = ap.parse_args(argv)
    # Each process holds at most K2HUB_DB_POOL_SIZE (5) app connections + as many for checkpoints.
    ctx = multiprocessing.get_context("spawn")
    urls, stop_k2 = ctx.Queue(), ctx.Event()
    k2 = ctx.Process(target=serve_k2, args=(args.latency, urls, stop_k2))
    k2.start()
    k2_url = urls.get(timeout=60)
    try:
        with throwaway_cluster(max_connections=max(100, 12 * (args.processes + 2))) as admin:
            scaled, single = run_both(admin, k2_url, args)
    finally:
        stop_k2.set()
        k2.join(10)
    report(scaled, single, args.conversations * args.turns)
    return 0 if not scaled.failures and scaled.deadlocks == 0 and scaled.startup_ok == args.processes else 1


def run_both(admin: str, k2_url: str, args: argparse.Namespace) -> tuple[Phase, Phase]:
    """N processes, then one, on fresh databases of the same cluster."""
    print(f"# {args.processes} processes vs 1, {args.conversations} conversations x {args.turns} turns, "
          f"{args.latency:g} s per model call", flush=True)
    scaled = run_phase(admin, k2_url, args.processes, args.conversations, args.turns, args.servers)
    print(f"# {args.processes} processes: {scaled.completed} turns in {scaled.wall_s:.1f} s, "
          f"{len(scaled.failures)} failed", flush=True)
    single = run_phase(admin, k2_url, 1, args.conversations, args.turns, args.servers)
    print(f"# 1 process: {single.completed} turns in {single.wall_s:.1f} s, {len(single.failures)} failed", flush=True)
    return scaled, single


if __name__ == "__main__":
    sys.exit(main())
