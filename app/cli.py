"""Command line: `k2hub [serve|ask|resume|approve|runs|models|local|mcp|test]` (also `python run.py ...`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

DIM, RESET, CYAN, RED, YELLOW, BOLD = "\033[2m", "\033[0m", "\033[36m", "\033[31m", "\033[33m", "\033[1m"
PROVIDERS = ["groq", "moonshot", "vllm", "openai-compatible", "local"]
NO_LOCAL_HELP = "do not install the embedded local model in the background, nor use it when no key is set"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="k2hub", description="K2 Agent Hub: an agent workbench for Kimi K2.")
    p.add_argument("--no-local", action="store_true", help=NO_LOCAL_HELP)
    sub = p.add_subparsers(dest="verb")
    serve = sub.add_parser("serve", help="start the web UI (the default)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 7860, next free one if taken)")
    serve.add_argument("--no-browser", action="store_true", help="do not open a browser")
    serve.add_argument("--no-local", dest="no_local_serve", action="store_true", help=NO_LOCAL_HELP)
    ask = sub.add_parser("ask", help="run one headless turn and stream it to the terminal")
    ask.add_argument("prompt", help="the question or task")
    _model_flags(ask)
    ask.add_argument("--max-steps", type=int, default=None, help="step budget for this run (default 300)")
    ask.add_argument("--conversation", default=None, help="continue this conversation id")
    ask.add_argument("--json", action="store_true", help="print one JSON event per line")
    ask.add_argument("--attach", action="append", default=[], metavar="FILE",
                     help="an image (PNG, JPEG, WebP, GIF) or PDF to send with the question; repeatable")
    resume = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_id", nargs="?", help="run id (default: the most recent interrupted run)")
    resume.add_argument("--json", action="store_true", help="print one JSON event per line")
    sub.add_parser("runs", help="list interrupted runs that can be resumed")
    models = sub.add_parser("models", help="list the models a provider serves (GET /models)")
    _model_flags(models)
    local = sub.add_parser("local", help="install the embedded local model in the foreground, or show its status")
    local.add_argument("action", nargs="?", choices=["install", "status"], default="status")
    from app.cobol_cli import add_parser as add_cobol_parser

    add_cobol_parser(sub)
    from app.approval_cli import add_parser as add_approve_parser

    add_approve_parser(sub)
    from app.skills_cli import add_parser as add_skills_parser

    add_skills_parser(sub)
    from app.mcp_cli import add_parser as add_mcp_parser

    add_mcp_parser(sub)
    # Listed for --help only: main() hands everything after `test` to pytest before parsing.
    test = sub.add_parser("test", help="run the test suite (pytest)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments")
    return p


def _model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", choices=PROVIDERS, default=None, help="provider preset")
    p.add_argument("--model", default=None, help="model id")
    p.add_argument("--base-url", default=None, help="API base URL (vllm, openai-compatible)")


SERVE_FLAGS = ("--host", "--port", "--no-browser")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `k2hub` console script and of run.py."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].split("=")[0] in SERVE_FLAGS:
        # `python run.py --port 8000` means `python run.py serve --port 8000`.
        argv.insert(0, "serve")
    trailing: list[str] | None = None
    if argv[:1] == ["test"]:  # everything after `test` is pytest's, options first too (argparse's REMAINDER is not)
        return run_tests(argv[1:])
    if argv[:2] == ["mcp", "add"] and "--" in argv:  # `mcp add NAME [options] -- COMMAND ARGS…`, taken verbatim
        cut = argv.index("--")
        argv, trailing = argv[:cut], argv[cut + 1:]
    args = _parser().parse_args(argv)
    if trailing is not None:
        args.command = trailing
    verb = args.verb or "serve"
    if verb == "cobol":
        from app.cobol_cli import cobol_verb

        return cobol_verb(args)
    if verb == "skills":
        from app.skills_cli import skills_verb

        return skills_verb(args)
    if verb == "mcp":
        from app.mcp_cli import mcp_verb

        return mcp_verb(args, _settings())
    if verb == "local":
        from app.local_cli import local_verb

        return local_verb(args.action)
    no_local = args.no_local or getattr(args, "no_local_serve", False)
    if verb == "serve":
        from app.perimeter import AuthError
        from app.server import serve

        kw = {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}
        settings = _settings(**kw, local=False if no_local else None)
        try:
            serve(settings, open_browser=not getattr(args, "no_browser", False), install_local=settings.local)
        except AuthError as err:
            print(f"K2 Agent Hub: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        return asyncio.run(_async_main(verb, args))
    except KeyboardInterrupt:
        return 130


def run_tests(extra: list[str]) -> int:
    """The whole suite, exactly as CI runs it: one pytest-xdist worker per core, a test file's tests on one worker."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The slowest tests are listed at the end: the suite's time budget (15 minutes on 2 cores) is watched in CI's log.
    durations = [] if any(a.startswith("--durations") for a in extra) else ["--durations=25"]
    # Short tracebacks: a CI log keeps its head and tail, and a browser test's long trace hid its error line.
    short = [] if any(a.startswith("--tb") for a in extra) else ["--tb=short"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-rs", *durations, *short, *_parallel(extra), *extra],
                           cwd=root)


