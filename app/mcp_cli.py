"""`k2hub mcp add|list|tools|call|login|enable|disable|remove|vet|trust`: external MCP servers from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

USAGE = "external MCP servers: add, list, tools, call, login, enable, disable, remove (and vet, trust)"


def add_parser(sub: Any) -> None:
    """Add the `mcp` verb and its actions to the CLI's subparsers."""
    p = sub.add_parser("mcp", help=USAGE, description=USAGE)
    actions = p.add_subparsers(dest="mcp_action", required=True)
    add = actions.add_parser("add", help="add a server (vetted in quarantine; it starts once you enable it)",
                             usage="k2hub mcp add NAME [--url URL] [options] [-- COMMAND ARGS…]")
    add.add_argument("name")
    add.add_argument("--url", help="a remote server (streamable HTTP), instead of a command")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment for a command")
    add.add_argument("--allow-network", action="store_true", help="let the quarantined first start use the network")
    add.add_argument("--trusted", action="store_true", help="mark it trusted (its results and annotations believed)")
    add.add_argument("--no-vet", action="store_true", help="only write the entry; vet later with `mcp vet NAME`")
    add.add_argument("command", nargs="*", help="-- COMMAND ARGS… for a local (stdio) server (after --, verbatim)")
    list_ = actions.add_parser("list", help="every external server: status, pins, login, last error")
    list_.add_argument("--json", action="store_true")
    tools = actions.add_parser("tools", help="a server's tools: pinned, new or changed (with the diff)")
    tools.add_argument("name")
    tools.add_argument("--json", action="store_true")
    call = actions.add_parser("call", help="call one tool of an enabled server")
    call.add_argument("name")
    call.add_argument("tool")
    call.add_argument("--args", default="{}", metavar="JSON", help="the arguments, a JSON object")
    call.add_argument("--json", action="store_true", help="print the result as JSON")
    login = actions.add_parser("login", help="log in to a remote server (OAuth, in your browser)")
    login.add_argument("name")
    login.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    enable = actions.add_parser("enable", help="consent: start it with its vetted tools, or accept held tools")
    enable.add_argument("name")
    enable.add_argument("--tool", action="append", help="accept only this held tool (repeatable)")
    for verb, text in (("disable", "stop using it (kept in mcp.json)"), ("remove", "delete it, its pins and tokens"),
                       ("vet", "vet it again in quarantine and print the report")):
        actions.add_parser(verb, help=text).add_argument("name")
    trust = actions.add_parser("trust", help="mark it trusted (or --off): results and annotations believed")
    trust.add_argument("name")
    trust.add_argument("--off", action="store_true")


def mcp_verb(args: argparse.Namespace, settings: Any) -> int:
    """Run one `mcp` action; a refusal prints one line on stderr and exits 1."""
    from agents.errors import AppError

    args.workspaces = settings.workspaces  # `mcp call` offers a workspace as root, as the app does
    args.tool_timeout_s = settings.tool_timeout_s
    try:
        return asyncio.run(_ACTIONS[args.mcp_action](args, settings.home))
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _add(args: argparse.Namespace, home: Path) -> int:
    from agents.errors import ConfigError
    from agents.hub import admin

    command = list(args.command or [])
    if bool(command) == bool(args.url):
        raise ConfigError("give either -- COMMAND ARGS… (a local server) or --url URL (a remote one)")
    env = dict(item.split("=", 1) for item in args.env if "=" in item)
    admin.add(home, args.name, command=command[0] if command else None, args=command[1:], url=args.url, env=env,
              network=args.allow_network, trusted=args.trusted)
    print(f"Added {args.name} to {admin.mcp_json(home)}. It does not start until you enable it.")
    if args.no_vet:
        return 0
    return await _vet(args, home)


async def _vet(args: argparse.Namespace, home: Path) -> int:
    from agents.hub import admin
    from app.mcp_text import report_text

    print(f"Vetting {args.name} in quarantine…", flush=True)
    report = await admin.vet_server(home, args.name)
    print(report_text(report.to_json(), admin.find(home, args.name).trusted))
    print(f"\nEnable it with `python run.py mcp enable {args.name}`" + (
        f" (then log in: `python run.py mcp login {args.name}`)." if report.needs_login else "."))
    return 0


async def _list(args: argparse.Namespace, home: Path) -> int:
    from dataclasses import asdict

    from agents.hub import admin
    from app.mcp_text import rows_text

    rows = admin.rows(home)
    _, errors = admin.external(home)
    if args.json:
        print(json.dumps([{k: v for k, v in asdict(r).items() if k != "report"} for r in rows], indent=1))
    else:
        print(rows_text(rows))
    for error in errors:
        print(f"mcp.json: {error}", file=sys.stderr)
    return 0


