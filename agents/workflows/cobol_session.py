"""A COBOL→Go refactoring session, step by step, each step stored and resumable:

1. start: copy the project into a new conversation's workspace and analyse it (cobol__analyze_project, no model);
2. plan: one planner run that answers with the migration plan in a fixed markdown structure, saved on the session;
   the user edits it (save_plan) before anything is generated;
3. generate_and_verify: one planner run with the edited plan and the cobol-to-go-migration skill; it writes the Go
   modules, runs go test and cobol__verify in the sandbox, and each verify result updates the per-program rows.

The stage lives in the database; a run interrupted by a crash is resumed from its checkpoint (Agent.resume), and a
run another process finished (`python run.py resume`) is picked up from its stored answer and steps.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.workflows import cobol_report
from agents.errors import ConfigError
from agents.events import Event, Notice, RunFinished, RunStarted, ToolCallFinished
from agents.hub import tool_names as tn
from agents.planner.runner import RunRequest, system_prompt
from agents.policy import fit
from storage import cobol_sessions, repo
from storage.cobol_sessions import CobolSession

if TYPE_CHECKING:
    from agents.planner.runner import Agent

PLAN_FILE = "migration/plan.md"
PROJECT_DIR = "project"
SKILL = "cobol-to-go-migration"
MAX_MAP_CHARS = 120_000  # ~30K tokens of analysis in the plan prompt; the model can ask the tool for the rest
PLAN_PROMPT = (Path(__file__).resolve().parents[1] / "prompts" / "cobol_plan.md").read_text(encoding="utf-8")
GENERATE_PROMPT = (Path(__file__).resolve().parents[1] / "prompts" / "cobol_generate.md").read_text(encoding="utf-8")


def workspace(agent: Agent, conversation_id: str) -> Path:
    """The conversation's workspace folder, where the built-in servers keep it (the same settings reach both)."""
    return agent.config.workspace_root / conversation_id


def _meta(conversation_id: str) -> dict[str, Any]:
    return {"k2hub/conversation": conversation_id}


async def _analyze(agent: Agent, conversation_id: str, as_json: bool) -> str:
    """The cobol server's analysis of the project copy (deterministic: no model involved)."""
    args = {"path": PROJECT_DIR, "as_json": as_json}
    result = await agent.hub.call(tn.COBOL_ANALYZE, args, meta=_meta(conversation_id))
    if result.is_error:
        raise ConfigError(f"Analysis failed: {result.text}")
    return result.text


async def start(agent: Agent, source: Path, title: str = "") -> CobolSession:
    """Open a session: a new conversation whose workspace holds a copy of the project, analysed."""
    source = Path(source).expanduser()
    if not source.is_dir():
        raise ConfigError(f"{source}: not a folder; give the COBOL project's folder (or unzip it first)")
    conversation = await asyncio.to_thread(repo.create_conversation, agent.db, title or f"COBOL → Go: {source.name}")
    dest = workspace(agent, conversation.id) / PROJECT_DIR
    # Symlinks are left out: the workspace servers refuse them anyway, and one could point outside the project.
    await asyncio.to_thread(shutil.copytree, source, dest, symlinks=True, ignore=_symlinks)
    analysis = json.loads(await _analyze(agent, conversation.id, as_json=True))
    programs = [(p["program_id"], p["path"], p["lines"]) for p in analysis.get("programs", [])]
    summary = {"summary": analysis.get("summary", {}), "programs": [_brief(p) for p in analysis.get("programs", [])],
               "errors": analysis.get("errors", [])[:20]}  # fmt: skip
    return await asyncio.to_thread(
        cobol_sessions.create_session, agent.db, conversation.id, PROJECT_DIR, str(source), summary, programs
    )


def _symlinks(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if os.path.islink(os.path.join(folder, n))}


def _brief(program: dict[str, Any]) -> dict[str, Any]:
    keep = ("program_id", "path", "lines", "tokens", "calls", "copybooks", "reads_date", "accepts_input")
    out = {k: program.get(k) for k in keep if k in program}
    out["paragraphs"] = len(program.get("paragraphs") or [])
    out["files"] = [f.get("assign") or f.get("name") for f in program.get("files") or []]
    return out


def _session(agent: Agent, session_id: str) -> CobolSession:
    session = cobol_sessions.get_session(agent.db, session_id)
    if session is None:
        raise ConfigError(f"No COBOL session {session_id!r}.")
    return session


