"""Budgets and theme in the Settings tab (preferences in the settings table, never secrets).

Budgets: the per-run limits (dollars, tool calls, billed tokens, wall time), shown with their K2HUB_MAX_* defaults;
saving applies them from the next run on and at every start (agents/policy/saved_budgets.py), and the budget line
under the composer follows. Theme: light or dark, saved for every browser; the header's ◐ switch saves it too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.backend import Backend
from app.ui.render import budget_html
from storage import repo

if TYPE_CHECKING:
    from app.config import Settings

THEME_KEY = "ui.theme"
# The theme as the page shows it: Gradio's dark mode is the `dark` class on <body> (also kept in localStorage, which
# the header's load script reads before the server answers).
APPLY_THEME = """(theme) => {
  if (theme === 'dark') document.body.classList.add('dark');
  if (theme === 'light') document.body.classList.remove('dark');
  try { if (theme) localStorage.setItem('k2-theme', theme); } catch (e) {}
  return theme;
}"""
# The header's ◐ switch: flip, and hand the new theme to the server to save.
TOGGLE_THEME = """() => {
  const dark = document.body.classList.toggle('dark');
  try { localStorage.setItem('k2-theme', dark ? 'dark' : 'light'); } catch (e) {}
  return dark ? 'dark' : 'light';
}"""


@dataclass
class Preferences:
    cost: gr.Number
    steps: gr.Number
    tokens: gr.Number
    wall_min: gr.Number
    save_budgets: gr.Button
    budget_result: gr.Markdown
    theme: gr.Radio


def build_preferences(settings: Settings) -> Preferences:
    """Lay out the budgets and theme (inside the Settings tab, under the keys and the default model)."""
    gr.Markdown("### Budgets per run\nA run stops when it reaches one of these (the defaults come from "
                "`K2HUB_MAX_COST_USD`, `K2HUB_MAX_STEPS`, `K2HUB_MAX_TOKENS`, `K2HUB_MAX_WALL_S`).")
    with gr.Row(equal_height=True):
        cost = gr.Number(settings.max_cost_usd, label="Dollars", minimum=0.01, elem_id="k2-budget-cost")
        steps = gr.Number(settings.max_steps, label="Tool calls", precision=0, minimum=1, elem_id="k2-budget-steps")
        tokens = gr.Number(settings.max_tokens, label="Billed tokens", precision=0, minimum=1,
                           elem_id="k2-budget-tokens")
        wall = gr.Number(round(settings.max_wall_s / 60, 2), label="Minutes", minimum=0.1, elem_id="k2-budget-wall")
    save = gr.Button("Save budgets", size="sm", elem_id="k2-save-budgets")
    result = gr.Markdown("", elem_id="k2-budget-result")
    gr.Markdown("### Theme")
    theme = gr.Radio([("Light", "light"), ("Dark", "dark")], value=None, label="Theme", show_label=False,
                     elem_id="k2-theme-choice")
    return Preferences(cost, steps, tokens, wall, save, result, theme)


def wire_preferences(prefs: Preferences, budget_line: gr.HTML, theme_switch: gr.Button, backend: Backend,
                     demo: gr.Blocks, chat_tab: gr.Tab) -> None:
    """Save budgets (the running agent uses them at once) and the theme; show the saved ones on page load, and the
    budgets in use again whenever the Chat tab is opened."""
    from agents.policy.budget import Limits
    from agents.policy.saved_budgets import save_limits

    def shown(limits: Limits) -> tuple[Any, ...]:
        return (limits.max_cost_usd, limits.max_steps, limits.max_tokens, round(limits.max_wall_s / 60, 2),
                budget_html(limits.max_cost_usd, limits.max_steps, limits.max_wall_s))

    async def save(cost: float | None, steps: float | None, tokens: float | None, minutes: float | None) -> tuple:
        agent = await backend.agent()
        try:
            limits = Limits(int(steps or 0), int(tokens or 0), float(cost or 0), float(minutes or 0) * 60)
            await asyncio.to_thread(save_limits, agent.db, limits)
        except (TypeError, ValueError) as exc:
            return (*[gr.update()] * 5, f"⚠ Not saved: {exc}.")
        agent.config.limits = limits  # from the next run on, in this process
        return (*shown(limits), f"✓ Saved: ${limits.max_cost_usd:,.2f}, {limits.max_steps:,} tool calls, "
                                f"{limits.max_tokens:,} tokens, {limits.max_wall_s / 60:g} min per run.")

    budget_outputs = [prefs.cost, prefs.steps, prefs.tokens, prefs.wall_min, budget_line]
    prefs.save_budgets.click(save, [prefs.cost, prefs.steps, prefs.tokens, prefs.wall_min],
                             [*budget_outputs, prefs.budget_result])

    async def store_theme(theme: str | None) -> Any:
        if theme not in ("light", "dark"):
            return gr.update()
        agent = await backend.agent()
        await asyncio.to_thread(repo.set_setting, agent.db, THEME_KEY, theme)
        return theme

    prefs.theme.input(store_theme, prefs.theme, prefs.theme, js=APPLY_THEME)
    theme_switch.click(store_theme, prefs.theme, prefs.theme, js=TOGGLE_THEME)
    prefs.theme.change(None, prefs.theme, None, js=APPLY_THEME)  # a saved theme arriving on load is applied

    fields = [prefs.cost, prefs.steps, prefs.tokens, prefs.wall_min]
    built = [f.value for f in fields]  # what every page starts with (the environment's defaults)

    async def on_load() -> tuple[Any, ...]:
        try:
            agent = await backend.agent()
        except Exception:  # the chat says why the agent cannot start
            return (*[gr.update()] * 5, gr.update())
        theme = await asyncio.to_thread(repo.get_setting, agent.db, THEME_KEY, None)
        stored = shown(agent.config.limits)
        # The first load opens the agent (seconds on a busy machine) and a user may type into a field meanwhile: only
        # a saved budget that differs from the page's default is sent, so an unsaved default never overwrites an edit.
        fields_now = [gr.update() if not _differs(value, start) else value for value, start in zip(stored, built)]
        return (*fields_now, stored[-1], theme if theme in ("light", "dark") else gr.update())

    demo.load(on_load, None, [*budget_outputs, prefs.theme], show_progress="hidden")

    def in_use() -> Any:
        # A loaded machine's full test run saw Save's update of this line (in the hidden Chat tab) not survive; the
        # line is drawn again from the limits the agent holds when the user comes back to the chat.
        agent = backend.opened
        if agent is None:
            return gr.update()
        limits = agent.config.limits
        return budget_html(limits.max_cost_usd, limits.max_steps, limits.max_wall_s)

    chat_tab.select(in_use, None, budget_line, show_progress="hidden")


def _differs(value: float | None, start: float | None) -> bool:
    """Whether a saved budget differs from the value the page was built with."""
    if value is None or start is None:
        return value is not start
    return abs(float(value) - float(start)) > 1e-9