async def _tools(args: argparse.Namespace, home: Path) -> int:
    from dataclasses import asdict

    from agents.hub import admin
    from agents.hub.pins import PinStore
    from app.mcp_text import views_text

    config = admin.find(home, args.name)
    views = admin.review(home, args.name)
    if not views and admin.current_report(PinStore(home).get(args.name), config) is None:
        await admin.vet_server(home, args.name)
        views = admin.review(home, args.name)
    print(json.dumps([asdict(v) for v in views], indent=1) if args.json else views_text(args.name, views, config.trusted))
    return 0


async def _call(args: argparse.Namespace, home: Path) -> int:
    from agents.errors import ConfigError
    from agents.hub import admin
    from agents.hub.connection import Services
    from agents.hub.hooks import CallHooks
    from agents.hub.hub import Hub
    from agents.hub.pins import PinStore

    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args is not valid JSON: {exc.msg} at column {exc.colno}") from None
    config = admin.find(home, args.name)
    hub = Hub([config], default_timeout_s=args.tool_timeout_s, pins=PinStore(home),
              services=Services(home=home, workspace_root=args.workspaces))
    async with hub:
        status = hub.status()[0]
        if status.state != "ready":
            raise ConfigError(f"{args.name} is {status.state}: {status.error}")
        hooks = CallHooks(on_progress=_progress, on_log=_log, on_elicit=_ask, conversation="cli")
        result = await hub.call(f"{args.name}__{args.tool}", arguments, hooks=hooks)
    if args.json:
        print(json.dumps({"is_error": result.is_error, "text": result.text, "structured": result.structured}))
    else:
        print(result.text)
    return 1 if result.is_error else 0


def _progress(done: float, total: float | None, message: str | None) -> None:
    share = f"{done / total:.0%}" if total else f"{done:g}"
    print(f"[progress {share}] {message or ''}", file=sys.stderr, flush=True)


def _log(level: str, logger: str | None, data: Any) -> None:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    print(f"[{level}] {logger + ': ' if logger else ''}{text}"[:500], file=sys.stderr, flush=True)


async def _ask(question: Any) -> Any:
    from app.elicitation_cli import ask_on_terminal

    return await ask_on_terminal(question)


async def _login(args: argparse.Namespace, home: Path) -> int:
    from agents.hub import admin
    from app.server import display_available

    config = admin.find(home, args.name)

    async def show(url: str) -> None:
        print(f"Open this address to log in to {args.name}:\n\n  {url}\n\nWaiting for the browser…", flush=True)
        if not args.no_browser and display_available():
            import webbrowser

            webbrowser.open(url)

    result = await admin.login(config, home, show)
    print(f"Logged in to {args.name}: {len(result.tools)} tools. Tokens are in {home / 'oauth'} (mode 600).")
    for note in result.notes:
        print(f"note: {note}")
    from agents.hub.pins import PinStore

    if PinStore(home).get(args.name).config_digest != config.digest():
        print(f"Enable it with `python run.py mcp enable {args.name}`.")
    return 0


async def _enable(args: argparse.Namespace, home: Path) -> int:
    from agents.hub import admin
    from app.mcp_text import report_text

    record = await admin.enable(home, args.name, args.tool)
    report = admin.current_report(record, admin.find(home, args.name))
    if report is not None and args.tool is None:
        print(report_text(report, admin.find(home, args.name).trusted))
    how = "when first listed" if record.pin_on_first_listing else f"{len(record.pins)} tools pinned"
    print(f"Enabled {args.name} ({how}). A running app picks it up at its next run.")
    for tool, held in record.held.items():
        print(f"  still held: {tool} ({held.reason})")
    return 0


async def _simple(args: argparse.Namespace, home: Path) -> int:
    from agents.hub import admin

    if args.mcp_action == "disable":
        admin.disable(home, args.name)
        print(f"Disabled {args.name}; enable it again with `python run.py mcp enable {args.name}`.")
    elif args.mcp_action == "remove":
        admin.remove(home, args.name)
        print(f"Removed {args.name}, its pins and its tokens.")
    else:
        admin.trust(home, args.name, not args.off)
        print(f"{args.name} is {'no longer ' if args.off else ''}trusted.")
    return 0


_ACTIONS = {"add": _add, "vet": _vet, "list": _list, "tools": _tools, "call": _call, "login": _login,
            "enable": _enable, "disable": _simple, "remove": _simple, "trust": _simple}