async def _drive(agent: Agent, run_id: str | None, request: RunRequest) -> AsyncIterator[Event]:
    """Resume run_id when a crash left it running, else start the request as a new run."""
    run = await asyncio.to_thread(repo.get_run, agent.db, run_id) if run_id else None
    if run is not None and agent.running(run.id):
        raise ConfigError("This step is already running; wait for it or press Stop.")
    events = agent.resume(run.id) if run is not None and run.status == "running" else agent.run(request)
    async for event in events:
        yield event


def _answer(agent: Agent, conversation_id: str, run_id: str) -> str:
    """The last assistant text a finished run stored."""
    rows = [m for m in repo.get_messages(agent.db, conversation_id) if m.run_id == run_id and m.role == "assistant"]
    return next((m.content for m in reversed(rows) if m.content), "")


async def plan(agent: Agent, session_id: str, **model: Any) -> AsyncIterator[Event]:
    """Draft the plan with one planner run (or resume/pick up the one a crash interrupted); saved on the session."""
    session = await asyncio.to_thread(_session, agent, session_id)
    prior = await asyncio.to_thread(repo.get_run, agent.db, session.plan_run_id) if session.plan_run_id else None
    if prior is not None and prior.status == "done" and not session.plan:  # finished elsewhere: take its answer
        text = await asyncio.to_thread(_answer, agent, session.conversation_id, prior.id)
        await save_plan(agent, session_id, text)
        yield Notice(run_id=prior.id, message="The plan run had finished; its plan is loaded.")
        return
    analysis = await _analyze(agent, session.conversation_id, as_json=False)
    if len(analysis) > MAX_MAP_CHARS:
        analysis = analysis[:MAX_MAP_CHARS] + "\n[… map cut: call cobol__analyze_project for the rest]"
    prompt = PLAN_PROMPT.format(path=session.project_path, analysis=analysis)
    await asyncio.to_thread(_check_size, agent, session, prompt, "Draft plan", model)
    request = RunRequest(prompt=prompt, conversation_id=session.conversation_id, label="COBOL · Draft the migration plan",
                         **model)
    resumable = session.plan_run_id if prior is not None and prior.status == "running" else None
    async for event in _drive(agent, resumable, request):
        if isinstance(event, RunStarted):
            await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id, plan_run_id=event.run_id,
                                    error=None)  # fmt: skip
        if isinstance(event, RunFinished):
            if event.reason == "done" and event.answer.strip():
                await save_plan(agent, session_id, event.answer)
            else:
                why = event.error or f"the plan run ended ({event.reason}) without a plan"
                await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id, error=why)
        yield event


def _check_size(agent: Agent, session: CobolSession, prompt: str, step: str, model: dict[str, Any]) -> None:
    """Refuse, before any model call, a step whose request cannot fit the chosen model's window: say so with the sizes
    and what works, instead of the provider's refusal after the run started."""
    spec = agent.resolve(model.get("provider"), model.get("model"), model.get("base_url"))
    verdict = fit.check_text([system_prompt(spec), prompt], spec, agent.config.home)
    if verdict.fits:
        return
    project = (session.analysis or {}).get("summary") or {}
    size = f" (the project: {project.get('programs', '?')} programs, ~{project.get('tokens') or 0:,} tokens)"
    raise ConfigError(
        f"{step} cannot run on {spec.model}: its request is ~{verdict.needed:,} tokens{size}, and the model takes "
        f"{verdict.room:,} of its {verdict.window:,}-token window. What works: pick {verdict.bigger_text()} in the "
        "model picker, or open a project with fewer programs (a folder with only the ones to migrate now)."
    )


async def save_plan(agent: Agent, session_id: str, text: str) -> CobolSession:
    """Store the (edited) plan, also as migration/plan.md in the workspace; the session is 'planned' again.

    The file is written by the workspace server (through the hub), whose safe file layer refuses a link the
    sandboxed code may have planted at migration/: the planner never opens workspace paths itself.
    """
    session = await asyncio.to_thread(_session, agent, session_id)
    if not text.strip():
        raise ConfigError("The plan is empty: draft it first, or write one.")
    text = text.strip() + "\n"
    saved = await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id, plan=text, stage="planned",
                                    error=None)
    written = await agent.hub.call("workspace__write_file", {"path": PLAN_FILE, "content": text},
                                   meta=_meta(session.conversation_id))
    if written.is_error:
        raise ConfigError(f"The plan is saved, but {PLAN_FILE} could not be written in the workspace: {written.text}")
    return saved


