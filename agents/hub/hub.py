"""The MCP client hub: every tool the planner can call, from built-in and external servers alike.

Tools are exposed as OpenAI function specs named `server__tool`. `Hub.call` never raises for a tool-level
problem: bad arguments, unknown tools, timeouts and crashed servers come back as an error result whose text
tells the model what to do next.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import Draft202012Validator, validator_for

from agents.errors import ToolFailed
from agents.hub.config import ServerConfig
from agents.hub.connection import ServerConnection, Services, State
from agents.hub.elicitation import Questions
from agents.hub.gate import Gate
from agents.hub.hooks import CallHooks
from agents.hub.pins import PinStore

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SEPARATOR = "__"
SCHEMA_IN_ERROR_CHARS = 1500


@dataclass
class ToolResult:
    """What a tool call produced, or why it could not run (is_error with a message for the model)."""

    text: str
    is_error: bool
    content: list[Any]
    structured: dict[str, Any] | None
    duration_s: float
    meta: dict[str, Any] | None = None  # the result's _meta (a built-in may flag third-party text there)


@dataclass
class ServerStatus:
    """One server's health for the UI; config errors appear as entries with transport 'config'."""

    name: str
    transport: str
    state: State
    tools: int
    error: str | None
    restarts: int = 0
    stderr_tail: list[str] = field(default_factory=list)
    needs_login: bool = False
    log_tail: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # tool -> why it waits for review (new, changed, refused)
    notes: list[str] = field(default_factory=list)  # warnings that did not stop it (malformed OAuth metadata)


@dataclass
class _Route:
    """Where a namespaced tool name leads, with its spec and (lazily compiled) argument validator."""

    server: ServerConnection
    tool: str
    name: str
    schema: dict[str, Any]
    spec: dict[str, Any]
    validator: Validator | None = None
    checked: bool = False  # validator compiled (or found uncompilable) already


