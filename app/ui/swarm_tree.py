"""The swarm tree in the chat: one collapsible block per agent swarm, one nested line per sub-agent, live.

`SwarmTree` folds the swarm events (agents/events.py: SwarmStarted, SubagentStarted/Progress/Finished and the
approval requests of sub-agents) into gr.ChatMessage blocks: the root names the swarm and its counts; each branch
shows its task, state, steps, tool calls, tokens, cost, last tool and, once finished, its result preview and the
artifact holding all of it. Pure: the RunView (app/ui/render.py) hands it its message list.

`build_swarm_controls` / `wire_swarm_controls`: under the chat, while a swarm runs in this tab, a list of its
running branches with "Stop branch" and "Stop all sub-agents" (agents/workflows/swarm/scheduler.stop); the rest
of the swarm and the parent run go on. When a sub-agent waits for an approval, the request (naming the sub-agent)
shows there with Approve / Deny: only that branch waits, so the decision is recorded without touching the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio import ChatMessage

from app.ui.markup import escape

ICONS = {"pending": "○", "running": "◐", "waiting": "⏸", "done": "✓", "failed": "✗", "budget": "$", "stopped": "■"}
GOAL_CHARS = 90
PREVIEW_CHARS = 600


@dataclass
class _Branch:
    goal: str
    status: str = "pending"
    line: dict[str, Any] = field(default_factory=dict)
    message: ChatMessage | None = None


@dataclass
class SwarmTree:
    """Every swarm of one run, keyed by swarm id."""

    roots: dict[str, ChatMessage] = field(default_factory=dict)
    branches: dict[str, list[_Branch]] = field(default_factory=dict)

    def apply(self, event: Any, messages: list[ChatMessage]) -> bool:
        """Fold one event in (appending new blocks to messages); False when it is not a swarm event."""
        kind = getattr(event, "type", "")
        if kind == "swarm_started":
            self._start(event, messages)
        elif kind in ("subagent_started", "subagent_progress", "subagent_finished"):
            if event.swarm_id not in self.roots:
                return True  # a swarm of another view (e.g. an analysis card's own)
            branch = self.branches[event.swarm_id][event.index]
            branch.status = event.status
            branch.line = event.model_dump()
            self._render_branch(event.swarm_id, event.index, messages)
            self._render_root(event.swarm_id)
        elif kind == "approval_requested" and getattr(event, "subagent", ""):
            return False  # the approval card itself is shown by the RunView
        else:
            return False
        return True

    def _start(self, event: Any, messages: list[ChatMessage]) -> None:
        root = ChatMessage(content="", metadata={"title": "", "id": f"swarm-{event.swarm_id}", "status": "pending"})
        self.roots[event.swarm_id] = root
        self.branches[event.swarm_id] = [_Branch(goal) for goal in event.goals]
        self.__dict__.setdefault("_meta", {})[event.swarm_id] = (event.concurrency, event.resumed)
        messages.append(root)
        for index in range(len(event.goals)):  # one line per sub-agent, in plan order, pending until it starts
            self._render_branch(event.swarm_id, index, messages)
        self._render_root(event.swarm_id)

    def _render_root(self, swarm_id: str) -> None:
        branches = self.branches[swarm_id]
        counts: dict[str, int] = {}
        for b in branches:
            counts[b.status] = counts.get(b.status, 0) + 1
        cost = sum(b.line.get("cost_usd", 0.0) for b in branches)
        tokens = sum(b.line.get("tokens", 0) for b in branches)
        concurrency, resumed = self.__dict__["_meta"][swarm_id]
        summary = ", ".join(f"{ICONS.get(s, '')} {n} {s}" for s, n in sorted(counts.items()))
        root = self.roots[swarm_id]
        root.metadata["title"] = f"Swarm · {len(branches)} sub-agents · {summary} · {tokens:,} tokens · ${cost:.4f}"
        unfinished = {"pending", "running", "waiting"}
        root.metadata["status"] = "pending" if any(b.status in unfinished for b in branches) else "done"
        extra = f" · {resumed} replayed after a resume" if resumed else ""
        root.content = f"Up to {concurrency} at once{extra}. Stop one sub-agent with the controls under the chat."

    def _render_branch(self, swarm_id: str, index: int, messages: list[ChatMessage]) -> None:
        branch = self.branches[swarm_id][index]
        line = branch.line
        title = (f"{ICONS.get(branch.status, '·')} {index + 1}. {branch.goal[:GOAL_CHARS]} — {branch.status}"
                 f" · {line.get('steps', 0)} steps · {line.get('tool_calls', 0)} tools"
                 f" · {line.get('tokens', 0):,} tokens · ${line.get('cost_usd', 0.0):.4f}")
        if line.get("attempt", 1) > 1:
            title += f" · attempt {line['attempt']}"
        body = []
        if line.get("last_tool"):
            body.append(f"Last tool: `{escape(line['last_tool'])}`")
        if branch.status == "waiting":
            body.append("Waiting for your approval (the card in the chat names this sub-agent).")
        if line.get("error"):
            body.append(f"**{escape(str(line['error'])[:PREVIEW_CHARS])}**")
        if line.get("preview"):
            body.append(escape(str(line["preview"])[:PREVIEW_CHARS]))
        if line.get("artifact_id"):
            body.append(f"Full result: artifact `{line['artifact_id']}`")
        if branch.message is None:
            branch.message = ChatMessage(content="", metadata={"title": "", "parent_id": f"swarm-{swarm_id}",
                                                               "id": f"swarm-{swarm_id}-{index}"})
            messages.append(branch.message)
        branch.message.metadata["title"] = title
        branch.message.metadata["status"] = "pending" if branch.status in ("pending", "running", "waiting") else "done"
        branch.message.content = "\n\n".join(body)


@dataclass
class SwarmControls:
    """Under the chat, while a swarm of this tab's run has running branches."""

    box: gr.Column
    branch: gr.Dropdown
    stop_one: gr.Button
    stop_all: gr.Button
    ask: gr.Markdown  # a sub-agent's approval request, with the buttons below
    approve: gr.Button
    deny: gr.Button
    current: gr.State  # {"run_id", "call_id"} of the request shown
    timer: gr.Timer


