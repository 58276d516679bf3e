"""Runs one conversation turn through the planner: resolves the model, streams events, persists the run, resumes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from agents.errors import ConfigError
from agents.models.image_prep import ImageRefused, PreparedImage
from agents.models.vision import no_vision_notice, vision_of
from agents.events import Event, Notice, RunFinished, RunStarted
from agents.hub.assembly import ConfigWatch, app_hub
from agents.hub.config import builtin_servers
from agents.hub.elicitation import Action, Answer
from agents.planner import context_tools
from agents.hub.hub import Hub
from agents.models import providers
from agents.models.presets import PRESETS
from agents.models.providers import RetryPolicy
from agents.planner.graph import build_graph
from agents.planner import images
from agents.planner.history import repaired
from agents.planner.images import Attachment
from agents.planner.partial import PartialAnswer
from agents.planner.state import RunContext, appended
from agents.planner.tool_needed import needs_tool
from agents.planner.tools import PlannerTool, PlannerTools
from agents.policy import context, page_check, pre_retrieval, tool_choice
from agents.policy.budget import Limits
from agents.privacy import detector as privacy_detector
from agents.privacy.session import PrivacyConfig, open_session
from storage import approvals, repo
from storage import documents as conversation_documents
from storage.checkpoint import open_checkpointer, prune_finished
from storage.db import Database
from storage.transcript import store_run_result

logger = logging.getLogger(__name__)
SYSTEM_PROMPT = (Path(__file__).resolve().parents[1] / "prompts" / "system.md").read_text(encoding="utf-8")
# Small local models: a short prompt with one worked call in the format they write (agents/models/presets small).
SMALL_MODEL_PROMPT = (Path(__file__).resolve().parents[1] / "prompts" / "small_model.md").read_text(encoding="utf-8")
_STATUS = {"done": "done", "budget": "budget", "loop": "loop", "error": "failed", "stopped": "stopped"}
_END = object()
# Checkpoints are written while the next step runs ("async"): every model and tool step is first recorded in its
# Step row, and a resumed run replays those instead of running them again, so no completed step is lost or repeated.
DURABILITY = "async"
SEARCH_TOOL = pre_retrieval.SEARCH_TOOL
NEW_CHAT = "New chat"
"""The title of a conversation created before its first message; that message names it."""
PRE_RETRIEVAL_TOKENS = 1200  # of a small model's 8K window: pages, beside the short prompt, tools and the answer


@dataclass
class RunRequest:
    """One user turn: the prompt plus the model choice (empty fields fall back to settings)."""

    prompt: str
    conversation_id: str | None = None
    # What the chat shows for this turn when the prompt is the app's own (a workflow step's long instructions).
    label: str | None = None
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    max_steps: int | None = None
    # An explicit model chain (sub-agents, benchmarks) replaces provider/model/base_url.
    chain: list[providers.ModelSpec] | None = None
    images: list[Attachment] = field(default_factory=list)  # the user's images for this turn (issue 21)
    documents: list[str] = field(default_factory=list)  # ingested document ids to attach to the conversation


@dataclass
class AgentConfig:
    """What the agent needs from settings: the app builds it from its Settings (app/services.py), which hold every
    default; agents never import app, so the values without a default here are always handed in."""

    home: Path
    limits: Limits
    tool_timeout_s: float
    result_chars: int
    provider: str = ""
    model: str = ""
    base_url: str = ""
    api_key: str = ""
    fallbacks: list[str] = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    builtin: list[str] | None = None  # built-in MCP servers to start; None: all
    # The built-in servers' settings as K2HUB_* variables (Settings.server_env()): a value the user put only in
    # $K2HUB_HOME/.env reaches the server processes too. Without it they get this process's K2HUB_* variables.
    server_env: dict[str, str] = field(default_factory=dict)
    workspaces: Path | None = None  # root of the per-conversation workspaces; None: home / "workspaces"
    local: bool = True  # the embedded local model may be the automatic default (false: --no-local)
    planner_tools: list[PlannerTool] = field(default_factory=list)  # features' tools (agents/workflows)
    privacy: PrivacyConfig | None = None  # None: no redaction layer at all (benchmarks, tests of other features)
    library_dirs: list[str] = field(default_factory=list)  # folders whose files the model may read without asking
    context_window: int = 0  # tokens the primary model accepts (e.g. vLLM's --max-model-len); 0: its preset's

    @property
    def workspace_root(self) -> Path:
        """Where the built-in servers keep each conversation's workspace."""
        return self.workspaces or self.home / "workspaces"