class Hub:
    """Connects to every configured MCP server and routes namespaced tool calls to them."""

    def __init__(
        self,
        configs: Sequence[ServerConfig],
        *,
        default_timeout_s: float,  # K2HUB_TOOL_TIMEOUT_S: the app's Settings hold its default
        config_errors: Sequence[str] = (),
        startup_timeout_s: float = 60.0,
        ping_timeout_s: float = 3.0,
        close_timeout_s: float = 5.0,
        services: Services | None = None,
        pins: PinStore | None = None,
    ) -> None:
        self.default_timeout_s = default_timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.ping_timeout_s = ping_timeout_s
        self.services = services or Services()
        self.gate = Gate(pins)  # external servers start only with the user's consent, tools only as pinned
        self.close_timeout_s = close_timeout_s
        self.config_errors: list[str] = list(config_errors)
        self._servers: dict[str, ServerConnection] = {}
        for config in configs:
            if config.name in self._servers:
                self.config_errors.append(f"server '{config.name}' is defined twice; the second one is ignored")
                continue
            self._servers[config.name] = self._connection(config)
        self._routes: dict[str, _Route] = {}
        self._specs: list[dict[str, Any]] = []
        self._started = False

    async def start(self) -> None:
        """Connect to all enabled servers concurrently; a failing one ends in state 'error', others are unaffected."""
        if self._started:
            return
        self._started = True
        await asyncio.gather(*(self._launch(s) for s in self._servers.values()))

    def _connection(self, config: ServerConfig) -> ServerConnection:
        conn = ServerConnection(config, startup_timeout_s=self.startup_timeout_s, ping_timeout_s=self.ping_timeout_s,
                                services=self.services)
        conn.on_tools = self._tools_changed
        return conn

    async def _launch(self, conn: ServerConnection) -> None:
        """Start a server unless it is disabled or waits for the user's consent."""
        reason = self.gate.blocks(conn.config)
        if reason is not None:
            conn.park("disabled" if not conn.config.enabled else "pending", reason)
            return
        await conn.start()

    async def refresh(self, configs: Sequence[ServerConfig], config_errors: Sequence[str] = ()) -> None:
        """Follow mcp.json and the consent state: start, stop or restart what changed; keep the rest running."""
        wanted = {c.name: c for c in configs}
        self.config_errors = list(config_errors)
        for name in [n for n, s in self._servers.items() if not s.config.builtin and n not in wanted]:
            await self._servers.pop(name).aclose(self.close_timeout_s)
        for name, config in wanted.items():
            current = self._servers.get(name)
            if current is not None and current.config.builtin:
                continue
            blocked = self.gate.blocks(config)
            parked = current is not None and current.state in ("pending", "disabled")
            if current is not None and current.config == config:
                if blocked is None and not parked:
                    continue  # running as it should
                if blocked is not None and parked:
                    current.park("disabled" if not config.enabled else "pending", blocked)
                    continue
            if current is not None:
                await current.aclose(self.close_timeout_s)
            conn = self._connection(config)
            self._servers[name] = conn
            if self._started:
                await self._launch(conn)
        self._tools_changed(None)
    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def questions(self) -> Questions:
        """Questions servers asked the user (elicitation) that wait for an answer."""
        return self.services.questions

    def tools(self) -> list[dict[str, Any]]:
        """OpenAI tool specs for every known tool (servers being restarted keep their last tool list)."""
        return list(self._specs)

    def tool_info(self, name: str) -> tuple[ServerConfig, types.Tool | None] | None:
        """The server config and MCP tool (with its annotations) behind `server__tool`; None for unknown names."""
        route = self._routes.get(name)
        if route is None:
            return None
        return route.server.config, next((t for t in route.server.tools if t.name == route.tool), None)

    def status(self) -> list[ServerStatus]:
        """Health of every server, then one entry per configuration error."""
        rows = [
            ServerStatus(s.name, s.transport, s.state, len(s.tools), s.error, s.restarts, list(s.stderr)[-20:],
                         s.needs_login, list(s.log)[-20:], {t: h.reason for t, h in s.held.items()}, list(s.notes))
            for s in self._servers.values()
        ]
        for s in self._servers.values():
            if s.state in ("ready", "error"):
                self.gate.note(s.config, s.error if s.state == "error" else None, list(s.stderr))
        rows += [ServerStatus("mcp.json", "config", "error", 0, e) for e in self.config_errors]
        return rows

    async def restart(self, server: str) -> None:
        """Restart one server (for the UI's retry button) and wait until it is ready or failed."""
        conn = self._servers.get(server)
        if conn is None or not self._started or self.gate.blocks(conn.config) is not None:
            raise ToolFailed(f"Server {server} is not running" + (f": {conn.error}" if conn and conn.error else ""))
        conn.restart()
        await conn.start()

    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | str | None,
        *,
        meta: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        hooks: CallHooks | None = None,
    ) -> ToolResult:
        """Call `server__tool`; every failure comes back as ToolResult(is_error=True) with an actionable text."""
        started = time.perf_counter()
        try:
            route = self._routes.get(name)
            if route is None:
                raise ToolFailed(self._unknown_tool(name))
            args = _check_arguments(route, arguments)
            server = route.server
            timeout = timeout_s or server.config.timeout_s or self.default_timeout_s
            result = await server.call(route.tool, args, label=name, meta=meta, timeout_s=timeout, hooks=hooks)
        except ToolFailed as exc:
            return ToolResult(str(exc), True, [], None, time.perf_counter() - started)
        return ToolResult(
            _content_text(result),
            bool(result.is_error),
            [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content],
            result.structured_content,
            time.perf_counter() - started,
            dict(result.meta) if result.meta else None,
        )

    async def aclose(self) -> None:
        """Stop every server in bounded time; stdio servers' process groups are killed if they linger."""
        await asyncio.gather(*(s.aclose(self.close_timeout_s) for s in self._servers.values()))

    def _unknown_tool(self, name: str) -> str:
        """Say the tool does not exist and name the closest real ones."""
        names = list(self._routes)
        server = self._servers.get(name.split(SEPARATOR)[0]) if SEPARATOR in name else None
        bare = name.split(SEPARATOR, 1)[-1]
        if server is not None and bare in server.held:
            return (f"Tool {name!r} is held for review ({server.held[bare].reason}): its definition is not the one the "
                    f"user approved. The user can review it in the MCP tab or with `python run.py mcp tools {server.name}`.")
        if server is not None and not server.tools and server.state != "ready":
            detail = f": {server.error}" if server.error else ""
            return f"Tool {name!r} is not available: server {server.name} is {server.state}{detail}"
        bare = name.split(SEPARATOR)[-1]
        close = [r.name for r in self._routes.values() if r.tool == bare]
        close += [n for n in difflib.get_close_matches(name, names, n=5, cutoff=0.5) if n not in close]
        if close:
            return f"Unknown tool {name!r}. Did you mean: {', '.join(close[:5])}?"
        if not names:
            return f"Unknown tool {name!r}: no tools are available right now."
        return f"Unknown tool {name!r}. Available tools: {', '.join(names[:30])}"

    def _tools_changed(self, _server: ServerConnection | None) -> None:
        """Rebuild names, routes and specs after a server (re)connects with a different tool list."""
        old = self._routes
        routes: dict[str, _Route] = {}
        for server in self._servers.values():
            offered, server.held = self.gate.offered(server.config, server.tools) if server.tools else ([], {})
            for tool in offered:
                name = tool_name(server.name, tool.name, routes)
                schema = tool.input_schema or {"type": "object", "properties": {}}
                route = _Route(server, tool.name, name, schema, _openai_spec(name, server.name, tool, schema))
                previous = old.get(name)
                if previous is not None and previous.schema == schema and previous.tool == tool.name:
                    route.validator, route.checked = previous.validator, previous.checked
                routes[name] = route
        self._routes = routes
        self._specs = [r.spec for r in routes.values()]


