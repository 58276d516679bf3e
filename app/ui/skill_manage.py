"""Two parts of the Skills tab: reading any file of a skill (reference.md, checklists, scripts), and uninstalling a
skill after a confirmation (built-in skills cannot be: the app reinstalls them at every start)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.render import notice_html

if TYPE_CHECKING:
    from skills.registry import Registry

SKILL_FILE = "SKILL.md"
MARKDOWN = (".md", ".markdown")
FILE_CHARS = 200_000  # a file bigger than this is shown cut (the bundle export has it whole)


@dataclass
class SkillFiles:
    picker: gr.Dropdown


@dataclass
class Uninstall:
    button: gr.Button
    confirm_box: gr.Row
    question: gr.Markdown
    confirm: gr.Button
    cancel: gr.Button


def build_file_picker() -> SkillFiles:
    """The file chooser above the text of a skill (inside the Read tab)."""
    return SkillFiles(gr.Dropdown(choices=[], value=None, label="File", elem_id="k2-skill-file", interactive=True))


def build_uninstall() -> Uninstall:
    """Uninstall… and its confirmation (inside the Versions tab)."""
    button = gr.Button("Uninstall…", size="sm", variant="stop", interactive=False, elem_id="k2-skill-uninstall")
    with gr.Row(visible=False, elem_id="k2-skill-confirm-box") as box:
        question = gr.Markdown("", elem_id="k2-skill-confirm-text")
        confirm = gr.Button("Yes, uninstall", size="sm", variant="stop", scale=0, elem_id="k2-skill-confirm")
        cancel = gr.Button("Cancel", size="sm", scale=0, elem_id="k2-skill-cancel")
    return Uninstall(button, box, question, confirm, cancel)


def file_choices(registry: Registry, name: str, version: str | None) -> list[str]:
    """SKILL.md first, then every other file of the version."""
    row = registry.get(name, version)
    return [SKILL_FILE, *sorted(p for p in (row.resources or {}) if p != SKILL_FILE)]


def file_markdown(registry: Registry, name: str, path: str, version: str | None) -> str:
    """A file for the Read view: markdown rendered as markdown, other text in a code block, binary named only.

    The text is a stranger's for third-party skills; the Markdown component sanitises HTML, and the code fence is
    longer than any backtick run inside, so a file cannot end it early.
    """
    data = registry.read_file(name, path, version)
    if b"\x00" in data[:8192]:
        return f"*{path} is a binary file ({len(data):,} bytes); export the bundle to get it.*"
    text = data.decode("utf-8", "replace")
    cut = len(text) > FILE_CHARS
    text = text[:FILE_CHARS]
    note = f"\n\n*… cut at {FILE_CHARS:,} characters; export the bundle for the whole file.*" if cut else ""
    if path.lower().endswith(MARKDOWN):
        return text + note
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    language = {".py": "python", ".sh": "bash", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(
        path[path.rfind(".") :].lower(), ""
    )
    return f"{fence}{language}\n{text}\n{fence}{note}"


def uninstall_state(registry: Registry, name: str) -> dict[str, Any]:
    """The Uninstall button for this skill: refused up front for built-in ones (the registry refuses them too)."""
    builtin = registry.is_builtin(name)
    return {"interactive": not builtin, "value": "Built in: cannot be uninstalled" if builtin else "Uninstall…"}


def wire_skill_manage(tab: Any, registry: Callable[[], Awaitable[Registry]], error: Callable[[BaseException, str], str],
                      out: list[Any], listed: Callable[[Registry], list[tuple[str, str]]], empty_body: str) -> None:
    """The file picker shows the chosen file; Uninstall asks, then removes the skill and clears the view.

    `tab` is the SkillsTab (app/ui/skills.py, which imports this module); `out` its outputs for one skill's view."""

    async def show_file(name: str | None, version: str | None, path: str | None) -> dict[Any, Any]:
        if not (name and path):
            return {}
        try:
            reg = await registry()
            if path == SKILL_FILE:  # the skill's text without its front matter, as the Read view shows it
                return {tab.body: (await asyncio.to_thread(reg.get, name, version)).body, tab.status: ""}
            return {tab.body: await asyncio.to_thread(file_markdown, reg, name, path, version), tab.status: ""}
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, f"Cannot open {path}.")}

    tab.files.picker.input(show_file, [tab.selected, tab.version, tab.files.picker], [tab.body, tab.status])

    def ask_uninstall(name: str | None) -> dict[Any, Any]:
        if not name:
            return {tab.status: notice_html("info", "Pick a skill first.")}
        question = f"Uninstall **{name}** with all its versions and files? This cannot be undone."
        return {tab.uninstall.confirm_box: gr.update(visible=True), tab.uninstall.question: question}

    confirm_out = [tab.uninstall.confirm_box, tab.uninstall.question, tab.status]
    tab.uninstall.button.click(ask_uninstall, tab.selected, confirm_out, queue=False)
    tab.uninstall.cancel.click(lambda: gr.update(visible=False), None, tab.uninstall.confirm_box, queue=False)

    async def uninstall(name: str | None) -> dict[Any, Any]:
        hide = {tab.uninstall.confirm_box: gr.update(visible=False)}
        if not name:
            return hide
        try:
            reg = await registry()
            await asyncio.to_thread(reg.uninstall, name)
            rows = await asyncio.to_thread(listed, reg)
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {**hide, tab.status: error(exc, "Not uninstalled.")}
        return {**hide, tab.listing: gr.update(choices=rows, value=None), tab.search: "", tab.selected: None,
                tab.header: "", tab.body: empty_body, tab.editor: "", tab.export_file: None,
                tab.files.picker: gr.update(choices=[], value=None),
                tab.version: gr.update(choices=[], value=None), tab.uninstall.button: gr.update(interactive=False),
                tab.status: notice_html("info", f"Uninstalled {name}.")}  # fmt: skip

    tab.uninstall.confirm.click(uninstall, tab.selected, out)
