"""The Gradio UI: a sidebar (conversations, model picker, keys, tools) beside the chat."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from app.ui.gradio_import import skip_stub_writer

skip_stub_writer()  # before Gradio defines its components

import gradio as gr  # after the stub writer is off

from app.ui.backend import Backend
from app.ui.chat import build_chat, wire_chat, wire_startup
from app.ui.cobol import build_cobol, wire_cobol
from app.ui.code_runner import build_code_runner, wire_code_runner
from app.ui.documents import build_documents, wire_documents
from app.ui.files import build_files, wire_files
from app.ui.continue_run import wire_continue
from app.ui.fit_notice import build_fit_notice, wire_fit_notice
from app.ui.tools_menu import build_tools_menu, wire_tools_menu
from app.ui.conversations import build_conversation_panel, wire_conversations
from app.ui.layout import LAYOUT_CSS, build_header, wire_layout
from app.ui.lazy_tab import Opened, lazy_tab
from app.ui.lean_page import LeanPageBlocks, undocument_events
from app.ui.live_list import wire_live_list
from app.ui.runs_tab import build_runs, wire_runs
from app.ui.settings_tab import build_settings, wire_settings
from app.ui.mcp import build_mcp, wire_mcp, wire_mcp_load
from app.ui.preferences import build_preferences, wire_preferences
from app.ui.privacy import build_privacy, wire_privacy
from app.ui.render import budget_html, notice_html
from app.ui.sidebar import build_sidebar, wire_sidebar
from app.ui.tool_clock import wire_tool_clock
from app.ui.skills import build_skills, wire_skills

if TYPE_CHECKING:
    from app.config import Settings

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "ui.css"

# System fonts only: a Google font would make every page load wait on a CDN (and fail offline).
THEME = gr.themes.Soft(
    primary_hue="indigo",
    neutral_hue="slate",
    radius_size="md",
    font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
    font_mono=["JetBrains Mono", "ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)


UNSAFE_SANDBOX = (
    "K2HUB_SANDBOX=unsafe-local: generated code runs on this machine WITHOUT isolation, with your files and network. "
    "Unset it to run code in the bubblewrap sandbox."
)


def build_ui(settings: Settings, backend: Backend | None = None) -> tuple[gr.Blocks, Backend]:
    """The Blocks app and the Backend it drives (the server closes the Backend on exit)."""
    backend = backend or Backend(settings)
    # The page config leaves out API schemas the browser never reads (app/ui/lean_page.py).
    with LeanPageBlocks(title="K2 Agent Hub", fill_height=True, fill_width=True) as demo:
        with gr.Row(elem_id="k2-shell", equal_height=False):
            with gr.Column(scale=0, min_width=280, elem_id="k2-sidebar"):
                sb = build_sidebar(settings)
            with gr.Column(scale=1, elem_id="k2-main"):
                header = build_header(sb.provider.value or "", sb.model.value)
                conversation = build_conversation_panel()
                # One tab per feature; each feature adds its tab here with a couple of lines.
                with gr.Tabs(elem_id="k2-tabs"):
                    with gr.Tab("Chat", id="chat", elem_id="k2-chat-tab") as chat_tab:
                        if os.environ.get("K2HUB_SANDBOX") == "unsafe-local":
                            gr.HTML(notice_html("error", UNSAFE_SANDBOX, title="Sandbox off."), elem_id="k2-unsafe-banner")
                        chat = build_chat()
                        # Under the composer; follows the budgets saved in Settings (app/ui/preferences.py).
                        budget_line = gr.HTML(budget_html(settings.max_cost_usd, settings.max_steps,
                                                          settings.max_wall_s), elem_id="k2-budget")
                        fit = build_fit_notice(chat.fit_gate)  # documents too large for the model: said, and Send waits
                        tools_menu = build_tools_menu()  # servers and tools on/off for this conversation
                        docs = build_documents(chat.doc_chips)
                        privacy = build_privacy(settings.redact, settings.redact_kinds)
                        files = build_files()
                        code_runner = build_code_runner()  # ▶ Run in sandbox on answers' code blocks
                    # Skills, COBOL, MCP, Runs: built when first opened (app/ui/lazy_tab.py), the first page carries less.
                    with gr.Tab("Skills", id="skills", elem_id="k2-skills-tab") as skills_page:
                        lazy_tab(skills_page, demo, lambda opened: wire_skills(build_skills(), backend,
                                                                               chat.conversation_id, opened))
                    with gr.Tab("COBOL", id="cobol", elem_id="k2-cobol-tab") as cobol_page:
                        lazy_tab(cobol_page, demo, lambda _opened: wire_cobol(build_cobol(), backend, sb))
                    with gr.Tab("MCP", id="mcp", elem_id="k2-mcp-tab") as mcp_page:
                        lazy_tab(mcp_page, demo, lambda opened: _mcp(opened, backend))
                    with gr.Tab("Runs", id="runs", elem_id="k2-runs-tab") as runs_page:
                        lazy_tab(runs_page, demo, lambda opened: wire_runs(build_runs(), backend, opened))
                    with gr.Tab("Settings", id="settings", elem_id="k2-settings-tab"):
                        settings_tab = build_settings(settings)
                        prefs = build_preferences(settings)  # budgets and theme
        wire_sidebar(sb, settings, backend, header.model)
        wire_layout(demo, header)
        wire_chat(chat, sb, backend)
        wire_documents(docs, chat.conversation_id, [chat.conversation_id, chat.status], backend)
        wire_fit_notice(fit, chat.conversation_id, docs.listing, sb, backend, header.model)
        wire_tools_menu(tools_menu, chat.conversation_id, [chat.conversation_id, docs.listing], sb.new_chat, backend,
                        demo)
        wire_files(files, chat.conversation_id, [chat.conversation_id, chat.status])
        wire_code_runner(code_runner, chat.chatbot, chat.status, chat.conversation_id, backend)
        wire_privacy(privacy, chat.conversation_id, [chat.conversation_id, chat.status], backend)
        wire_startup(demo, chat, sb, backend)
        wire_conversations(conversation, chat, sb, header, backend, demo)
        wire_continue(chat, sb, backend, chat.resume, chat.ended)
        wire_tool_clock(demo)
        wire_live_list(sb, chat.conversation_id, backend)
        wire_settings(settings_tab, settings, backend, sb, demo, header.model)
        wire_preferences(prefs, budget_line, header.theme, backend, demo, chat_tab)
    undocument_events(demo)
    return demo, backend


def _mcp(opened: Opened, backend: Backend) -> None:
    tab = build_mcp()
    wire_mcp(tab, backend)
    wire_mcp_load(opened, tab, backend)


CSS_PATHS = [CSS_PATH, LAYOUT_CSS]  # ui.css, then the frame's rules for any screen size

__all__ = ["CSS_PATH", "CSS_PATHS", "THEME", "Backend", "build_ui"]
