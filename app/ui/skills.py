"""The Skills tab: search the Agent-Hub registry, read a skill, manage versions, install/import/export, edit and save.

"Save this conversation as a skill" asks the model for a SKILL.md drafted from the open chat (agents.workflows.skill_drafter);
the draft lands in the editor, and Save stores whatever the editor holds as a new version of the skill it names.
"""

from __future__ import annotations

import asyncio
import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.backend import Backend, readable_error
from app.ui.render import notice_html
from app.ui.skill_manage import (SKILL_FILE, SkillFiles, Uninstall, build_file_picker, build_uninstall, file_choices,
                                 uninstall_state, wire_skill_manage)

if TYPE_CHECKING:
    from app.ui.lazy_tab import Opened
    from skills.registry import Registry

log = logging.getLogger(__name__)

LIST_LIMIT = 50
DESCRIPTION_CHARS = 90
EMPTY_BODY = "*Pick a skill on the left to read it.*"


@dataclass
class SkillsTab:
    """The Skills tab's components."""

    search: gr.Textbox
    listing: gr.Radio
    status: gr.HTML
    header: gr.HTML
    body: gr.Markdown
    version: gr.Dropdown
    pin: gr.Button
    unpin: gr.Button
    trust: gr.Button
    diff_a: gr.Dropdown
    diff_b: gr.Dropdown
    diff: gr.Button
    diff_out: gr.Markdown
    export: gr.Button
    export_file: gr.File
    editor: gr.Textbox
    save: gr.Button
    draft: gr.Button
    folder: gr.Textbox
    install: gr.Button
    upload: gr.File
    views: gr.Tabs
    selected: gr.State
    files: SkillFiles  # open any file of the skill (reference.md, checklists, scripts)
    uninstall: Uninstall


def build_skills() -> SkillsTab:
    """Lay out the tab (inside the caller's gr.Tab)."""
    with gr.Row(elem_id="k2-skills", equal_height=False):
        with gr.Column(scale=1, min_width=280, elem_id="k2-skills-side"):
            search = gr.Textbox(
                placeholder="Search skills…", show_label=False, container=False, elem_id="k2-skill-search"
            )
            listing = gr.Radio(choices=[], value=None, show_label=False, container=False, elem_id="k2-skill-list")
            draft = gr.Button("✎ Save this conversation as a skill", size="sm", elem_id="k2-skill-draft")
            with gr.Accordion("Install or import", open=False, elem_id="k2-skill-install-box"):
                folder = gr.Textbox(
                    label="Skill folder (holds SKILL.md)", placeholder="/path/to/my-skill", elem_id="k2-skill-folder"
                )
                install = gr.Button("Install folder", size="sm", elem_id="k2-skill-install")
                upload = gr.File(
                    label="Import a .zip bundle",
                    file_types=[".zip"],
                    type="filepath",
                    elem_id="k2-skill-upload",
                    height=150,  # room for the drop area's icon and both lines of text
                )
        with gr.Column(scale=3, elem_id="k2-skills-main"):
            status = gr.HTML("", elem_id="k2-skill-status")
            header = gr.HTML("", elem_id="k2-skill-header")
            with gr.Tabs(elem_id="k2-skill-tabs") as views:
                with gr.Tab("Read", id="read", elem_id="k2-skill-read"):
                    files = build_file_picker()
                    body = gr.Markdown(EMPTY_BODY, elem_id="k2-skill-body", sanitize_html=True)
                with gr.Tab("Edit", id="edit", elem_id="k2-skill-edit"):
                    editor = gr.Textbox(
                        show_label=False,
                        lines=20,
                        max_lines=40,
                        elem_id="k2-skill-editor",
                        placeholder="SKILL.md: front matter (name, description) then markdown",
                    )
                    save = gr.Button("Save as new version", variant="primary", size="sm", elem_id="k2-skill-save")
                with gr.Tab("Versions", id="versions", elem_id="k2-skill-versions"):
                    with gr.Row(equal_height=False, elem_classes="k2-skill-row"):
                        version = gr.Dropdown(choices=[], label="Version shown", elem_id="k2-skill-version", scale=2)
                        pin = gr.Button("Pin this version", size="sm", elem_id="k2-skill-pin", scale=1)
                        unpin = gr.Button("Use latest", size="sm", elem_id="k2-skill-unpin", scale=1)
                        trust = gr.Button("Trust / stop trusting", size="sm", elem_id="k2-skill-trust", scale=1)
                    uninstall = build_uninstall()
                    with gr.Row(equal_height=False, elem_classes="k2-skill-row"):
                        diff_a = gr.Dropdown(choices=[], label="From", elem_id="k2-skill-diff-a", scale=2)
                        diff_b = gr.Dropdown(choices=[], label="To", elem_id="k2-skill-diff-b", scale=2)
                        diff = gr.Button("Diff", size="sm", elem_id="k2-skill-diff", scale=1)
                    diff_out = gr.Markdown("", elem_id="k2-skill-diff-out")
                    with gr.Row(equal_height=True):
                        export = gr.Button("Export version as bundle", size="sm", elem_id="k2-skill-export")
                        export_file = gr.File(
                            label="Bundle", interactive=False, elem_id="k2-skill-export-file", height=70
                        )
    return SkillsTab(search, listing, status, header, body, version, pin, unpin, trust, diff_a, diff_b, diff, diff_out,
                     export, export_file, editor, save, draft, folder, install, upload, views, gr.State(None), files,
                     uninstall)  # fmt: skip