def _parallel(extra: list[str]) -> list[str]:
    # Most of the suite waits on subprocesses, servers and a browser, so two workers on two cores roughly halve the
    # wall time. Files stay whole on one worker: their module-scoped fixtures (a started app, a server) start once.
    # The caller's own -n/--dist/-p no:xdist wins.
    chosen = any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in extra)
    if chosen or importlib.util.find_spec("xdist") is None:
        return []
    return ["-n", "auto", "--dist", "loadfile"]


def _settings(**overrides: Any) -> Any:
    from app.config import load_settings

    return load_settings(**overrides)


async def _async_main(verb: str, args: argparse.Namespace) -> int:
    from agents.errors import AppError

    settings = _settings(
        provider=getattr(args, "provider", None), model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None), local=False if args.no_local else None,
    )
    try:
        if verb == "models":
            return await _models(settings)
        from app.services import open_agent

        agent = await open_agent(settings)
        try:
            if verb == "runs":
                return _list_runs(agent)
            if verb == "resume":
                return await _resume(agent, args)
            if verb == "approve":
                from app.approval_cli import approve_events

                return await _print_events(approve_events(agent, args), as_json=args.json)
            from agents.planner.runner import RunRequest

            from app.attach_cli import attachments

            images, documents = await attachments(agent.db, args.attach)
            req = RunRequest(prompt=args.prompt, conversation_id=args.conversation, max_steps=args.max_steps,
                             images=images, documents=documents)
            from app.elicitation_cli import answer_questions

            events = answer_questions(agent, agent.run(req))  # a server's question: asked on a tty, else declined
            if not args.json and sys.stdin.isatty() and sys.stdout.isatty():  # ask y/N when a call needs approval
                from app.approval_cli import interactive

                events = interactive(agent, events)
            return await _print_events(events, as_json=args.json)
        finally:
            await agent.aclose()
    except AppError as exc:
        print(f"{RED}error:{RESET} {exc}", file=sys.stderr)
        return 1


async def _models(settings: Any) -> int:
    from agents.models.providers import discover_models, first_configured_provider

    provider = settings.provider or first_configured_provider(settings.home) or "openai-compatible"
    for model in await discover_models(provider, settings.base_url or None, home=settings.home,
                                       api_key=settings.api_key or None):
        print(model)
    return 0


def _list_runs(agent: Any) -> int:
    from storage import repo

    runs = repo.unfinished_runs(agent.db)
    if not runs:
        print("No interrupted runs.")
    for run in runs:
        print(f"{run.id}  {run.started_at:%Y-%m-%d %H:%M}  {run.status}  {run.provider}/{run.model}  "
              f"conversation {run.conversation_id}")
    return 0


async def _resume(agent: Any, args: argparse.Namespace) -> int:
    from storage import repo

    run_id = args.run_id
    if not run_id:
        runs = repo.unfinished_runs(agent.db)
        if not runs:
            print("No interrupted runs.")
            return 0
        run_id = runs[-1].id
    from app.elicitation_cli import answer_questions

    events = answer_questions(agent, agent.resume(run_id))
    if not args.json and sys.stdin.isatty() and sys.stdout.isatty():  # ask y/N for calls still waiting
        from app.approval_cli import interactive

        events = interactive(agent, events)
    return await _print_events(events, as_json=args.json)


async def _print_events(events: Any, *, as_json: bool) -> int:
    """Stream events to the terminal; exit code 0 only when the run finished normally."""
    tty = sys.stdout.isatty()
    color = (lambda code, text: f"{code}{text}{RESET}") if tty else (lambda _code, text: text)
    mode = ""
    finished = None
    async for ev in events:
        if as_json:
            print(ev.model_dump_json(), flush=True)
        else:
            mode = _print_human(ev, mode, color)
        if ev.type == "run_finished":
            finished = ev
    if finished is not None and finished.reason == "waiting":
        from app.approval_cli import WAITING_EXIT

        return WAITING_EXIT
    return 0 if finished is not None and finished.reason == "done" else 1