class Agent:
    """The planner as a service: one per process, shared by the UI, the CLI and tests."""

    def __init__(self, config: AgentConfig, db: Database, hub: Hub, checkpointer: Any) -> None:
        self.config = config
        self.db = db
        self.hub = hub
        self.graph = build_graph(checkpointer)
        # The planner's own context tools (re-read a kept result, notes) beside the features' tools.
        self.planner_tools = PlannerTools.of([*config.planner_tools, *context_tools.planner_tools()])
        self.servers = ConfigWatch(config.home)  # mcp.json and consent changes made while the agent runs
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Runs whose documents the app searched before the first model call, with the pages it showed the model.
        self._prefetched: dict[str, pre_retrieval.Found] = {}
        self._pages_only: set[str] = set()  # of those, runs answered from the found pages alone (no tools offered)
        self._stack = contextlib.AsyncExitStack()

    @classmethod
    async def open(cls, config: AgentConfig, *, database_url: str | None = None) -> "Agent":
        """Open the database and checkpointer and start the MCP hub (call inside the event loop that will use it)."""
        stack = contextlib.AsyncExitStack()
        context.preload_encoding()  # every model call counts its request; the vocabulary takes seconds to load
        try:
            db = Database(database_url)
            stack.callback(db.close)
            # e.g. the built-in skills installed or upgraded: idempotent, a hash check once installed
            await asyncio.to_thread(PlannerTools.of(config.planner_tools).prepare, db)
            checkpointer = await stack.enter_async_context(open_checkpointer(db.url))
            env = {**os.environ, **config.server_env, "K2HUB_HOME": str(config.home)}
            try:
                if config.library_dirs:  # the servers scope documents and paths by the same folders as the gate
                    env["K2HUB_LIBRARY_DIRS"] = ",".join(config.library_dirs)
                builtins = builtin_servers(env, config.builtin)
            except ValueError as exc:
                raise ConfigError(f"K2HUB_BUILTIN_SERVERS: {exc}") from None
            hub = app_hub(config.home, builtins, tool_timeout_s=config.tool_timeout_s,
                          workspace_root=config.workspace_root)
            await hub.start()
            stack.push_async_callback(hub.aclose)
        except BaseException:
            await stack.aclose()
            raise
        agent = cls(config, db, hub, checkpointer)
        agent._stack = stack
        if config.privacy is not None and config.privacy.mode != "off":
            # Presidio imports spaCy (seconds): load it while the user types, not during the first request.
            threading.Thread(target=privacy_detector.warm_up, name="privacy-warm-up", daemon=True).start()
        return agent

    def warm_model_worker(self) -> None:
        """Start the model worker process (sub-agents' whole answers) now, in the background: nothing waits on it.

        Why: its import of litellm costs seconds of CPU. Started by the first swarm, that import ran on the swarm's
        own clock, and until it finished the sub-agents' answers were made in this process, beside their planners
        (benchmarks/bench_swarm.py: 200-470 of 600). The long-lived web app calls this when its agent opens, while
        the user types; a one-shot CLI question does not (the ~220 MB process and its ~3 s of CPU would compete
        with the question's own first call, for a swarm it rarely starts). Only for an agent that offers a tool
        running through the worker, and not for the local model: its calls stay in this process."""
        if not any(t.model_worker for t in self.config.planner_tools):
            return
        try:
            spec = self.resolve(None)
            if spec.provider != "local":
                providers.start_model_worker()
        except ConfigError:
            return  # no model configured yet: the first swarm starts the worker, as before
        except Exception:  # noqa: BLE001 - a warm-up only: opening the agent must not fail for it
            logger.warning("The model worker was not started when the agent opened; the first swarm starts it.",
                           exc_info=True)

    async def aclose(self) -> None:
        """Stop running turns, the MCP servers and the database."""
        for task in list(self._tasks.values()):
            task.cancel()
        await self._stack.aclose()

    def _explicit_key(self, provider: str | None) -> str | None:
        # The configured api_key belongs to the self-hosted presets; hosted ones use their own variables.
        preset = PRESETS.get(provider or "")
        return self.config.api_key or None if preset is not None and preset.key_optional else None

    def _limits(self, max_steps: int | None) -> Limits:
        base = self.config.limits
        return base if not max_steps else Limits(max_steps, base.max_tokens, base.max_cost_usd, base.max_wall_s)

    def running(self, run_id: str) -> bool:
        """Whether this process is driving the run right now (a 'running' row without it was left by a crash)."""
        return run_id in self._tasks

    def stop(self, run_id: str) -> None:
        """Stop a run: its current model or tool call is cancelled and it ends with reason 'stopped'."""
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            task.cancel()

    def answer(self, question_id: str, action: Action, values: dict[str, Any] | None = None) -> Answer:
        """The user's answer to a server's question (ElicitationRequested); FormError names a bad field,
        KeyError means nobody waits for that question any more."""
        return self.hub.questions.answer(question_id, action, values)

    async def sync_servers(self) -> bool:
        """Apply mcp.json and consent changes made since the last look (CLI `mcp ...`, the MCP tab)."""
        return await self.servers.sync(self.hub)

    async def run(self, req: RunRequest) -> AsyncIterator[Event]:
        """Run one turn, yielding events; the model is resolved before anything is stored."""
        cfg = self.config
        await self.sync_servers()
        if req.chain:
            async for event in self._start(req, req.chain):
                yield event
            return
        try:
            spec = self.resolve(req.provider, req.model, req.base_url)
        except ConfigError as exc:
            yield Notice(level="error", message=str(exc))
            yield RunFinished(answer="", steps=0, tokens=0, cost_usd=0.0, reason="error", error=str(exc))
            return
        async for event in self._start(req, providers.resolve_chain(spec, cfg.fallbacks, home=cfg.home)):
            yield event

    def resolve(
        self, provider: str | None, model: str | None = None, base_url: str | None = None
    ) -> providers.ModelSpec:
        """The model a run with these choices would use (empty ones fall back to settings), its window as configured:
        the UI checks sizes against it before anything is sent. Raises ConfigError like run() reports it."""
        cfg = self.config
        chosen = provider or cfg.provider or None
        same = not provider or provider == cfg.provider
        spec = providers.resolve(chosen, model or (cfg.model if same else None),
                                 base_url or (cfg.base_url if same else None) or None, home=cfg.home,
                                 api_key=self._explicit_key(chosen), local=cfg.local)
        return self._sized([spec])[0]

    def _sized(self, chain: list[providers.ModelSpec]) -> list[providers.ModelSpec]:
        """The chain with the configured context window on its primary model (the user's figure wins)."""
        if self.config.context_window <= 0:
            return chain
        info = dataclasses.replace(chain[0].info, context_window=self.config.context_window)
        return [dataclasses.replace(chain[0], info=info), *chain[1:]]

    async def _start(self, req: RunRequest, chain: list[providers.ModelSpec]) -> AsyncIterator[Event]:
        chain = self._sized(chain)
        try:  # an image that cannot be sent stops the turn before anything is stored
            prepared = await asyncio.to_thread(images.prepare_all, chain[0], req.images) if req.images else []
        except ImageRefused as exc:
            yield Notice(level="error", message=str(exc))
            yield RunFinished(answer="", steps=0, tokens=0, cost_usd=0.0, reason="error", error=str(exc))
            return
        # Database work runs off the event loop: a blocking write there would stall the checkpointer's connection.
        conversation_id, run_id, history, user = await asyncio.to_thread(self._open_run, req, chain[0], prepared)
        # Attached documents lead the run's messages: whole when they fit the window, else a note to search them.
        lead, plan = await asyncio.to_thread(context.prepare_run, self.db, run_id, conversation_id, chain[0],
                                             [*history, user], system_prompt(chain[0]), self.hub.tools())
        lead_messages = [lead] if lead else []
        found = None
        if plan.mode in ("retrieval", "sub_agents") and chain[0].info.small and _offers(self.hub, SEARCH_TOOL):
            # A small model does not search by itself: the app searches with the question and sends the best pages.
            found = await pre_retrieval.top_pages(self.hub, self.db, conversation_id, run_id, req.prompt,
                                                  plan.documents, PRE_RETRIEVAL_TOKENS)
            if found.message is not None:
                self._prefetched[run_id] = found
                if needs_tool(req.prompt):
                    lead_messages.append(found.message)
                else:
                    # The found lines answer the question: measured, the 0.5B model offered 15 tools and told to
                    # search answered "2018 million"; shown only the lines, it copied the figure. It gets no tools
                    # this run (asking to read, search or write still gets them: tool_needed) and no search note.
                    lead_messages = [found.message]
                    self._pages_only.add(run_id)
        for n, doc in enumerate(plan.documents):  # documents are written by strangers: the conversation is tainted
            await asyncio.to_thread(approvals.record_untrusted_read, self.db, conversation_id, run_id,
                                    f"document.{n}", "attached documents", f"document {doc.title!r} ({doc.id[:12]})")
        state = {"messages": appended([*lead_messages, *history, user]), "base": len(lead_messages) + len(history) + 1,
                 "started_at": time.time()}
        limits = self._limits(req.max_steps)
        async for event in self._drive(run_id, conversation_id, chain, limits, state, resumed=False):
            yield event
            if lead and isinstance(event, RunStarted):
                yield context.plan_notice(plan, run_id)
                if found is not None:
                    yield Notice(run_id=run_id, level="info", message=found.describe())
            if prepared and isinstance(event, RunStarted) and vision_of(chain[0]) is None:
                yield Notice(level="warning", message=no_vision_notice(chain[0]))
        await asyncio.to_thread(context.calibrate, self.db, run_id)

    def _open_run(
        self, req: RunRequest, spec: providers.ModelSpec, prepared: Sequence[PreparedImage] = ()
    ) -> tuple[str, str, list[dict[str, Any]], dict[str, Any]]:
        """The conversation (created if new), its history made valid, a new run, and the user's message (stored,
        with its prepared images kept as artifacts and its PDFs attached)."""
        conversation = repo.get_conversation(self.db, req.conversation_id) if req.conversation_id else None
        if conversation is None:
            conversation = repo.create_conversation(self.db, _title(req.prompt), spec.provider, spec.model)
        stored = providers.prepare_messages(repo.messages_as_openai(self.db, conversation.id))
        if not stored and conversation.title == NEW_CHAT:  # opened before its first message (e.g. its tools chosen)
            repo.rename_conversation(self.db, conversation.id, _title(req.prompt))
        history = repaired(stored, "the run that asked for it ended first")
        run = repo.create_run(self.db, conversation.id, spec.provider, spec.model, meta=_meta(spec, req))
        user: dict[str, Any] = {"role": "user", "content": req.prompt}
        if req.label:  # a workflow's prompt is shown as its step, never as if the user typed it
            user["_label"] = req.label
        if prepared:  # kept as artifacts, named on the message: later turns show them while the context allows
            named = [(a.name, p) for a, p in zip(req.images, prepared, strict=True)]
            user[images.IMAGES] = images.store(self.db, spec, named, conversation.id, run.id)
        for document_id in req.documents:
            conversation_documents.attach(self.db, conversation.id, document_id)
        repo.append_messages(self.db, conversation.id, run.id, [user])
        return conversation.id, run.id, history, user

    async def resume(self, run_id: str) -> AsyncIterator[Event]:
        """Continue a run from its last checkpoint (after a crash or kill): completed steps are not run again."""
        run = await asyncio.to_thread(repo.get_run, self.db, run_id)
        if run is None:
            raise ConfigError(f"No run {run_id!r}.")
        if run.status not in ("running", "waiting"):
            # A finished run's messages are stored and its checkpoints pruned: there is nothing to continue.
            raise ConfigError(f"Run {run_id!r} has finished ({run.status}); nothing to resume.")
        meta = run.meta or {}
        spec = providers.resolve(run.provider, run.model, meta.get("base_url") or None, home=self.config.home,
                                 api_key=self._explicit_key(run.provider), local=self.config.local)
        chain = self._sized(providers.resolve_chain(spec, self.config.fallbacks, home=self.config.home))
        limits = self._limits(meta.get("max_steps"))
        if run.status != "running":
            await asyncio.to_thread(repo.update_run, self.db, run_id, status="running", finished_at=None, error=None)
        async for event in self._drive(run.id, run.conversation_id, chain, limits, None, resumed=True):
            yield event

    async def _drive(
        self,
        run_id: str,
        conversation_id: str,
        chain: list[providers.ModelSpec],
        limits: Limits,
        state: dict[str, Any] | None,
        *,
        resumed: bool,
    ) -> AsyncIterator[Event]:
        tools = self.planner_tools.offer(self.hub.tools())  # + the features' own tools (e.g. analyze_documents)
        # Only what this conversation has on (its tools menu, else the default set for its kind).
        chosen = await asyncio.to_thread(tool_choice.choice, self.db, conversation_id)
        tools = tool_choice.offered(tools, chosen.off)
        if run_id in self._pages_only:
            tools = []
        # e.g. progressive disclosure: the few skills matching the user's prompt, named in the system prompt.
        sections = await asyncio.to_thread(self.planner_tools.prompt_sections, self.db, run_id, tools,
                                           chain[0].info.context_window)
        privacy = self.config.privacy
        session = None if privacy is None else await asyncio.to_thread(
            open_session, self.db, self.config.home, conversation_id, privacy)
        ctx = RunContext(
            run_id=run_id,
            conversation_id=conversation_id,
            db=self.db,
            hub=self.hub,
            chain=chain,
            limits=limits,
            system_prompt=system_prompt(chain[0]).format(today=date.today().isoformat()) + sections,
            tools=tools,
            planner_tools=self.planner_tools,
            subgraph=_subgraph,
            # A small local model gets a smaller view; the rest of a long result is kept as an artifact.
            result_chars=min(self.config.result_chars, chain[0].info.result_chars or self.config.result_chars),
            retry=self.config.retry,
            resumed=resumed,
            privacy=session,
            library_dirs=tuple(os.path.realpath(os.path.expanduser(d)) for d in self.config.library_dirs),
        )
        config = {"configurable": {"thread_id": run_id}}
        yield RunStarted(run_id=run_id, conversation_id=conversation_id, provider=chain[0].provider,
                         model=chain[0].model, resumed=resumed)
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for chunk in self.graph.astream(
                    state, config, context=ctx, stream_mode="custom", durability=DURABILITY
                ):
                    queue.put_nowait(chunk)
            finally:
                queue.put_nowait(_END)

        task = asyncio.create_task(pump())
        self._tasks[run_id] = task
        partial = PartialAnswer()  # what the user saw of an answer a Stop or crash cuts off
        try:
            while (item := await queue.get()) is not _END:
                item.run_id = run_id
                partial.note(item)
                yield item
            crash = None if task.cancelled() else task.exception()
        finally:
            if not task.done():
                # The consumer went away (browser closed): stop the run rather than leave it running unseen.
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            self._tasks.pop(run_id, None)
        yield await self._finish(run_id, conversation_id, config, stopped=task.cancelled(), crash=crash,
                                 partial=partial.message())

    async def _finish(
        self, run_id: str, conversation_id: str, config: dict[str, Any], *, stopped: bool, crash: BaseException | None,
        partial: dict[str, Any] | None = None,
    ) -> RunFinished:
        snapshot = await self.graph.aget_state(config)
        values = snapshot.values
        if snapshot.interrupts and not stopped and crash is None:
            return await self._pause(run_id, values)
        messages = values.get("messages", [])
        base = values.get("base", len(messages))
        reason = "stopped" if stopped else ("error" if crash else values.get("stop_reason") or "done")
        error = f"{type(crash).__name__}: {crash}" if crash else values.get("error")
        if stopped:
            error = "Stopped by the user."
        new = repaired(messages[base:], error or "the run ended first") if reason != "done" else messages[base:]
        found = self._prefetched.pop(run_id, None)
        self._pages_only.discard(run_id)
        if found is not None and reason == "done":
            new = page_check.checked(new, found.texts)
        if partial is not None and (stopped or crash is not None):
            new = [*new, partial]  # a reopened conversation shows what the user read before the run ended
        # One transaction: a crash here leaves the run 'running' with no half-written answer; resume redoes it.
        await asyncio.to_thread(
            store_run_result, self.db, run_id, conversation_id, new, status=_STATUS[reason], error=error,
            steps=values.get("steps", 0), prompt_tokens=values.get("prompt_tokens", 0),
            completion_tokens=values.get("completion_tokens", 0), cached_tokens=values.get("cached_tokens", 0),
            cost_usd=values.get("cost_usd", 0.0),
        )
        if self.graph.checkpointer is not None:
            await prune_finished(self.graph.checkpointer, run_id)
        answer = next((m.get("content") or "" for m in reversed(new) if m.get("role") == "assistant"), "")
        tokens = values.get("prompt_tokens", 0) + values.get("completion_tokens", 0)
        stored = await asyncio.to_thread(repo.get_run, self.db, run_id)
        skills = list(stored.skills_used or []) if stored is not None else []
        calls = values.get("tool_calls", 0) + (found is not None)  # the app's own search counts
        asked = messages[base - 1].get("content") if 0 < base <= len(messages) else ""
        missed = (reason == "done" and not calls and bool(self.hub.tools()) and isinstance(asked, str)
                  and needs_tool(asked))
        return RunFinished(run_id=run_id, answer=answer, steps=values.get("steps", 0), tokens=tokens,
                           cost_usd=values.get("cost_usd", 0.0), reason=reason, error=error, skills_used=skills,
                           tool_calls=calls, tool_not_called=missed)


    async def _pause(self, run_id: str, values: dict[str, Any]) -> RunFinished:
        """Risky calls wait for the user: the run is 'waiting'; its messages are stored when it ends."""
        totals = {k: values.get(k, 0) for k in ("steps", "prompt_tokens", "completion_tokens", "cached_tokens")}
        cost = values.get("cost_usd", 0.0)
        await asyncio.to_thread(repo.update_run, self.db, run_id, status="waiting", cost_usd=cost, **totals)
        return RunFinished(run_id=run_id, answer="", steps=totals["steps"], cost_usd=cost, reason="waiting",
                           tokens=totals["prompt_tokens"] + totals["completion_tokens"])

    async def approve(self, run_id: str, call_id: str, approved: bool, note: str = "") -> AsyncIterator[Event]:
        """Record the user's decision on a waiting call; once no call of the run waits, the run continues."""
        run = await asyncio.to_thread(repo.get_run, self.db, run_id)
        if run is not None and run.status == "running" and (run.meta or {}).get("swarm"):
            # A swarm's sub-agent waits in its branch (agents/workflows/swarm): the decision is all it needs.
            try:
                await asyncio.to_thread(approvals.decide, self.db, run_id, call_id, approved, note)
            except (LookupError, ValueError) as exc:
                raise ConfigError(str(exc)) from None
            yield Notice(run_id=run_id, message="Decision recorded: the sub-agent continues in its swarm.")
            return
        if run is None or run.status not in ("waiting", "running") or run_id in self._tasks:
            state = "not found" if run is None else ("still running" if run_id in self._tasks else run.status)
            raise ConfigError(f"Run {run_id!r} is not waiting for an approval ({state}).")
        try:
            await asyncio.to_thread(approvals.decide, self.db, run_id, call_id, approved, note)
        except (LookupError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        pending = await asyncio.to_thread(approvals.approvals_for_run, self.db, run_id, pending_only=True)
        if pending:
            names = ", ".join(f"{p.tool} ({p.call_id})" for p in pending)
            yield Notice(run_id=run_id, message=f"Decision recorded; the run continues once these are decided: {names}.")
            yield RunFinished(run_id=run_id, answer="", steps=run.steps, cost_usd=run.cost_usd, reason="waiting",
                              tokens=run.prompt_tokens + run.completion_tokens)
            return
        # The interrupted tool calls run again from the top and find their decisions recorded.
        async for event in self.resume(run_id):
            yield event


def _offers(hub: Hub, name: str) -> bool:
    return any(t.get("function", {}).get("name") == name for t in hub.tools())


def system_prompt(spec: providers.ModelSpec) -> str:
    """The system prompt a run on this model starts with (small models get the short one)."""
    return SMALL_MODEL_PROMPT if spec.info.small else SYSTEM_PROMPT


def _subgraph() -> Any:
    """A planner graph without checkpoints, for runs inside a run (sub-agents)."""
    return build_graph(None)


def _title(prompt: str) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else "New chat"
    return first[:60] + ("…" if len(first) > 60 else "")


def _meta(spec: providers.ModelSpec, req: RunRequest) -> dict[str, Any]:
    return {"base_url": req.base_url or (spec.api_base if spec.provider in ("vllm", "openai-compatible") else None),
            "max_steps": req.max_steps}
