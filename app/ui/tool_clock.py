"""Elapsed time on a running tool card: a ticking "12 s" beside the spinner of each pending ⚙ card.

The server sends a frame only when something happens, and a tool may run for minutes without a word: the clock runs
in the browser. A card is known by its place among the chat's cards and its title; its clock starts when the page
first sees it pending and is forgotten once it is done (a new chat's first card starts from zero).
"""

from __future__ import annotations

import gradio as gr

from app.ui.render import TOOL_MARK

TICK_MS = 500

CLOCK_JS = """() => {
  if (window.__k2ToolClock) return;
  window.__k2ToolClock = true;
  const since = new Map();
  const fmt = (s) => s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
  setInterval(() => {
    const seen = new Set();
    document.querySelectorAll('#k2-chat .thought-group > .title').forEach((title, index) => {
      const name = (title.querySelector('.md') || title).innerText.trim();
      const running = !!title.querySelector('.loading-spinner');
      const old = title.querySelector('.k2-tool-clock');
      if (!running || !name.startsWith('__MARK__')) { if (old) old.remove(); return; }
      const key = `${index}|${name}`;
      seen.add(key);
      if (!since.has(key)) since.set(key, Date.now());
      const clock = old || document.createElement('span');
      if (!old) {
        clock.className = 'k2-tool-clock';
        clock.setAttribute('aria-label', 'running for');
        const spinner = title.querySelector('.loading-spinner');
        spinner.after(clock);
      }
      clock.textContent = fmt(Math.floor((Date.now() - since.get(key)) / 1000));
    });
    for (const key of [...since.keys()]) if (!seen.has(key)) since.delete(key);
  }, __TICK__);
}""".replace("__MARK__", TOOL_MARK).replace("__TICK__", str(TICK_MS))


def wire_tool_clock(demo: gr.Blocks) -> None:
    """Install the clock once per page."""
    demo.load(None, js=CLOCK_JS)
