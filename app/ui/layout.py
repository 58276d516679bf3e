"""The app's frame on any screen: a header naming the model that answers, a ☰ button that opens the sidebar on
narrow screens, a light/dark toggle (remembered in the browser), and names for screen readers.

All of it runs in the browser (`js=` handlers, no server round trip): opening a menu must not wait on a busy queue.
The layout rules are in layout.css beside this module.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from agents.models.presets import PRESETS

LAYOUT_CSS = Path(__file__).with_name("layout.css")

# Toggles a class on the shell (Gradio scopes custom CSS inside its container, so not on <body>); layout.css slides
# the sidebar in under 720 px when it is set.
TOGGLE_NAV = """() => {
  const shell = document.querySelector('#k2-shell');
  const open = shell ? shell.classList.toggle('k2-nav-open') : false;
  const b = document.querySelector('#k2-nav-toggle');
  if (b) b.setAttribute('aria-expanded', String(open));
}"""
# The conversation panel (rename, export, delete) opens under the header.
TOGGLE_CONVERSATION = """() => {
  const shell = document.querySelector('#k2-shell');
  const open = shell ? shell.classList.toggle('k2-conv-open') : false;
  const b = document.querySelector('#k2-conv-toggle');
  if (b) b.setAttribute('aria-expanded', String(open));
}"""
# On load: the remembered theme, and accessible names for controls whose visible text is a glyph or hidden.
ON_LOAD = """() => {
  try {
    const t = localStorage.getItem('k2-theme');
    if (t === 'dark') document.body.classList.add('dark');
    if (t === 'light') document.body.classList.remove('dark');
  } catch (e) {}
  const names = {
    '#k2-prompt textarea': 'Message to the agent',
    '#k2-conversations': 'Conversations',
    '#k2-send': 'Send the message',
    '#k2-stop': 'Stop the run',
    '#k2-new-chat': 'Start a new chat',
    '#k2-nav-toggle': 'Show or hide the sidebar',
    '#k2-theme-toggle': 'Switch between light and dark theme',
    '#k2-conv-toggle': 'Rename, export or delete this conversation',
    '#k2-chat': 'Chat messages',
    '#k2-status': 'Run status',
  };
  const name = () => {
    for (const [sel, label] of Object.entries(names)) {
      document.querySelectorAll(sel).forEach((el) => el.setAttribute('aria-label', label));
    }
    const conv = document.querySelector('#k2-conversations');
    if (conv) conv.setAttribute('role', 'radiogroup');
    const status = document.querySelector('#k2-status');
    if (status) status.setAttribute('aria-live', 'polite');
    const nav = document.querySelector('#k2-nav-toggle');
    if (nav) nav.setAttribute('aria-controls', 'k2-sidebar');
  };
  name();
  // Gradio re-renders components (a hidden Stop button comes back): names are set again when the DOM changes.
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
  // The drawer closes on Esc, on a click beside it, and when a conversation is picked (the chat comes into view).
  const close = () => {
    const shell = document.querySelector('#k2-shell');
    if (!shell || !shell.classList.contains('k2-nav-open')) return;
    shell.classList.remove('k2-nav-open');
    const b = document.querySelector('#k2-nav-toggle');
    if (b) b.setAttribute('aria-expanded', 'false');
  };
  // Esc closes the drawer when it is open, else stops the running run (as the Stop button does).
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    const shell = document.querySelector('#k2-shell');
    if (shell && shell.classList.contains('k2-nav-open')) { close(); return; }
    // The status line turns to "●" a moment before Gradio shows Stop: an Esc in that moment waits for it (≤ 3 s).
    const press = (tries) => {
      const stop = document.querySelector('#k2-stop');
      if (stop && stop.offsetParent !== null && !stop.disabled) { stop.click(); return; }
      const status = document.querySelector('#k2-status');
      const running = status && (status.innerText || '').trim().startsWith('●');
      if (running && tries > 0) setTimeout(() => press(tries - 1), 100);
    };
    press(30);
  });
  // Elapsed time while a run streams (the status line starts with ●): kept on the status block's own element,
  // which survives Gradio's updates of its content; layout.css shows it after the line.
  let since = null;
  setInterval(() => {
    const status = document.querySelector('#k2-status');
    if (!status) return;
    const running = (status.innerText || '').trim().startsWith('●');
    if (!running) { since = null; status.removeAttribute('data-elapsed'); return; }
    if (since === null) since = Date.now();
    const s = Math.floor((Date.now() - since) / 1000);
    status.setAttribute('data-elapsed', s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`);
  }, 1000);
  document.addEventListener('click', (ev) => {
    const t = ev.target;
    if (!t.closest || t.closest('#k2-nav-toggle')) return;
    if (!t.closest('#k2-sidebar') || t.closest('#k2-conversations label')) close();
  });
}"""


def model_header(provider: str, model: str | None) -> str:
    """The header's line: which model answers the next message (Auto says that it picks one)."""
    if not provider:
        text = "Auto — the first provider with a key answers"
    else:
        preset = PRESETS.get(provider)
        label = preset.label if preset is not None else provider
        text = f"{model or 'default model'} · {label}"
    return f'<div class="k2-header-model" title="The model that answers the next message">{html.escape(text)}</div>'


@dataclass
class Header:
    """The bar above the tabs."""

    nav: gr.Button
    model: gr.HTML
    conversation: gr.Button
    theme: gr.Button


def build_header(provider: str, model: str | None) -> Header:
    """Lay out the header row (inside the main column)."""
    with gr.Row(elem_id="k2-header", equal_height=True):
        nav = gr.Button("☰", elem_id="k2-nav-toggle", size="sm", scale=0, min_width=40)
        shown = gr.HTML(model_header(provider, model), elem_id="k2-header-model")
        conversation = gr.Button("⋯ Chat", elem_id="k2-conv-toggle", size="sm", scale=0, min_width=70)
        theme = gr.Button("◐ Theme", elem_id="k2-theme-toggle", size="sm", scale=0, min_width=80)
    return Header(nav, shown, conversation, theme)


# Presses the chat's Send (its own handler then sends as usual): after Send anyway, and after regenerate or
# edit-and-resend put a prompt back in the composer.
CLICK_SEND_JS = "() => { const b = document.querySelector('#k2-send'); if (b) b.click(); }"


def wire_layout(demo: gr.Blocks, header: Header) -> None:
    """Browser-side toggles and the load-time names."""
    header.nav.click(None, js=TOGGLE_NAV)
    # header.theme: switched and saved by app/ui/preferences.py (the theme is a preference of the Settings tab)
    header.conversation.click(None, js=TOGGLE_CONVERSATION)
    demo.load(None, js=ON_LOAD)
    # The header is named by every event that sets the pickers, in the same answer (sidebar, fit notice, reopen,
    # settings): a change listener on the pickers read values in flight and could answer out of order.
