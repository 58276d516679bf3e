"""Planner-level tools: what a feature adds to a run without the planner core knowing it by name.

A feature (sub-agents, skills, notes, re-reading an artifact …) describes itself as a `PlannerTool` and is handed
to the Agent in `AgentConfig.planner_tools`; each run carries them in `RunContext.planner_tools` (a
`PlannerTools` registry). `run_tool` asks the registry who handles a call and who wants to see its result; it never
names a feature. A `PlannerTool` may:

- offer a tool of its own (`spec`) and run it in-process (`run`) instead of a hub server;
- watch a tool's result (`after`), whoever ran it: e.g. the skills feature records which skill a run loaded;
- add a section to the run's system prompt (`prompt`), and prepare storage once when the agent opens (`prepare`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mcp_types as types

from agents.hub.hub import ToolResult
from storage.db import Database

if TYPE_CHECKING:
    from agents.planner.state import RunContext

KEPT_ARTIFACT = "k2hub/kept_artifact"
"""Key of a planner tool's ToolResult.structured naming the artifact its text was read from (context__read_artifact):
the step points there instead of keeping a second copy. Only planner tools are believed, never a hub server."""
Emit = Callable[[Any], None]
Usage = dict[str, Any]
"""Model usage a tool spent itself (a sub-agent's tokens and cost), added to the run's totals."""
RunFn = Callable[["RunContext", Any, Emit], Awaitable[tuple[ToolResult, Usage]]]
AfterFn = Callable[["RunContext", Any, ToolResult], Awaitable[None]]
PromptFn = Callable[[Database, str, Sequence[dict[str, Any]], int], str]
"""(db, run_id, offered tools, context window) -> a system-prompt section, '' for none (called in a thread)."""


@dataclass(frozen=True)
class PlannerTool:
    """One feature's part in a run, keyed by the tool name it offers or watches."""

    name: str
    spec: dict[str, Any] | None = None  # an OpenAI function spec the model is offered; None: it watches `name`
    run: RunFn | None = None  # runs the call instead of the hub
    after: AfterFn | None = None  # sees the call's result (its own or the hub's)
    needs: frozenset[str] = frozenset()  # hub tools that must be up for `spec` to be offered
    prompt: PromptFn | None = None
    prepare: Callable[[Database], None] | None = None  # once when the agent opens (idempotent)
    # What it declares to the approval gate (agents/policy/approval.py): a tool with a spec must say whether it is
    # read-only (the gate asks for it in a tainted conversation otherwise), and where untrusted text in its results
    # comes from, if any (they are then fenced and taint the conversation).
    annotations: types.ToolAnnotations | None = None
    result_source: str = ""
    # Its calls run models through the model worker process (agents/models/call_worker.py): the web app starts that
    # when its agent opens (Agent.warm_model_worker), so its seconds-long import of litellm is over before the first
    # such call.
    model_worker: bool = False


@dataclass(frozen=True)
class PlannerTools:
    """The run's registry of planner-level tools, looked up by tool name."""

    tools: tuple[PlannerTool, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, tools: Iterable[PlannerTool]) -> PlannerTools:
        """A registry of these tools; two with one name is a programming error."""
        chosen = tuple(tools)
        names = [t.name for t in chosen]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"planner tools registered twice: {', '.join(duplicates)}")
        return cls(chosen)

    def offer(self, hub_tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The hub's tools plus the spec of every planner tool whose needed hub tools are up."""
        names = {t["function"]["name"] for t in hub_tools}
        own = [t.spec for t in self.tools if t.spec is not None and t.needs <= names and t.name not in names]
        return [*hub_tools, *own]

    def runner(self, name: str) -> PlannerTool | None:
        """The planner tool that runs calls of `name` itself, if any."""
        return next((t for t in self.tools if t.name == name and t.run is not None), None)

    def watchers(self, name: str) -> list[PlannerTool]:
        """Planner tools that want to see the result of a call of `name`."""
        return [t for t in self.tools if t.name == name and t.after is not None]

    def prompt_sections(self, db: Database, run_id: str, offered: Sequence[dict[str, Any]], window: int) -> str:
        """Every planner tool's system-prompt section for this run (blocking: call in a thread)."""
        return "".join(t.prompt(db, run_id, offered, window) for t in self.tools if t.prompt is not None)

    def prepare(self, db: Database) -> None:
        """Let every planner tool prepare storage once (blocking: call in a thread)."""
        for tool in self.tools:
            if tool.prepare is not None:
                tool.prepare(db)

    def without_runners(self) -> PlannerTools:
        """The same registry minus the tools that run calls themselves (a sub-agent must not start sub-agents)."""
        return PlannerTools(tuple(t for t in self.tools if t.run is None))