# ---- pure helpers (tested without a browser) ------------------------------------------------------------------


def choices(registry: Registry, query: str) -> list[tuple[str, str]]:
    """(label, name) rows: search hits for a query, else every skill; label = name, version and description."""
    rows: list[Any] = registry.search(query, limit=LIST_LIMIT) if query.strip() else registry.list()
    return [(_label(r.name, r.version, r.description), r.name) for r in rows]


def _label(name: str, version: str, description: str) -> str:
    text = " ".join(description.split())
    short = text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rstrip() + "…"
    return f"{name} · {version} — {short}"


def header_html(registry: Registry, name: str, version: str | None) -> str:
    """Name, version (pinned/latest), description, licence, source and files of one version."""
    row = registry.get(name, version)
    skill = registry.skill(name)
    badges = []
    if skill.pinned_version == row.version:
        badges.append("<span class='k2-badge pinned'>pinned</span>")
    if skill.latest_version == row.version:
        badges.append("<span class='k2-badge'>latest</span>")
    if row.duplicate_of:
        badges.append(f"<span class='k2-badge warn'>same content as {html.escape(row.duplicate_of)}</span>")
    badges.append("<span class='k2-badge'>trusted</span>" if registry.is_trusted(row) else
                  "<span class='k2-badge warn' title='Its text reaches the model fenced, as data, and makes risky "
                  "tools ask first'>third-party</span>")
    fm = row.front_matter or {}
    facts = [f"source: {html.escape(row.source)}", f"added {row.created_at:%Y-%m-%d %H:%M} UTC"]
    if fm.get("license"):
        facts.insert(0, f"license: {html.escape(str(fm['license']))}")
    files = "".join(
        f"<li><code>{html.escape(p)}</code> <span>{_size(meta)}</span></li>"
        for p, meta in sorted((row.resources or {}).items())
    )
    return (
        f"<div class='k2-skill-head'><h3>{html.escape(row.name)} <span class='k2-ver'>{html.escape(row.version)}"
        f"</span> {''.join(badges)}</h3><p>{html.escape(row.description)}</p>"
        f"<div class='k2-facts'>{' · '.join(facts)}</div>"
        + (f"<ul class='k2-files'>{files}</ul>" if files else "")
        + "</div>"
    )


def _size(meta: Any) -> str:
    size = meta.get("size") if isinstance(meta, dict) else None
    return f"{size:,} B" if isinstance(size, int) else ""


def skill_md(registry: Registry, name: str, version: str | None) -> str:
    """The SKILL.md text of a version."""
    return registry.read_file(name, "SKILL.md", version).decode("utf-8", "replace")


def diff_markdown(registry: Registry, name: str, a: str, b: str) -> str:
    """A fenced unified diff of two versions, or a line saying they are the same."""
    if not (a and b):
        return "*Choose two versions.*"
    text = registry.diff(name, a, b)
    return f"```diff\n{text}```" if text else f"*{name} {a} and {b} have the same content.*"


def save_text(registry: Registry, text: str) -> Any:
    """Store the editor's SKILL.md as a new version of the skill its front matter names."""
    from skills import skillmd

    name = skillmd.parse(text).name
    return registry.save(name, text, source="edited")


# ---- wiring --------------------------------------------------------------------------------------------------


