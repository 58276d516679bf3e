"""Tabs built when first opened (issue 19's first-paint target).

Gradio writes every component and event of the app into each page, and the server copies and walks that config on
every page request; the browser parses it before its first paint. The Skills, COBOL, MCP and Runs tabs are about a
third of it and nobody sees them on the first screen. `lazy_tab` builds a tab's components and events with `gr.render`
the first time the tab is selected, once per page (a later select does not rebuild it: what the user typed stays).

Two things differ inside a render, and `lazy_tab` restores the page's behaviour for both:
- a tab's `page.select(...)` loader would miss the select that built it: `Opened.select` also runs it once the tab
  is built (a load event inside a render runs after the render);
- the browser decides whether a component without `interactive=` is editable from the events it knew at page load
  (inputs are, outputs are not, others when empty), so it would lock every rendered input: `lazy_tab` sets the same
  answer on each rendered component from the rendered events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.context import LocalContext


class Opened:
    """Stands for a lazily built tab in its wire function: `select` listens to the tab's select and to its build."""

    def __init__(self, tab: gr.Tab, demo: gr.Blocks) -> None:
        self.tab, self.demo = tab, demo

    def select(self, fn: Callable[..., Any], inputs: Any = None, outputs: Any = None, **options: Any) -> Any:
        return gr.on([self.tab.select, self.demo.load], fn, inputs, outputs, **options)


def lazy_tab(tab: gr.Tab, demo: gr.Blocks, build: Callable[[Opened], None]) -> None:
    """Inside `with tab:`, build(Opened) runs when the tab is first selected and adds the tab's content and events."""
    # Set in the browser (no round trip, no wait behind the page's load events in the queue); its change runs the
    # render, and False → True changes once per page.
    opened = gr.Checkbox(False, visible=False)
    tab.select(None, None, opened, js="() => true")

    @gr.render(inputs=opened, triggers=[opened.change], show_progress="hidden")
    def _build(is_open: bool) -> None:
        if not is_open:
            return
        config = LocalContext.blocks_config.get()
        blocks, fns = set(config.blocks), set(config.fns)
        build(Opened(tab, demo))
        _settle_interactive([config.blocks[i] for i in config.blocks if i not in blocks],
                            [config.fns[i] for i in config.fns if i not in fns])


def _empty(value: Any) -> bool:
    """The browser's test for "no value yet" (an empty string, list, 0, None or False)."""
    return value in ("", 0, None, False) or (isinstance(value, list) and not value)


def _settle_interactive(blocks: list[Any], fns: list[Any]) -> None:
    """Give each component without `interactive=` the value the browser would give it on a page that had it."""
    inputs = {b._id for fn in fns for b in fn.inputs}
    outputs = {b._id for fn in fns for b in fn.outputs}
    for block in blocks:
        if isinstance(block, gr.components.Component) and getattr(block, "interactive", False) is None:
            value = block.value if not callable(block.value) else None
            block.interactive = block._id in inputs or (block._id not in outputs and _empty(value))
