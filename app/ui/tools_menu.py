"""The chat's tools menu, under the composer: switch servers, or single tools of a server, on and off for this
conversation. The choice is stored with the conversation (storage/chat_tools.py) and the planner offers only what is
on (agents/policy/tool_choice.py); until the user chooses, the conversation has the default set of its kind."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.backend import Backend

log = logging.getLogger(__name__)

KIND_NAMES = {"chat": "a chat", "documents": "a chat with documents", "cobol": "a COBOL session"}


@dataclass
class ToolsMenu:
    box: gr.Accordion
    summary: gr.Markdown
    servers: gr.CheckboxGroup
    tools: gr.CheckboxGroup
    reset: gr.Button


def build_tools_menu() -> ToolsMenu:
    """The menu (inside the chat column, under the composer), closed until opened."""
    with gr.Accordion("⚙ Tools for this chat", open=False, elem_id="k2-chat-tools") as box:
        summary = gr.Markdown("", elem_id="k2-chat-tools-summary")
        servers = gr.CheckboxGroup([], label="Servers", elem_id="k2-chat-tools-servers")
        tools = gr.CheckboxGroup([], label="Single tools of the servers that are on", elem_id="k2-chat-tools-single")
        reset = gr.Button("Use the default set", size="sm", elem_id="k2-chat-tools-reset")
    return ToolsMenu(box, summary, servers, tools, reset)


def _names(agent: Any) -> list[str]:
    """Every tool a run could offer (servers' and the planner's own), minus the ones always on."""
    from agents.policy.tool_choice import ALWAYS_ON

    return sorted(n for t in agent.planner_tools.offer(agent.hub.tools())
                  if (n := t["function"]["name"]) not in ALWAYS_ON)  # fmt: skip


def menu_state(names: list[str], off: frozenset[str], kind: str, chosen: bool) -> tuple[Any, Any, str]:
    """The two checkbox groups and the summary line for this choice."""
    from agents.policy.tool_choice import group, is_on

    groups = sorted({group(n) for n in names})
    counts = {g: sum(group(n) == g for n in names) for g in groups}
    servers_on = [g for g in groups if g not in off]
    in_reach = [n for n in names if group(n) in servers_on]
    tools_on = [n for n in in_reach if is_on(n, off)]
    how = "your choice" if chosen else f"the default for {KIND_NAMES.get(kind, kind)}"
    summary = f"**{len(tools_on)} of {len(names)} tools** go with each request ({how})."
    return (gr.update(choices=[(f"{g} ({counts[g]})", g) for g in groups], value=servers_on),
            gr.update(choices=in_reach, value=tools_on), summary)  # fmt: skip


def off_from(names: list[str], servers_on: list[str], tools_on: list[str] | None, before: frozenset[str]) -> list[str]:
    """What the checkboxes switch off: the unticked servers, and unticked tools of the ticked ones. A server change
    (tools_on None) keeps the single tools switched off `before`; a server ticked again comes back whole."""
    from agents.policy.tool_choice import group

    off = sorted(g for g in {group(n) for n in names} if g not in servers_on)
    if tools_on is None:
        return off + sorted(n for n in before if "__" in n and group(n) in servers_on)
    return off + sorted(n for n in names if group(n) in servers_on and n not in tools_on)


def wire_tools_menu(menu: ToolsMenu, conversation_id: gr.State, refresh_on: list[Any], new_chat: gr.Button,
                    backend: Backend, demo: gr.Blocks) -> None:
    """Show the conversation's choice when it changes; store a change (a new chat is created to hold it)."""
    outputs = [menu.servers, menu.tools, menu.summary]

    def show(agent: Any, cid: str | None) -> tuple[Any, Any, str]:
        from agents.policy import tool_choice

        picked = tool_choice.choice(agent.db, cid)
        return menu_state(_names(agent), picked.off, picked.kind, picked.chosen)

    async def load(cid: str | None) -> tuple[Any, Any, str]:
        try:
            agent = await backend.agent()
            return await asyncio.to_thread(show, agent, cid)
        except Exception:  # the agent failed to start: the Tools panel of the sidebar says why
            log.exception("loading the chat's tools failed")
            return gr.update(), gr.update(), ""

    for component in refresh_on:
        component.change(load, conversation_id, outputs, show_progress="hidden")
    demo.load(load, conversation_id, outputs, show_progress="hidden")

    async def fresh() -> tuple[Any, Any, str]:
        return await load(None)

    new_chat.click(fresh, None, outputs, show_progress="hidden")  # a new chat has its kind's default set

    def store(agent: Any, cid: str | None, servers_on: list[str] | None, tools_on: list[str] | None) -> tuple[Any, ...]:
        """Store the choice the checkboxes show (servers_on None: forget it, back to the default set)."""
        from agents.policy import tool_choice
        from storage import chat_tools, repo

        if not cid:  # a new chat: create it now so the choice goes with its first message
            from agents.planner.runner import NEW_CHAT

            cid = repo.create_conversation(agent.db, NEW_CHAT).id  # its first message names it
        if servers_on is None:
            chat_tools.forget(agent.db, cid)
        else:
            before = tool_choice.choice(agent.db, cid).off
            chat_tools.set_switched_off(agent.db, cid, off_from(_names(agent), servers_on, tools_on, before))
        return (*show(agent, cid), cid)

    async def servers_changed(servers_on: list[str], cid: str | None) -> tuple[Any, ...]:
        return await asyncio.to_thread(store, await backend.agent(), cid, servers_on or [], None)

    async def tools_changed(servers_on: list[str], tools_on: list[str], cid: str | None) -> tuple[Any, ...]:
        return await asyncio.to_thread(store, await backend.agent(), cid, servers_on or [], tools_on or [])

    async def reset(cid: str | None) -> tuple[Any, ...]:
        if not cid:
            return (*(await load(cid)), cid)
        return await asyncio.to_thread(store, await backend.agent(), cid, None, None)

    changed = [*outputs, conversation_id]
    menu.servers.input(servers_changed, [menu.servers, conversation_id], changed, show_progress="hidden")
    menu.tools.input(tools_changed, [menu.servers, menu.tools, conversation_id], changed, show_progress="hidden")
    menu.reset.click(reset, conversation_id, changed, show_progress="hidden")