def tool_name(server: str, tool: str, taken: dict[str, Any] | set[str] = frozenset()) -> str:
    """`server__tool` made valid for OpenAI (^[a-zA-Z0-9_-]{1,64}$); long or clashing names get a stable hash."""
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", f"{server}{SEPARATOR}{tool}")
    if len(name) > 64 or name in taken:
        digest = hashlib.sha1(f"{server}\0{tool}".encode()).hexdigest()[:8]
        name = f"{name[:55]}_{digest}"
    return name


def _openai_spec(name: str, server: str, tool: types.Tool, schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI function spec; the parameters are the tool's own input schema (always an object)."""
    parameters = dict(schema)
    if parameters.get("type") == "object":
        parameters.setdefault("properties", {})
    description = tool.description or tool.title or f"Tool {tool.name} from the {server} server."
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def _check_arguments(route: _Route, raw: dict[str, Any] | str | None) -> dict[str, Any]:
    """Decode (models sometimes send JSON text, even twice encoded) and validate arguments, or raise ToolFailed."""
    args: Any = raw
    if raw is None:
        args = {}
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            args = json.loads(text) if text else {}
            if isinstance(args, str) and args.strip().startswith("{"):
                args = json.loads(args)
        except json.JSONDecodeError as exc:
            raise ToolFailed(
                f"Invalid arguments for {route.name}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                f"{exc.colno}). Send one JSON object. Expected schema: {_schema_text(route.schema)}"
            ) from None
    if not isinstance(args, dict):
        raise ToolFailed(
            f"Invalid arguments for {route.name}: expected a JSON object, got {type(args).__name__}. "
            f"Expected schema: {_schema_text(route.schema)}"
        )
    validator = _validator(route)
    if validator is not None and not validator.is_valid(args):
        errors = sorted(validator.iter_errors(args), key=lambda e: (len(e.path), list(map(str, e.path))))
        reasons = "; ".join(f"{_path(e.absolute_path)}: {e.message}" for e in errors[:3])
        raise ToolFailed(
            f"Invalid arguments for {route.name}: {reasons}. Expected schema: {_schema_text(route.schema)}"
        )
    return args


def _validator(route: _Route) -> Validator | None:
    """The route's compiled validator, built on first use; None when the server's schema is itself invalid."""
    if not route.checked:
        route.checked = True
        cls = validator_for(route.schema, default=Draft202012Validator)
        try:
            cls.check_schema(route.schema)
            route.validator = cls(route.schema)
        except SchemaError as exc:
            log.warning("tool %s has an invalid input schema, arguments go unchecked: %s", route.name, exc.message)
    return route.validator


def _path(path: Any) -> str:
    """JSON-path-like location of an argument error: `$`, `$.a`, `$.items[0]`."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_text(schema: dict[str, Any]) -> str:
    text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= SCHEMA_IN_ERROR_CHARS else text[:SCHEMA_IN_ERROR_CHARS] + "…"


def _content_text(result: types.CallToolResult) -> str:
    """The result as text for the model: text blocks verbatim, other blocks as short placeholders."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type} {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(text if text is not None else f"[resource {res.uri} ({res.mime_type or 'binary'})]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)