def build_swarm_controls() -> SwarmControls:
    """Lay out the controls (hidden until a swarm runs)."""
    with gr.Column(visible=False, elem_id="k2-swarm-controls") as box:
        with gr.Row(equal_height=True):
            branch = gr.Dropdown(choices=[], label="Running sub-agents", scale=1, elem_id="k2-swarm-branch")
            stop_one = gr.Button("■ Stop branch", variant="stop", scale=0, min_width=120, elem_id="k2-swarm-stop-one")
            stop_all = gr.Button("■ Stop all sub-agents", variant="stop", scale=0, min_width=160,
                                 elem_id="k2-swarm-stop-all")
        ask = gr.Markdown("", visible=False, elem_id="k2-swarm-ask")
        with gr.Row(equal_height=True):
            approve = gr.Button("Approve", variant="primary", visible=False, scale=0, min_width=110,
                                elem_id="k2-swarm-approve")
            deny = gr.Button("Deny", variant="stop", visible=False, scale=0, min_width=110, elem_id="k2-swarm-deny")
    return SwarmControls(box, branch, stop_one, stop_all, ask, approve, deny, gr.State(None), gr.Timer(1.0))


def controls_state(agent: Any, run_id: str | None) -> tuple[list[tuple[str, str]], Any]:
    """(running branches as dropdown choices, the oldest approval a branch waits for) for this parent run."""
    from agents.workflows.swarm import scheduler
    from storage import approvals

    if not run_id:
        return [], None
    active = scheduler.active_branches(run_id)
    choices = [(f"{idx + 1}. {goal[:GOAL_CHARS]}", f"{swarm_id}:{idx}") for swarm_id, idx, goal, _ in active]
    waiting = None
    for _, idx, goal, sub_run in active:
        pending = approvals.approvals_for_run(agent.db, sub_run, pending_only=True) if sub_run and agent else []
        if pending:
            waiting = (idx, goal, pending[0])
            break
    return choices, waiting


def wire_swarm_controls(controls: SwarmControls, backend: Any) -> None:
    """Refresh every second; stop the chosen branch or every branch; decide a sub-agent's approval request."""
    import asyncio

    from agents.workflows.swarm import scheduler
    from app.ui.approval_card import approval_markdown

    async def refresh(current: str | None, request: gr.Request) -> tuple[Any, ...]:
        run_id = backend.active.get(request.session_hash or "")
        choices, waiting = await asyncio.to_thread(controls_state, backend.opened, run_id)
        values = [v for _, v in choices]
        shown = bool(waiting)
        text, state = "", None
        if waiting is not None:
            idx, goal, row = waiting
            text = approval_markdown(row.tool, row.arguments, row.risk, row.reason,
                                     f"<i>Asked by sub-agent {idx + 1}: {escape(goal[:GOAL_CHARS])} — only it "
                                     "waits.</i>")
            state = {"run_id": row.run_id, "call_id": row.call_id}
        return (gr.update(visible=bool(choices)),
                gr.update(choices=choices, value=current if current in values else (values[0] if values else None)),
                gr.update(value=text, visible=shown), gr.update(visible=shown), gr.update(visible=shown), state)

    async def stop_one(value: str | None, request: gr.Request) -> tuple[Any, ...]:
        if value and ":" in value:
            swarm_id, idx = value.rsplit(":", 1)
            scheduler.stop(swarm_id, int(idx))
        return await refresh(None, request)

    async def stop_all(request: gr.Request) -> tuple[Any, ...]:
        run_id = backend.active.get(request.session_hash or "")
        for swarm_id in {s for s, _, _, _ in scheduler.active_branches(run_id or "")}:
            scheduler.stop(swarm_id)
        return await refresh(None, request)

    async def decide(approved: bool, current: dict[str, str] | None, request: gr.Request) -> tuple[Any, ...]:
        if current and backend.opened is not None:
            async for _ in backend.opened.approve(current["run_id"], current["call_id"], approved):
                pass
        return await refresh(None, request)

    async def approve(current: Any, request: gr.Request) -> tuple[Any, ...]:
        return await decide(True, current, request)

    async def deny(current: Any, request: gr.Request) -> tuple[Any, ...]:
        return await decide(False, current, request)

    outputs = [controls.box, controls.branch, controls.ask, controls.approve, controls.deny, controls.current]
    controls.timer.tick(refresh, controls.branch, outputs, show_progress="hidden")
    controls.stop_one.click(stop_one, controls.branch, outputs)
    controls.stop_all.click(stop_all, None, outputs)
    controls.approve.click(approve, controls.current, outputs)
    controls.deny.click(deny, controls.current, outputs)
