"""The local model's line in the sidebar: install progress while it installs, what it is once ready."""

from __future__ import annotations

import html
from typing import Any

from agents.models.local.installer import INSTALLER, LocalStatus
from agents.models.presets import PRESETS

POLL_S = 2.0  # how often an open page asks for install progress (a status read, no model call)
_DOT = {"ready": "ok", "runtime": "wait", "weights": "wait", "failed": "bad"}


def local_label() -> str:
    """The provider dropdown's label for the local preset, saying whether it can be picked yet."""
    label = PRESETS["local"].label
    status = INSTALLER.status()
    if status.phase == "ready":
        return label
    return f"{label} ({'installing…' if status.busy else 'not installed'})"


def local_html(status: LocalStatus) -> str:
    """One status line with a progress bar while installing; empty when the local model is switched off."""
    if status.phase == "disabled":
        return ""
    bar = ""
    if status.busy and status.fraction is not None:
        bar = f'<div class="k2-progress"><span style="width:{status.fraction * 100:.0f}%"></span></div>'
    text = status.line()
    if status.phase == "ready":
        text += " Small and limited: for Kimi K2 itself, set a key above."
    return (f'<div class="k2-local" data-phase="{status.phase}"><span class="dot {_DOT.get(status.phase, "off")}">'
            f"</span>{html.escape(text)}{bar}</div>")


def poll(last_phase: str) -> tuple[str, str, bool]:
    """(panel HTML, current phase, whether the phase changed since last_phase) for the sidebar's timer."""
    status = INSTALLER.status()
    return local_html(status), status.phase, status.phase != last_phase


def wire_local_timer(timer: Any, panel: Any, phase: Any, provider: Any, hint_box: Any, choices: Any, hint: Any) -> None:
    """Every POLL_S: refresh the panel; when the phase changes, relabel the provider picker and its hint."""
    import gradio as gr

    def tick(last: str, current_provider: str) -> tuple[Any, ...]:
        body, now, changed = poll(last)
        settled = now in ("ready", "failed", "disabled", "idle")
        if not changed:
            return body, now, gr.update(), gr.update(), gr.Timer(active=not settled)
        return (body, now, gr.update(choices=choices()), hint(current_provider), gr.Timer(active=not settled))

    timer.tick(tick, [phase, provider], [panel, phase, provider, hint_box, timer], show_progress="hidden")