def wire_skills(tab: SkillsTab, backend: Backend, conversation_id: gr.State, page: gr.Tab | Opened) -> None:
    """Connect the tab to the registry (through the backend's Agent database) and to the open chat; the list is read
    when the tab (`page`) is opened, not on every page load."""

    async def registry() -> Registry:
        from skills.registry import Registry

        return Registry((await backend.agent()).db)

    def error(exc: BaseException, title: str) -> str:
        if not _expected(exc):
            log.exception(title)
        return notice_html("error", readable_error(exc) if not _expected(exc) else str(exc), title)

    def view(reg: Registry, name: str, version: str | None, query: str = "") -> dict[Any, Any]:
        """Every component that shows one skill version, refreshed (a bundle exported for another one goes away)."""
        row = reg.get(name, version)
        versions = [v.version for v in reg.versions(name)]
        older = versions[1] if len(versions) > 1 else versions[0]
        return {
            tab.search: query,
            tab.export_file: None,
            tab.files.picker: gr.update(choices=file_choices(reg, name, row.version), value=SKILL_FILE),
            tab.uninstall.button: gr.update(**uninstall_state(reg, name)),
            tab.uninstall.confirm_box: gr.update(visible=False),
            tab.listing: gr.update(choices=choices(reg, query), value=name),
            tab.selected: name,
            tab.header: header_html(reg, name, row.version),
            tab.body: row.body,
            tab.editor: skill_md(reg, name, row.version),
            tab.version: gr.update(choices=versions, value=row.version),
            tab.diff_a: gr.update(choices=versions, value=older),
            tab.diff_b: gr.update(choices=versions, value=versions[0]),
            tab.diff_out: "",
        }

    shown = [tab.search, tab.export_file, tab.files.picker, tab.uninstall.button, tab.uninstall.confirm_box,
             tab.listing, tab.selected, tab.header, tab.body, tab.editor, tab.version, tab.diff_a, tab.diff_b,
             tab.diff_out]  # fmt: skip
    out = [*shown, tab.status]

    async def refresh(query: str) -> Any:
        try:
            reg = await registry()
            return gr.update(choices=await asyncio.to_thread(choices, reg, query or ""))
        except Exception as exc:
            log.exception("listing skills failed")
            return gr.update(choices=[], info=readable_error(exc))

    # change, not input: Gradio sends no input event when the box is emptied, which left the old filter in place.
    tab.search.change(refresh, tab.search, tab.listing, show_progress="hidden", trigger_mode="always_last")
    tab.search.submit(refresh, tab.search, tab.listing, show_progress="hidden")
    page.select(refresh, tab.search, tab.listing, show_progress="hidden")

    async def select(name: str | None, query: str) -> dict[Any, Any]:
        if not name:
            return {tab.status: ""}
        try:
            reg = await registry()
            return {**await asyncio.to_thread(view, reg, name, None, query or ""), tab.status: ""}
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, f"Cannot open {name}.")}

    tab.listing.input(select, [tab.listing, tab.search], out, show_progress="hidden")

    async def show_version(name: str | None, version: str | None) -> dict[Any, Any]:
        if not (name and version):
            return {}
        try:
            reg = await registry()
            row = await asyncio.to_thread(reg.get, name, version)
            text = await asyncio.to_thread(skill_md, reg, name, version)
            head = await asyncio.to_thread(header_html, reg, name, version)
            names = await asyncio.to_thread(file_choices, reg, name, version)
            return {tab.header: head, tab.body: row.body, tab.editor: text, tab.status: "", tab.export_file: None,
                    tab.files.picker: gr.update(choices=names, value=SKILL_FILE)}
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, f"Cannot show {name} {version}.")}

    tab.version.input(show_version, [tab.selected, tab.version],
                      [tab.header, tab.body, tab.editor, tab.status, tab.export_file, tab.files.picker])

    wire_skill_manage(tab, registry, error, out, lambda reg: choices(reg, ""), EMPTY_BODY)

    def pinner(unpin: bool) -> Any:
        async def handler(name: str | None, version: str | None, query: str) -> dict[Any, Any]:
            if not name:
                return {tab.status: notice_html("info", "Pick a skill first.")}
            try:
                reg = await registry()
                await asyncio.to_thread(reg.pin, name, None if unpin else version)
                message = f"{name} now uses its latest version." if unpin else f"{name} is pinned to {version}."
                shown_version = None if unpin else version
                return {
                    **await asyncio.to_thread(view, reg, name, shown_version, query or ""),
                    tab.status: notice_html("info", message),
                }
            except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
                return {tab.status: error(exc, "Pinning failed.")}

        return handler

    async def toggle_trust(name: str | None, version: str | None, query: str) -> dict[Any, Any]:
        if not name:
            return {tab.status: notice_html("info", "Pick a skill first.")}
        try:
            reg = await registry()
            skill = await asyncio.to_thread(reg.skill, name)
            await asyncio.to_thread(reg.set_trusted, name, not skill.trusted)
            said = ("trusted: its text reaches the model as instructions" if not skill.trusted else
                    "third-party again: its text reaches the model fenced, as data")
            return {**await asyncio.to_thread(view, reg, name, version, query or ""),
                    tab.status: notice_html("info", f"{name} is {said}.")}
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, "Changing the trust failed.")}

    tab.trust.click(toggle_trust, [tab.selected, tab.version, tab.search], out)
    tab.pin.click(pinner(False), [tab.selected, tab.version, tab.search], out)
    tab.unpin.click(pinner(True), [tab.selected, tab.version, tab.search], out)

    async def diff(name: str | None, a: str | None, b: str | None) -> Any:
        if not name:
            return "*Pick a skill first.*"
        try:
            return await asyncio.to_thread(diff_markdown, await registry(), name, a or "", b or "")
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return f"**Diff failed:** {readable_error(exc) if not _expected(exc) else exc}"

    tab.diff.click(diff, [tab.selected, tab.diff_a, tab.diff_b], tab.diff_out)

    async def export(name: str | None, version: str | None) -> dict[Any, Any]:
        if not name:
            return {tab.status: notice_html("info", "Pick a skill first.")}
        try:
            reg = await registry()
            # Gradio serves files from the temp directory; the bundle is a copy, the registry keeps the original.
            folder = Path(tempfile.mkdtemp(prefix="k2hub-skill-"))
            path = await asyncio.to_thread(reg.export_bundle, name, version, folder / f"{name}-{version}.zip")
            return {tab.export_file: str(path), tab.status: notice_html("info", f"Exported {name} {version}.")}
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, "Export failed.")}

    tab.export.click(export, [tab.selected, tab.version], [tab.export_file, tab.status])

    def installer(kind: str) -> Any:
        async def handler(path: str | None, query: str) -> dict[Any, Any]:
            if not path or not str(path).strip():
                return {tab.status: notice_html("info", "Give a skill folder path." if kind == "folder" else "")}
            try:
                reg = await registry()
                method = reg.install_folder if kind == "folder" else reg.import_bundle
                row = await asyncio.to_thread(method, str(path).strip())
                note = f" (same content as {row.duplicate_of})" if row.duplicate_of else ""
                return {
                    **await asyncio.to_thread(view, reg, row.name, row.version, ""),  # listed even if filtered out
                    tab.status: notice_html("info", f"Installed {row.name} {row.version}{note}."),
                }
            except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
                return {tab.status: error(exc, "Install failed." if kind == "folder" else "Import failed.")}

        return handler

    tab.install.click(installer("folder"), [tab.folder, tab.search], out)
    tab.upload.upload(installer("bundle"), [tab.upload, tab.search], out)

    async def save(text: str, query: str) -> dict[Any, Any]:
        try:
            reg = await registry()
            row = await asyncio.to_thread(save_text, reg, text or "")
            note = f" Its content equals {row.duplicate_of}." if row.duplicate_of else ""
            return {
                **await asyncio.to_thread(view, reg, row.name, row.version, ""),  # listed even if filtered out
                tab.views: gr.Tabs(selected="read"),
                tab.status: notice_html("info", f"Saved {row.name} {row.version}.{note}"),
            }
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            return {tab.status: error(exc, "Not saved.")}

    tab.save.click(save, [tab.editor, tab.search], [*out, tab.views])

    async def draft(cid: str | None) -> Any:
        if not cid:
            message = "Open or run a conversation in the Chat tab first; then draft a skill from it."
            yield {tab.status: notice_html("info", message)}
            return
        yield {
            tab.status: notice_html("info", "Asking the model to draft a SKILL.md from this conversation…"),
            tab.draft: gr.update(interactive=False),
        }
        try:
            from agents.workflows.skill_drafter import draft_for_conversation

            result = await draft_for_conversation(await backend.agent(), cid)
        except Exception as exc:  # noqa: BLE001 - the UI boundary: any failure becomes a message
            yield {tab.status: error(exc, "Drafting failed."), tab.draft: gr.update(interactive=True)}
            return
        if result.error and not result.text:
            yield {tab.status: notice_html("warning", result.error), tab.draft: gr.update(interactive=True)}
            return
        message = (
            "Draft ready in the Edit tab: review it, then Save as new version."
            if result.error is None
            else f"Draft ready in the Edit tab, but fix this before saving: {result.error}"
        )
        # The header must not suggest the draft belongs to the skill shown before: Save uses the draft's own name.
        head = (
            f"<div class='k2-skill-head'><h3>{html.escape(result.name or 'New skill')} "
            "<span class='k2-badge warn'>draft, not saved</span></h3></div>"
        )
        yield {
            tab.editor: result.text,
            tab.status: notice_html("warning" if result.error else "info", message),
            tab.draft: gr.update(interactive=True),
            tab.views: gr.Tabs(selected="edit"),
            tab.header: head,
            tab.body: "*The draft is in the Edit tab.*",
        }

    tab.draft.click(draft, conversation_id, [tab.editor, tab.status, tab.draft, tab.views, tab.header, tab.body])


def _expected(exc: BaseException) -> bool:
    """Errors whose message already tells the user what to fix (bad SKILL.md, conflict, missing skill)."""
    from skills.errors import SkillError

    return isinstance(exc, (SkillError, FileNotFoundError, NotADirectoryError))
