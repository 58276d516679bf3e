"""The Privacy panel under the chat: this chat's redaction mode, what its placeholders stand for, exemptions, and
the kinds of values replaced (issue 22)."""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from agents.privacy.kinds import KINDS, parse_kinds
from app.ui.backend import Backend, readable_error
from app.ui.render import notice_html

log = logging.getLogger(__name__)

DEFAULT = "default"


@dataclass
class PrivacyPanel:
    """The panel's controls."""

    mode: gr.Radio
    listing: gr.HTML
    target: gr.Textbox
    exempt: gr.Button
    hide: gr.Button
    kinds: gr.CheckboxGroup


def build_privacy(default_mode: str, kinds: str) -> PrivacyPanel:
    """Lay out the panel (inside the chat column)."""
    with gr.Accordion("Privacy", open=False, elem_id="k2-privacy"):
        mode = gr.Radio([DEFAULT, "on", "off", "auto"], value=DEFAULT, label="Redaction in this chat",
                        info=f"default = K2HUB_REDACT ({default_mode}); auto = on for remote providers, off for the "
                        "local model and a vLLM on this machine", elem_id="k2-privacy-mode")
        listing = gr.HTML(listing_html([], None), elem_id="k2-privacy-list")
        with gr.Row(equal_height=True):
            target = gr.Textbox(placeholder="<EMAIL_1>", show_label=False, scale=1, container=False,
                                elem_id="k2-privacy-target")
            exempt = gr.Button("Send as is", scale=0, min_width=120, elem_id="k2-privacy-exempt")
            hide = gr.Button("Hide again", scale=0, min_width=120, elem_id="k2-privacy-hide")
        choices = [(f"{k.name} — {k.label}", k.name) for k in KINDS]
        picked = kinds_or_default(kinds)
        kinds_box = gr.CheckboxGroup(choices, value=sorted(picked), label="Kinds replaced (this app process; "
                                     "K2HUB_REDACT_KINDS keeps a choice)", elem_id="k2-privacy-kinds")
    return PrivacyPanel(mode, listing, target, exempt, hide, kinds_box)


def kinds_or_default(raw: str) -> frozenset[str]:
    try:
        return parse_kinds(raw)
    except ValueError:
        return parse_kinds("")


def listing_html(entries: list[Any], mode: str | None) -> str:
    """This chat's placeholders and the values they stand for (shown here only, never sent)."""
    if not entries:
        return ("<div class='k2-privacy-empty'>Nothing replaced in this chat yet. E-mail addresses, phone, card, "
                "IBAN and social security numbers, names, street addresses and secrets become placeholders such as "
                "&lt;EMAIL_1&gt; before a request leaves this machine.</div>")
    rows = "".join(
        f"<tr><td><code>{html.escape(e.placeholder)}</code></td><td>{html.escape(e.kind)}</td>"
        f"<td>{html.escape(e.value if len(e.value) <= 80 else e.value[:77] + '…')}</td>"
        f"<td>{'sent as is' if e.exempt else 'hidden'}</td></tr>"
        for e in entries
    )
    note = f"<div class='k2-privacy-mode'>This chat: redaction {html.escape(mode)}</div>" if mode else ""
    return ("<table class='k2-doc-table'><thead><tr><th>placeholder</th><th>kind</th><th>value</th><th></th></tr>"
            f"</thead><tbody>{rows}</tbody></table>{note}")


def _state(backend: Backend, conversation_id: str | None) -> tuple[str, str]:
    """(listing, mode radio value) for a conversation."""
    agent = backend.opened
    if agent is None or not conversation_id:
        return listing_html([], None), DEFAULT
    from storage import redaction

    mode = redaction.get_mode(agent.db, conversation_id)
    entries = redaction.load_map(agent.db, agent.config.home, conversation_id)
    return listing_html(entries, mode), mode or DEFAULT


def wire_privacy(panel: PrivacyPanel, conversation_id: gr.State, refresh_on: list[Any], backend: Backend) -> None:
    """Mode, exemptions and kinds act on the open conversation and the running agent."""

    async def refresh(cid: str | None) -> tuple[str, str]:
        return await asyncio.to_thread(_state, backend, cid)

    for component in refresh_on:
        component.change(refresh, conversation_id, [panel.listing, panel.mode], queue=False, show_progress="hidden")

    async def set_mode(mode: str, cid: str | None) -> str:
        if not cid:
            return listing_html([], None) if mode == DEFAULT else notice_html("info", "Send a message first: the "
                                                                               "setting belongs to a chat.")
        from storage import redaction

        agent = await backend.agent()
        await asyncio.to_thread(redaction.set_mode, agent.db, cid, None if mode == DEFAULT else mode)
        return (await refresh(cid))[0]

    panel.mode.input(set_mode, [panel.mode, conversation_id], panel.listing)

    def exemption(exempt: bool):  # noqa: ANN202 - a Gradio handler
        async def handler(target: str, cid: str | None) -> tuple[str, str]:
            placeholder = (target or "").strip()
            if placeholder and not placeholder.startswith("<"):
                placeholder = f"<{placeholder}>"
            if not cid or not placeholder:
                return gr.update(), notice_html("info", "Type a placeholder of this chat, e.g. <EMAIL_1>.")
            from storage import redaction

            try:
                agent = await backend.agent()
                found = await asyncio.to_thread(redaction.set_exempt, agent.db, cid, placeholder, exempt)
            except Exception as exc:  # the boundary: a failed write becomes a message in the panel
                log.exception("exemption failed")
                return gr.update(), notice_html("error", readable_error(exc))
            listing = (await refresh(cid))[0]
            if not found:
                listing = notice_html("error", f"{placeholder} is not a placeholder of this chat.") + listing
            return "", listing

        return handler

    panel.exempt.click(exemption(True), [panel.target, conversation_id], [panel.target, panel.listing])
    panel.hide.click(exemption(False), [panel.target, conversation_id], [panel.target, panel.listing])

    async def set_kinds(picked: list[str]) -> None:
        agent = await backend.agent()
        from agents.privacy.session import PrivacyConfig

        current = agent.config.privacy or PrivacyConfig(mode=backend.settings.redact)
        agent.config.privacy = PrivacyConfig(current.mode, frozenset(picked))

    panel.kinds.input(set_kinds, panel.kinds, None)
