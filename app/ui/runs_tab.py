"""The Runs tab: every run with status, model, steps, tokens (cached), cost and duration, filtered and paged; a
run's step timeline; fork from any step into a new conversation; replay a run on another model (app/ui/replay.py);
totals per day and per provider, as charts and tables."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui import selfhost
from app.ui.backend import Backend
from app.ui.markup import shorten
from app.ui.render import format_usage
from app.ui.replay import ReplayControls, build_replay, wire_replay
from app.ui.totals_chart import totals_charts
from storage import forks, workbench

if TYPE_CHECKING:
    from app.ui.lazy_tab import Opened

PAGE = 50
COLUMNS = ["Started (UTC)", "Status", "Provider", "Model", "Steps", "Tokens", "Cached", "Cost $", "Duration s",
           "Conversation", "Run id"]
_MARK = {"done": "✓", "failed": "✗", "stopped": "■", "budget": "■", "loop": "■", "interrupted": "■", "waiting": "…",
         "running": "●"}


def _when(value: Any) -> datetime | None:
    """A time as the driver returned it (ISO text on SQLite, datetime on Postgres)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def run_table(rows: list[Any]) -> list[list[Any]]:
    """Rows for the table (runs_page's rows, in its column order); the duration is blank while a run runs."""
    out = []
    # Unpacked by position: a SQLAlchemy Row's field lookup by name costs more than the rest of this loop.
    for run_id, _, status, provider, model, started, finished, steps, prompt, completion, cached, cost, title in rows:
        began, ended = _when(started), _when(finished)
        duration = round((ended - began).total_seconds(), 1) if ended and began else ""
        out.append([str(started)[:19], f"{_MARK.get(status, '')} {status}", provider, model, steps,
                    prompt + completion, cached, round(cost, 4), duration, title, run_id])
    return out


def timeline_html(steps: list[Any]) -> str:
    """The run's steps in order: each model call and tool call with timing, tokens and a result preview."""
    if not steps:
        return '<p class="k2-muted">This run recorded no steps.</p>'
    rows = []
    for n, st in enumerate(steps, 1):
        what = "model call" if st.kind == "model" else "tool call"
        tokens = format_usage(st.prompt_tokens + st.completion_tokens, st.cost_usd, st.cached_tokens) \
            if st.kind == "model" else ""
        preview = st.error or st.result_preview or ""
        mark = "✗" if st.error else "✓"
        rows.append(f"<tr><td>{n}</td><td>{mark} {what}</td><td><code>{html.escape(st.name)}</code></td>"
                    f"<td>{st.duration_s:.2f} s</td><td>{html.escape(tokens)}</td>"
                    f"<td>{html.escape(shorten(' '.join(preview.split()), 140))}</td></tr>")
    head = "<tr><th>#</th><th>Step</th><th>Name</th><th>Time</th><th>Tokens · cost</th><th>Result</th></tr>"
    return f'<table class="k2-timeline">{head}{"".join(rows)}</table>'


@dataclass
class RunsTab:
    """The Runs tab's components."""

    provider: gr.Dropdown
    model: gr.Dropdown
    status: gr.Dropdown
    day: gr.Textbox
    refresh: gr.Button
    prev: gr.Button
    next: gr.Button
    page_info: gr.Markdown
    page: gr.State
    table: gr.Dataframe
    run_id: gr.Textbox
    timeline: gr.HTML
    fork_step: gr.Number
    fork: gr.Button
    fork_result: gr.HTML
    totals_day: gr.Dataframe
    totals_provider: gr.Dataframe
    calc_model: gr.Dropdown
    calc_gpu: gr.Number
    calc_speed: gr.Number
    calc_volume: gr.Number
    calc_run: gr.Button
    calc_result: gr.HTML
    calc_plot: gr.HTML
    totals_chart: gr.HTML | None = None  # tokens per day and per provider (app/ui/totals_chart.py)
    replay: ReplayControls | None = None


