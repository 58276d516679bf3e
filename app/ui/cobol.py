"""COBOL tab: open a project (a folder on this machine or a zip upload) and see the analysis map: programs, paragraphs
with their PERFORM/CALL edges, files and record layouts, JCL links; then run a refactoring session on it (plan, edit,
generate & verify, report: app/ui/cobol_session.py)."""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from app.ui.backend import Backend
from app.ui.cobol_session import SessionPanel, build_session_panel, wire_session_panel
from app.ui.sidebar import Sidebar
from mcp_servers.cobol.project import Project, analyze_project
from mcp_servers.cobol.report import layout_text, program_lines

SESSION_PROMPT = (
    "Migrate the COBOL project in {path} to Go following the cobol-to-go-migration skill: analyze it "
    "with cobol__analyze_project, write migration/plan.md and wait for my review, then generate, test and "
    "verify each program with cobol__verify until EQUAL."
)


@dataclass
class CobolTab:
    folder: gr.Textbox
    upload: gr.File
    analyze: gr.Button
    summary: gr.Markdown
    programs: gr.Dataframe
    program: gr.Dropdown
    detail: gr.Textbox
    prompt: gr.Textbox
    state: gr.State
    root: gr.State  # the opened project's folder (a zip is unpacked into a temporary one)
    session: SessionPanel


def build_cobol() -> CobolTab:
    """The tab's components (call inside `with gr.Tab("COBOL")`)."""
    with gr.Row():
        folder = gr.Textbox(
            label="COBOL project folder", placeholder="/path/to/project", scale=3, elem_id="k2-cobol-folder"
        )
        upload = gr.File(label="or a .zip", file_types=[".zip"], scale=1, elem_id="k2-cobol-zip")
        analyze = gr.Button("Analyze", variant="primary", scale=0, elem_id="k2-cobol-analyze")
    summary = gr.Markdown(elem_id="k2-cobol-summary")
    programs = gr.Dataframe(
        headers=["program", "file", "lines", "tokens", "paragraphs", "files", "copybooks", "calls", "notes"],
        interactive=False,
        elem_id="k2-cobol-programs",
    )
    program = gr.Dropdown(
        label="Program: paragraphs, PERFORM graph and record layouts", choices=[], elem_id="k2-cobol-program"
    )
    # Plain monospaced text (ui.css), not gr.Code: the map has no syntax to colour, and a Code component anywhere on
    # the page makes the browser fetch ~390 KB of editor code before it shows the chat (bench_cold_start.py).
    detail = gr.Textbox(label="Map", lines=20, max_lines=40, interactive=False, buttons=["copy"],
                        elem_id="k2-cobol-detail")
    # A chat has no COBOL tools by default (agents/policy/tool_choice.py): the label says how to switch them on.
    with gr.Accordion("Or run the migration as a chat: a prompt to paste into the Chat tab (switch the cobol server on "
                      "in its ⚙ Tools for this chat)", open=False):
        prompt = gr.Textbox(show_label=False, lines=3, elem_id="k2-cobol-prompt")
    session = build_session_panel()
    return CobolTab(
        folder, upload, analyze, summary, programs, program, detail, prompt, gr.State(None), gr.State(None), session
    )


def wire_cobol(tab: CobolTab, backend: Backend, sb: Sidebar) -> None:
    """Event handlers: analyze on click, show a program's map on selection, the session's steps."""
    tab.analyze.click(
        run_analysis,
        [tab.folder, tab.upload],
        [tab.summary, tab.programs, tab.program, tab.detail, tab.prompt, tab.state, tab.root, tab.analyze,
         tab.session.start],
    )
    tab.program.change(show_program, [tab.state, tab.program], [tab.detail], show_progress="hidden")  # no overlay
    wire_session_panel(tab.session, tab.root, sb, backend)


def _root(folder: str, upload: Any) -> Path:
    if upload:
        path = Path(upload if isinstance(upload, str) else upload.name)
        dest = Path(tempfile.mkdtemp(prefix="k2hub-cobol-"))
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():  # refuse absolute paths and '..' (zip slip)
                target = (dest / member).resolve()
                if not str(target).startswith(str(dest.resolve())):
                    raise gr.Error(f"zip member {member!r} points outside the archive")
            z.extractall(dest)
        return dest
    root = Path(folder.strip()).expanduser()
    if not folder.strip() or not root.is_dir():
        raise gr.Error("Give a folder that exists on this machine, or upload a .zip of the project")
    return root


def run_analysis(folder: str, upload: Any) -> tuple[Any, ...]:
    """Analyze the project and fill the summary, the programs table and the program list."""
    root = _root(folder or "", upload)
    project = analyze_project(root)
    s = project.to_dict(layouts=False)["summary"]
    summary = (
        f"**{s['programs']} programs**, {s['lines']:,} lines, ~{s['tokens']:,} tokens · {s['copybooks']} "
        f"copybooks · {s['jcl_members']} JCL members · {s['data_files']} data files · analyzed in "
        f"{s['seconds']:.2f} s"
    )
    if project.errors:
        summary += "\n\n" + "; ".join(project.errors[:10])
    rows = [
        [
            p.program_id,
            p.path,
            p.lines,
            p.tokens,
            len(p.paragraphs),
            len(p.files),
            len(p.copybooks),
            ", ".join(p.calls),
            ", ".join(n for n, on in (("date", p.reads_date), ("ACCEPT", p.accepts_input)) if on),
        ]
        for p in project.programs
    ]
    names = [p.program_id for p in project.programs]
    first = names[0] if names else None
    return (
        summary,
        rows,
        gr.update(choices=names, value=first),
        program_map(project, first),
        SESSION_PROMPT.format(path=root),
        project,
        str(root),
        gr.update(variant="secondary"),  # analysed: starting a session is the next step
        gr.update(interactive=True, variant="primary"),
    )


def show_program(project: Project | None, name: str | None) -> str:
    return program_map(project, name) if project else ""


def program_map(project: Project, name: str | None) -> str:
    """One program's lines of the map plus the layouts of its files and the JCL steps that run it."""
    prog = project.program(name) if name else None
    if prog is None:
        return ""
    out = program_lines(prog)
    for f in prog.files:
        if f.records:
            out += ["", layout_text(prog, f)]
    steps = [d for d in project.datasets() if d["program"] == prog.program_id]
    if steps:
        out += ["", "JCL:"] + [f"  {d['job']}/{d['step']}: {d['dd']} -> {d['dsn']}" for d in steps]
    return "\n".join(out)