def privacy_line(ev: Any) -> str:
    """What a Redaction event tells the user in one line (placeholders, never values)."""
    if not ev.active:
        return f"[privacy] not redacted — {ev.reason}"
    shown = ", ".join(ev.placeholders[:8]) + (" …" if len(ev.placeholders) > 8 else "")
    return f"[privacy] {len(ev.placeholders)} value(s) sent as placeholders ({ev.reason})" + (f": {shown}" if shown else "")


def swarm_line(ev: Any) -> str:
    """An agent swarm's start, or one sub-agent's start or end, in one line."""
    if ev.type == "swarm_started":
        again = f", {ev.resumed} replayed" if ev.resumed else ""
        return f"[swarm] {len(ev.goals)} sub-agents, up to {ev.concurrency} at once{again} ({ev.swarm_id})"
    head = f"[swarm] {ev.index + 1}. {ev.goal[:80]}"
    if ev.type == "subagent_started":
        return f"{head}: started" + (f" (attempt {ev.attempt})" if ev.attempt > 1 else "")
    result = f" — {ev.error}" if ev.error else (f": {ev.preview[:120]}" if ev.preview else "")
    return (f"{head}: {ev.status} · {ev.tool_calls} tools · {ev.tokens:,} tokens · ${ev.cost_usd:.4f}{result}"
            + (f" [artifact {ev.artifact_id}]" if ev.artifact_id else ""))


def _print_human(ev: Any, mode: str, color: Any) -> str:
    out = sys.stdout
    if ev.type == "reasoning_delta":
        if mode != "reasoning":
            out.write(color(DIM, "\n[thinking] "))
        out.write(color(DIM, ev.text))
        mode = "reasoning"
    elif ev.type == "text_delta":
        if mode != "text":
            out.write("\n")
        out.write(ev.text)
        mode = "text"
    elif ev.type == "tool_call_started":
        out.write(color(CYAN, f"\n→ {ev.name}({json.dumps(ev.arguments, ensure_ascii=False)[:200]})\n"))
        mode = "tool"
    elif ev.type == "tool_call_finished":
        status = color(RED, f"error: {ev.error}") if ev.error else ev.preview.replace("\n", " ")[:200]
        out.write(color(CYAN, f"← {ev.name} ({ev.duration_s:.2f}s): ") + status + "\n")
        mode = "tool"
    elif ev.type == "tool_call_progress":
        share = f"{ev.progress / ev.total:.0%}" if ev.total else f"{ev.progress:g}"
        out.write(color(DIM, f"  … {ev.name} {share} {ev.message or ''}\n"))
        mode = "tool"
    elif ev.type == "tool_call_log":
        out.write(color(DIM, f"  [{ev.level}] {ev.text[:300]}\n"))
        mode = "tool"
    elif ev.type == "approval_requested":
        from app.approval_cli import describe

        out.write(describe(ev, color, YELLOW, BOLD))
        mode = "approval"
    elif ev.type == "notice":
        out.write(color(RED if ev.level == "error" else YELLOW, f"\n[{ev.level}] {ev.message}\n"))
        mode = "notice"
    elif ev.type in ("swarm_started", "subagent_started", "subagent_finished"):
        out.write(color(DIM, "\n" + swarm_line(ev) + "\n"))  # subagent_progress: --json only
        mode = "notice"
    elif ev.type == "redaction":
        line = privacy_line(ev)
        if line != getattr(_print_human, "last_privacy", None):  # one line per change, not one per model call
            _print_human.last_privacy = line  # type: ignore[attr-defined]
            out.write(color(DIM, f"\n{line}\n"))
            mode = "notice"
    elif ev.type == "run_finished":
        if ev.error:
            out.write(color(RED, f"\n{ev.error}"))
        skills = f" · skills: {', '.join(ev.skills_used)}" if ev.skills_used else ""
        out.write(color(DIM, f"\n— {ev.steps} steps · {ev.tokens:,} tokens · ${ev.cost_usd:.4f} · {ev.reason}{skills}\n"))
    out.flush()
    return mode


if __name__ == "__main__":
    sys.exit(main())