def build_runs() -> RunsTab:
    """Lay out the tab (inside the caller's Tab)."""
    with gr.Row(equal_height=True):
        provider = gr.Dropdown([""], value="", label="Provider", allow_custom_value=True, elem_id="k2-runs-provider")
        model = gr.Dropdown([""], value="", label="Model", allow_custom_value=True, elem_id="k2-runs-model")
        status = gr.Dropdown([""], value="", label="Status", allow_custom_value=True, elem_id="k2-runs-status")
        day = gr.Textbox(label="Day (YYYY-MM-DD)", placeholder="any day", elem_id="k2-runs-day")
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="k2-runs-refresh", scale=0, min_width=90)
    table = gr.Dataframe(headers=COLUMNS, value=[], interactive=False, wrap=False, elem_id="k2-runs-table",
                         label="Runs (click a row for its steps)")
    with gr.Row(equal_height=True):
        prev = gr.Button("← Newer", size="sm", elem_id="k2-runs-prev", scale=0, min_width=90)
        page_info = gr.Markdown("", elem_id="k2-runs-page")
        nxt = gr.Button("Older →", size="sm", elem_id="k2-runs-next", scale=0, min_width=90)
    page = gr.State(0)
    run_id = gr.Textbox(label="Run", elem_id="k2-runs-run-id", placeholder="click a run above, or paste its id")
    timeline = gr.HTML("", elem_id="k2-runs-timeline")
    with gr.Row(equal_height=True):
        fork_step = gr.Number(label="Fork from step", value=1, precision=0, minimum=1, elem_id="k2-fork-step")
        fork = gr.Button("Fork into a new conversation", size="sm", elem_id="k2-fork", scale=0, min_width=220)
    fork_result = gr.HTML("", elem_id="k2-fork-result")
    replay = build_replay()
    with gr.Accordion("Totals", open=False, elem_id="k2-runs-totals"):
        totals_chart = gr.HTML("", elem_id="k2-runs-chart")
        totals_day = gr.Dataframe(headers=["Day", "Runs", "Tokens", "Cached", "Cost $"], value=[], interactive=False)
        totals_provider = gr.Dataframe(headers=["Provider", "Runs", "Tokens", "Cached", "Cost $"], value=[],
                                       interactive=False)
    with gr.Accordion("Self-host vs API", open=False, elem_id="k2-selfhost"):
        choices = selfhost.priced_models()
        calc_model = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="API model (list price)",
                                 elem_id="k2-calc-model")
        with gr.Row():
            calc_gpu = gr.Number(label="GPU $ per hour", value=2.0, minimum=0, elem_id="k2-calc-gpu")
            calc_speed = gr.Number(label="Measured tokens/s on it", value=1000, minimum=1, elem_id="k2-calc-speed")
            calc_volume = gr.Number(label="M tokens a day (0: your recorded average)", value=0, minimum=0,
                                    elem_id="k2-calc-volume")
        calc_run = gr.Button("Compare", size="sm", elem_id="k2-calc-run")
        calc_result = gr.HTML("", elem_id="k2-calc-result")
        calc_plot = gr.HTML("", elem_id="k2-calc-plot")
    return RunsTab(provider, model, status, day, refresh, prev, nxt, page_info, page, table, run_id, timeline,
                   fork_step, fork, fork_result, totals_day, totals_provider, calc_model, calc_gpu, calc_speed,
                   calc_volume, calc_run, calc_result, calc_plot, totals_chart, replay)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def wire_runs(tab: RunsTab, backend: Backend, opened: gr.Tab | Opened) -> None:
    """Listing, paging, filters, timeline and fork."""

    def db() -> Any:
        agent = backend.opened
        if agent is None:
            raise gr.Error("The agent is still starting; try again in a moment.")
        return agent.db

    def listing(provider: str, model: str, status: str, day: str, page: int) -> tuple[Any, ...]:
        if backend.opened is None:
            return [], "The agent is still starting.", 0, gr.update(), gr.update(), gr.update(), [], [], ""
        rows, more = workbench.runs_page(db(), provider=provider or "", model=model or "", status=status or "",
                                         day=_day(day), offset=page * PAGE, limit=PAGE)
        if not rows and page > 0:  # paged past the end: stay on the last page that had runs
            return listing(provider, model, status, day, page - 1)
        shown = f"runs {page * PAGE + 1:,}–{page * PAGE + len(rows):,}" if rows else "no runs match"
        info = f"{shown} · page {page + 1}{' · older runs follow' if more else ''}"
        found = workbench.run_filters(db())
        by_day, by_provider = workbench.totals_by(db(), "day"), workbench.totals_by(db(), "provider")
        totals = [[t["key"], t["runs"], t["tokens"], t["cached"], round(t["cost_usd"], 4)] for t in by_day]
        per_provider = [[t["key"], t["runs"], t["tokens"], t["cached"], round(t["cost_usd"], 4)] for t in by_provider]
        return (run_table(rows), info, page, gr.update(choices=["", *found["provider"]]),
                gr.update(choices=["", *found["model"]]), gr.update(choices=["", *found["status"]]), totals,
                per_provider, totals_charts(by_day, by_provider))

    filters = [tab.provider, tab.model, tab.status, tab.day]
    outputs = [tab.table, tab.page_info, tab.page, tab.provider, tab.model, tab.status, tab.totals_day,
               tab.totals_provider, tab.totals_chart]

    async def first_page(*values: Any) -> tuple[Any, ...]:
        return await asyncio.to_thread(listing, *values, 0)

    async def step_page(provider: str, model: str, status: str, day: str, page: int, delta: int) -> tuple[Any, ...]:
        return await asyncio.to_thread(listing, provider, model, status, day, max(0, page + delta))

    tab.refresh.click(first_page, filters, outputs)
    for control in (tab.provider, tab.model, tab.status):
        control.input(first_page, filters, outputs)
    tab.day.submit(first_page, filters, outputs)
    tab.prev.click(lambda *v: step_page(*v, -1), [*filters, tab.page], outputs)
    tab.next.click(lambda *v: step_page(*v, 1), [*filters, tab.page], outputs)

    def pick(evt: gr.SelectData, table: Any) -> str:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        try:
            return str(table.iloc[row, -1]) if hasattr(table, "iloc") else str(table[row][-1])
        except (IndexError, KeyError, TypeError):
            return ""

    async def show_timeline(run_id: str) -> tuple[str, Any]:
        if not (run_id or "").strip():
            return "", gr.update()
        steps = await asyncio.to_thread(workbench.step_rows, db(), run_id.strip())
        return timeline_html(steps), gr.update(maximum=max(1, len(steps)))

    tab.table.select(pick, tab.table, tab.run_id).then(show_timeline, tab.run_id, [tab.timeline, tab.fork_step])
    tab.run_id.submit(show_timeline, tab.run_id, [tab.timeline, tab.fork_step])

    async def fork(run_id: str, step: float | None) -> str:
        if not (run_id or "").strip() or not step:
            return '<p class="k2-muted">Pick a run and a step first.</p>'
        try:
            conv, _ = await asyncio.to_thread(forks.fork_from_step, db(), run_id.strip(), int(step))
        except LookupError as exc:
            return f'<p class="k2-config-errors">{html.escape(str(exc))}</p>'
        # The deep link opens the fork in the chat (the page reloads on it).
        return (f'<p>✓ New conversation “{html.escape(conv.title)}” with steps 1–{int(step)}: '
                f'<a href="?c={html.escape(conv.id)}" id="k2-fork-link">open it</a>.</p>')

    tab.fork.click(fork, [tab.run_id, tab.fork_step], tab.fork_result)

    async def compare(choice: str, gpu: float, speed: float, volume: float) -> tuple[str, str]:
        price = selfhost.price_of(choice or "")
        if price is None or not speed:
            return "<p>Pick a model with a list price and enter the GPU's speed.</p>", ""
        per_day, output_share, cache_share, days = await asyncio.to_thread(workbench.usage_mix, db())
        if volume:
            per_day = volume * 1e6
        mix = selfhost.UsageMix(per_day, output_share if days else 0.1, cache_share)
        result = selfhost.break_even(price, mix, gpu or 0.0, speed)
        return selfhost.result_html(result, mix, days, choice), selfhost.cost_chart(result)

    tab.calc_run.click(compare, [tab.calc_model, tab.calc_gpu, tab.calc_speed, tab.calc_volume],
                       [tab.calc_result, tab.calc_plot])
    if tab.replay is not None:
        wire_replay(tab.replay, backend, tab.run_id)
    opened.select(first_page, filters, outputs)  # the list is read when the tab is opened, not on every page load

