"""The MCP tab: add an external server, read its vetting report, enable it, log in, review changed tools.

The same operations as `python run.py mcp …` (agents/hub/admin.py); a running agent follows each change at once.
Logging in opens the authorization page from a link (a new browser tab); the hub's loopback listener catches the
redirect, and the card turns to "logged in".
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import gradio as gr

from app.ui.backend import Backend, readable_error
from app.ui.mcp_view import report_html, review_html, servers_html
from app.ui.render import notice_html

if TYPE_CHECKING:
    from app.ui.lazy_tab import Opened

log = logging.getLogger(__name__)
LOGIN_LINK_WAIT_S = 20.0


@dataclass
class McpTab:
    servers: gr.HTML
    refresh: gr.Button
    name: gr.Textbox
    command: gr.Textbox
    url: gr.Textbox
    network: gr.Checkbox
    add: gr.Button
    selected: gr.Dropdown
    vet: gr.Button
    enable: gr.Button
    disable: gr.Button
    remove: gr.Button
    login: gr.Button
    restart: gr.Button
    trusted: gr.Checkbox
    message: gr.HTML
    details: gr.HTML
    timer: gr.Timer


def build_mcp() -> McpTab:
    gr.Markdown("External MCP servers start only after you vet and enable them; a tool whose definition changes is "
                "held until you review it. Built-in servers are listed in the sidebar's Tools panel.",
                elem_classes=["k2-mcp-intro"])
    servers = gr.HTML(elem_id="k2-mcp-servers")
    refresh = gr.Button("↻ Refresh", size="sm", elem_id="k2-mcp-refresh")
    with gr.Accordion("Add a server", open=False, elem_id="k2-mcp-add-box"):
        with gr.Row():
            name = gr.Textbox(label="Name", placeholder="everything", elem_id="k2-mcp-name", scale=1)
            command = gr.Textbox(label="Command (a local server)", placeholder="npx -y @modelcontextprotocol/server-everything",
                                 elem_id="k2-mcp-command", scale=3)
            url = gr.Textbox(label="or URL (a remote server)", placeholder="https://example.com/mcp",
                             elem_id="k2-mcp-url", scale=2)
        with gr.Row():
            network = gr.Checkbox(label="Allow network during vetting", value=False, elem_id="k2-mcp-network")
            add = gr.Button("Add and vet", variant="primary", elem_id="k2-mcp-add")
    with gr.Row(equal_height=True):
        selected = gr.Dropdown(label="Server", choices=[], elem_id="k2-mcp-selected", scale=2)
        trusted = gr.Checkbox(label="Trusted (results and annotations believed)", elem_id="k2-mcp-trusted", scale=1)
    with gr.Row():
        vet = gr.Button("Vet again", size="sm", elem_id="k2-mcp-vet")
        enable = gr.Button("Enable / accept changes", size="sm", variant="primary", elem_id="k2-mcp-enable")
        login = gr.Button("Log in", size="sm", elem_id="k2-mcp-login")
        restart = gr.Button("Restart", size="sm", elem_id="k2-mcp-restart")
        disable = gr.Button("Disable", size="sm", elem_id="k2-mcp-disable")
        remove = gr.Button("Remove", size="sm", variant="stop", elem_id="k2-mcp-remove")
    message = gr.HTML(elem_id="k2-mcp-message")
    details = gr.HTML(elem_id="k2-mcp-details")
    timer = gr.Timer(1.0, active=False)
    return McpTab(servers, refresh, name, command, url, network, add, selected, vet, enable, disable, remove, login,
                  restart, trusted, message, details, timer)


@dataclass
class _Logins:
    """Logins in progress (one per server): the authorization URL once known, then the outcome."""

    url: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)


def wire_mcp(tab: McpTab, backend: Backend) -> None:
    home = backend.settings.home
    logins = _Logins()

    async def show(name: str | None = None, note: str = "") -> dict[Any, Any]:
        return await asyncio.to_thread(tab_state, tab, backend, name, note)

    async def follow(restart: str | None = None) -> None:
        """Make a running agent follow the change (start, stop, re-pin; reconnect after a login)."""
        agent = backend.opened
        if agent is None:
            return
        await agent.sync_servers()
        if restart is not None and any(s.name == restart for s in agent.hub.status()):
            try:
                await agent.hub.restart(restart)
            except Exception as exc:  # e.g. disabled meanwhile: the card says why
                log.info("restart of %s after login: %s", restart, exc)

    def failed(exc: BaseException, what: str) -> str:
        if not isinstance(exc, Exception) or type(exc).__name__ not in ("ConfigError", "ToolFailed"):
            log.exception("%s failed", what)
        return notice_html("error", readable_error(exc), f"{what} failed.")

    async def add(name: str, command: str, url: str, network: bool) -> dict[Any, Any]:
        from agents.hub import admin

        name, command, url = name.strip(), command.strip(), url.strip()
        try:
            argv = shlex.split(command) if command else []
            admin.add(home, name, command=argv[0] if argv else None, args=argv[1:], url=url or None, network=network)
            report = await admin.vet_server(home, name)
        except Exception as exc:
            return {**await show(None), tab.message: failed(exc, "Adding the server")}
        note = "Vetted in quarantine: read the report, then Enable." if report.ok else (
            "It needs a login: Enable, then Log in." if report.needs_login else "Vetting could not start it: see below.")
        return {**await show(name, notice_html("info", note)), tab.name: "", tab.command: "", tab.url: ""}

    async def act(kind: str, name: str | None) -> dict[Any, Any]:
        from agents.errors import ToolFailed
        from agents.hub import admin

        if not name:
            return await show(None, notice_html("info", "Pick a server first."))
        try:
            if kind == "vet":
                await admin.vet_server(home, name)
                note = "Vetted again."
            elif kind == "enable":
                record = await admin.enable(home, name)
                note = f"Enabled: {len(record.pins)} tool(s) pinned" + (
                    "; its tools are pinned when first listed (after a login)." if record.pin_on_first_listing else ".")
            elif kind == "restart":
                agent = backend.opened
                if agent is None:
                    raise ToolFailed("the agent is not running yet: send a message first, or wait for it to start")
                await agent.hub.restart(name)
                note = "Restarted: its tools were listed again."
            elif kind == "disable":
                admin.disable(home, name)
                note = "Disabled."
            else:
                admin.remove(home, name)
                note, name = f"Removed {name}, its pins and its tokens.", None
            await follow()
        except Exception as exc:
            return await show(name, failed(exc, kind.capitalize()))
        return await show(name, notice_html("info", note))

    def action(kind: str) -> Any:
        async def handler(name: str | None) -> dict[Any, Any]:
            return await act(kind, name)
        return handler

    async def trust(name: str | None, on: bool) -> dict[Any, Any]:
        from agents.hub import admin

        if not name:
            return await show(None)
        try:
            admin.trust(home, name, on)
            await follow()
        except Exception as exc:
            return await show(name, failed(exc, "Changing trust"))
        return await show(name, notice_html("info", f"{name} is {'trusted' if on else 'not trusted'}."))

    async def login(name: str | None) -> dict[Any, Any]:
        from agents.hub import admin

        if not name:
            return await show(None, notice_html("info", "Pick a server first."))
        try:
            config = admin.find(home, name)
        except Exception as exc:
            return await show(name, failed(exc, "Logging in"))
        got_url = asyncio.Event()

        async def open_url(url: str) -> None:
            logins.url[name] = url
            got_url.set()

        previous = logins.tasks.pop(name, None)
        if previous is not None:
            previous.cancel()
        logins.url.pop(name, None)
        logins.tasks[name] = asyncio.create_task(admin.login(config, home, open_url))
        waiter = asyncio.create_task(got_url.wait())
        await asyncio.wait({waiter, logins.tasks[name]}, timeout=LOGIN_LINK_WAIT_S, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if name in logins.url:
            link = (f'<div class="k2-notice k2-notice-info"><b>Log in to {escape(name)}:</b> '
                    f'<a id="k2-mcp-login-link" href="{escape(logins.url[name])}" target="_blank" '
                    f'rel="noopener noreferrer">open the login page ↗</a> — this card updates when you are done.</div>')
            return {**await show(name, link), tab.timer: gr.Timer(active=True)}
        return {**await poll(name), tab.timer: gr.Timer(active=False)}

    async def poll(name: str | None) -> dict[Any, Any]:
        task = logins.tasks.get(name or "")
        if task is None or not task.done():
            return {tab.timer: gr.Timer(active=task is not None)}
        logins.tasks.pop(name or "", None)
        logins.url.pop(name or "", None)
        try:
            result = task.result()
        except Exception as exc:
            return {**await show(name, failed(exc, "Logging in")), tab.timer: gr.Timer(active=False)}
        await follow(restart=name)
        notes = "".join(f"<br>note: {escape(n)}" for n in result.notes)
        note = notice_html("info", f"Logged in to {name}: {len(result.tools)} tool(s) listed.") + notes
        return {**await show(name, note), tab.timer: gr.Timer(active=False)}

    everything = [tab.servers, tab.selected, tab.trusted, tab.details, tab.message]
    tab.refresh.click(lambda n: show(n), tab.selected, everything, show_progress="hidden")
    tab.selected.input(lambda n: show(n), tab.selected, everything, show_progress="hidden")
    tab.add.click(add, [tab.name, tab.command, tab.url, tab.network],
                  [*everything, tab.name, tab.command, tab.url])
    for button, kind in ((tab.vet, "vet"), (tab.enable, "enable"), (tab.disable, "disable"), (tab.remove, "remove"),
                         (tab.restart, "restart")):
        button.click(action(kind), tab.selected, everything)
    tab.trusted.input(trust, [tab.selected, tab.trusted], everything, show_progress="hidden")
    tab.login.click(login, tab.selected, [*everything, tab.timer])
    tab.timer.tick(poll, tab.selected, [*everything, tab.timer], show_progress="hidden")


def wire_mcp_load(page: gr.Tab | Opened, tab: McpTab, backend: Backend) -> None:
    """Fill the tab each time it is opened (not on every page load: the first paint of the chat does not wait on it,
    and an opened tab shows the servers as they are now)."""

    async def load() -> dict[Any, Any]:
        return await asyncio.to_thread(tab_state, tab, backend, None, "")

    page.select(load, None, [tab.servers, tab.selected, tab.trusted, tab.details, tab.message], show_progress="hidden")


def tab_state(tab: McpTab, backend: Backend, name: str | None, note: str) -> dict[Any, Any]:
    """Everything the tab shows, read from mcp.json, the consent files and (if running) the hub."""
    from agents.hub import admin

    home = backend.settings.home
    agent = backend.opened
    live = {s.name: s for s in agent.hub.status()} if agent is not None else {}  # first: it records failures
    rows = admin.rows(home)
    _, errors = admin.external(home)
    names = [r.name for r in rows]
    name = name if name in names else (names[0] if names else None)
    row = next((r for r in rows if r.name == name), None)
    detail = ""
    if row is not None:
        detail = (review_html(admin.review(home, row.name), row.trusted) if row.status == "enabled"
                  else report_html(row.report, row.trusted))
    return {tab.servers: servers_html(rows, live, errors), tab.selected: gr.update(choices=names, value=name),
            tab.trusted: gr.update(value=bool(row and row.trusted), interactive=row is not None),
            tab.details: detail, tab.message: note}