async def generate_and_verify(agent: Agent, session_id: str, **model: Any) -> AsyncIterator[Event]:
    """Generate the Go modules from the plan and verify them (one planner run); updates the per-program rows."""
    session = await asyncio.to_thread(_session, agent, session_id)
    if not session.plan.strip():
        raise ConfigError("The session has no plan yet: draft it (and edit it) first.")
    ws = workspace(agent, session.conversation_id)
    last = (session.run_ids or [None])[-1]
    prior = await asyncio.to_thread(repo.get_run, agent.db, last) if last else None
    if prior is not None and prior.status == "waiting":
        raise ConfigError("The generation run waits for an approval: approve or deny it in the Chat tab.")
    if session.stage in ("generating", "verifying") and prior is not None and prior.status != "running":
        await _finish(agent, session_id, ws, prior.status, prior.error)  # finished elsewhere (run.py resume)
        return
    resumable = last if session.stage in ("generating", "verifying") else None
    prompt = await asyncio.to_thread(_generate_prompt, agent, session)
    if resumable is None:
        await asyncio.to_thread(_check_size, agent, session, prompt, "Generate & verify", model)
    request = RunRequest(prompt=prompt,
                         conversation_id=session.conversation_id, label="COBOL · Generate and verify the Go modules",
                         **model)  # fmt: skip
    async for event in _drive(agent, resumable, request):
        if isinstance(event, RunStarted):
            ids = list(session.run_ids or [])
            if event.run_id not in ids:
                ids.append(event.run_id)
            session = await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id, run_ids=ids,
                                              stage="generating", error=None)  # fmt: skip
        elif isinstance(event, ToolCallFinished) and event.name in (cobol_report.VERIFY_TOOL, cobol_report.GO_TOOL):
            await asyncio.to_thread(cobol_report.refresh, agent.db, session, ws)
            if event.name == cobol_report.VERIFY_TOOL and session.stage != "verifying":
                session = await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id,
                                                  stage="verifying")  # fmt: skip
        elif isinstance(event, RunFinished) and event.reason != "waiting":
            status = "done" if event.reason in ("done", "budget", "loop") else "failed"
            await _finish(agent, session_id, ws, status, event.error)
        yield event


async def _finish(agent: Agent, session_id: str, ws: Path, status: str, error: str | None) -> None:
    session = await asyncio.to_thread(_session, agent, session_id)
    await asyncio.to_thread(cobol_report.refresh, agent.db, session, ws)
    failed = status in ("failed", "stopped", "interrupted")
    await asyncio.to_thread(cobol_sessions.update_session, agent.db, session_id, stage="failed" if failed else "done",
                            error=(error or "the run stopped") if failed else None)  # fmt: skip


def _generate_prompt(agent: Agent, session: CobolSession) -> str:
    from skills.registry import Registry

    try:
        skill = Registry(agent.db).get(SKILL)
        procedure, ref = skill.body, f"{SKILL}@{skill.version}"
    except Exception:  # noqa: BLE001 - a missing or broken skill must not block the session: name it instead
        procedure, ref = f"Load the skill {SKILL} with skills_hub__load_skill and follow it.", SKILL
    return GENERATE_PROMPT.format(path=session.project_path, plan=session.plan.strip(), skill=ref,
                                  procedure=procedure.strip())  # fmt: skip


def next_step(session: CobolSession) -> str:
    """What continuing the session does now: 'plan', 'generate' (also resuming or retrying it) or 'done'."""
    if session.stage == "analyzed":
        return "plan"
    return "done" if session.stage == "done" else "generate"


async def advance(agent: Agent, session_id: str, **model: Any) -> AsyncIterator[Event]:
    """Continue the session at its stored stage (after a crash or a restart)."""
    session = await asyncio.to_thread(_session, agent, session_id)
    step = next_step(session)
    events = plan(agent, session_id, **model) if step == "plan" else (
        generate_and_verify(agent, session_id, **model) if step == "generate" else None)  # fmt: skip
    if events is None:
        return
    async for event in events:
        yield event


def report(agent: Agent, session_id: str) -> str:
    """The session's report (markdown) with its runs' token and cost totals."""
    session = _session(agent, session_id)
    runs = repo.list_runs(agent.db, session.conversation_id)
    tokens = sum(r.prompt_tokens + r.completion_tokens for r in runs)
    cost = sum(r.cost_usd for r in runs)
    return cobol_report.report(session, cobol_sessions.programs(agent.db, session_id), (tokens, cost))
