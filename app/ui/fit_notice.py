"""Before sending: will the chat's documents fit the chosen model? When they cannot be sent whole, a notice under the
composer says so in numbers, what sending does instead (the model searches them and reads the pages it finds), and
offers a model whose window holds them (one click switches the picker to it). While the notice shows, Send does not
send: the status line points at the notice, whose *Send anyway* sends (the model then searches) and is remembered for
this conversation and model.

The arithmetic is the run's own (agents.policy.context.conversation_plan: the same documents, window, calibration and
reserve the run will use), so the notice says what the run will then do; bigger models come from agents.policy.fit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.ui.backend import Backend
from app.ui.layout import CLICK_SEND_JS, model_header
from app.ui.render import notice_html
from app.ui.sidebar import AUTO, Sidebar, base_url_for, model_picker, provider_hint, wants_base_url

log = logging.getLogger(__name__)

HIDDEN: tuple[Any, Any, Any, str | None] = (gr.update(value="", visible=False), gr.update(visible=False), None, None)


@dataclass
class FitNotice:
    box: gr.HTML
    use_bigger: gr.Button
    target: gr.State  # (provider, model) the button switches to
    send_anyway: gr.Button  # send although the documents do not fit (the model searches them)
    gate: gr.State  # the chat's fit_gate: {"key": conversation/provider/model, "ack": Send anyway pressed} or None


def build_fit_notice(gate: gr.State) -> FitNotice:
    """The notice and its buttons (inside the chat column, under the composer); hidden while everything fits. `gate`
    is the chat's (Chat.fit_gate), read by its send."""
    with gr.Row(elem_id="k2-fit", equal_height=True):
        box = gr.HTML("", visible=False, elem_id="k2-fit-text")
        use_bigger = gr.Button("Use a bigger model", size="sm", scale=0, visible=False, elem_id="k2-fit-bigger")
        send_anyway = gr.Button("Send anyway", size="sm", scale=0, visible=False, elem_id="k2-fit-send-anyway")
    return FitNotice(box, use_bigger, gr.State(None), send_anyway, gate)


def gate_for(key: str | None, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The gate for a check's verdict: None when everything fits (key None); a choice made for the same conversation
    and model is kept (a new document or another model asks again)."""
    if key is None:
        return None
    return {"key": key, "ack": bool(previous and previous.get("key") == key and previous.get("ack"))}


def notice_text(plan: Any, model: str, bigger: list[Any]) -> str:
    """The notice's HTML for a plan that cannot send the documents whole."""
    names = ", ".join(d.title for d in plan.documents[:3]) + (" …" if len(plan.documents) > 3 else "")
    instead = (
        "each document goes to its own sub-agent and their answers are merged"
        if plan.mode == "sub_agents"
        else "the model searches them and reads only the pages it finds"
    )
    ready = next((b for b in bigger if b.ready), None)
    if ready is not None:
        offer = f"To have them read whole, use {ready.model} ({ready.window:,} tokens)."
    elif bigger:
        offer = f"To have them read whole, a model with a bigger window: {bigger[0].describe()}."
    else:
        offer = "No model here holds them whole: ask about a part (a section, a few pages) for precise answers."
    text = (f"The attached documents ({names}: {plan.needed:,} tokens) cannot be sent whole to {model}: its "
            f"{plan.window:,}-token window has room for {plan.available:,} tokens of documents beside the answer, "
            f"tools and history. If you send now, {instead}. {offer}")
    return notice_html("warning", text, "Too large to send whole.")


def _check(backend: Backend, cid: str | None, provider: str, model: str | None,
           base_url: str) -> tuple[Any, Any, Any, str | None]:
    """(notice, bigger-model button, its target, the check's key): the key names the conversation, the model and the
    documents that do not fit (None while they fit); a Send anyway holds for that key."""
    agent = backend.opened
    if agent is None or not cid:
        return HIDDEN
    from agents.errors import ConfigError
    from agents.planner.runner import system_prompt
    from agents.planner.window import tools_sent
    from agents.policy import fit, tool_choice
    from agents.policy.context import conversation_plan
    from storage import repo

    auto = provider == AUTO
    try:
        spec = agent.resolve(None if auto else provider, None if auto else (model or None),
                             (base_url or None) if wants_base_url(provider) else None)
    except ConfigError:  # no usable model: the send itself says why
        return HIDDEN
    messages = repo.messages_as_openai(agent.db, cid)  # the history the run will send
    offered = tool_choice.offered(agent.planner_tools.offer(agent.hub.tools()), tool_choice.choice(agent.db, cid).off)
    tools = tools_sent(spec, messages, offered)  # the schemas this conversation's run will carry
    plan = conversation_plan(agent.db, cid, spec, messages, system_prompt(spec), tools)
    if plan.mode in ("none", "whole"):
        return HIDDEN
    bigger = fit.bigger_models(plan.needed + plan.estimated_prompt_tokens, agent.config.home, exclude=spec.label)
    ready = next((b for b in bigger if b.ready), None)
    button = (gr.update(visible=True, value=f"Use {ready.model}") if ready is not None
              else gr.update(visible=False))  # fmt: skip
    key = "|".join([cid, spec.label, *sorted(d.id for d in plan.documents)])
    return (gr.update(value=notice_text(plan, spec.model, bigger), visible=True), button,
            (ready.provider, ready.model) if ready is not None else None, key)  # fmt: skip


def wire_fit_notice(notice: FitNotice, conversation_id: gr.State, documents: gr.HTML, sb: Sidebar,
                    backend: Backend, header_model: gr.HTML) -> None:
    """Check again whenever the conversation, its documents or the chosen model change; the button switches model."""
    settings = backend.settings

    async def check(cid: str | None, provider: str, model: str | None, base_url: str,
                    gate: dict[str, Any] | None) -> tuple[Any, ...]:
        try:
            *shown, key = await asyncio.to_thread(_check, backend, cid, provider, model, base_url)
        except Exception:  # a hint must never break the chat: the run itself still plans the documents
            log.exception("the fit check failed")
            *shown, key = HIDDEN
        # The key names the documents too: another document attached asks again (a longer history does not).
        new_gate = gate_for(key, gate)
        return (*shown, gr.update(visible=new_gate is not None and not new_gate["ack"]), new_gate)

    inputs = [conversation_id, sb.provider, sb.model, sb.base_url, notice.gate]
    outputs = [notice.box, notice.use_bigger, notice.target, notice.send_anyway, notice.gate]
    for component in (conversation_id, documents, sb.provider, sb.model):
        component.change(check, inputs, outputs, show_progress="hidden")

    def switch(target: tuple[str, str] | None) -> tuple[Any, ...]:
        if not target:
            return tuple(gr.update() for _ in switch_outputs)
        provider, model = target
        return (
            gr.update(value=provider),
            model_picker(provider, model),
            gr.update(**base_url_for(provider, settings)),
            gr.update(visible=True),
            provider_hint(provider, settings.home, settings.local),
            model_header(provider, model),  # named in the same answer that sets the pickers
        )

    switch_outputs = [sb.provider, sb.model, sb.base_url, sb.refresh_models, sb.hint, header_model]
    notice.use_bigger.click(switch, notice.target, switch_outputs)

    def anyway(gate: dict[str, Any] | None) -> tuple[Any, Any]:
        return ({**gate, "ack": True} if gate else None), gr.update(visible=False)

    notice.send_anyway.click(anyway, notice.gate, [notice.gate, notice.send_anyway], queue=False,
                             show_progress="hidden").then(None, js=CLICK_SEND_JS)
