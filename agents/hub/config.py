"""MCP server configuration: the Claude-Desktop-style mcp.json file and the built-in servers."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Server names become tool-name prefixes (`server__tool`), so they obey OpenAI's function-name alphabet.
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")

# Built-in servers: (name, module). Each later issue adds its server here with one line.
BUILTIN_SERVERS: list[tuple[str, str]] = [
    ("workspace", "mcp_servers.workspace"),
    ("sandbox", "mcp_servers.sandbox"),
    ("skills_hub", "mcp_servers.skills_hub"),
    ("analysis", "mcp_servers.analysis"),
    ("pdf_reader", "mcp_servers.pdf_reader"),
    ("cobol", "mcp_servers.cobol"),
    ("browser", "mcp_servers.browser"),
]

# What a built-in server may inherit from the app's environment (mcp's stdio client passes almost nothing).
BUILTIN_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT",
                    # Servers that read or write the app's database (analysis, pdf_reader) must use the same one.
                    "DATABASE_URL")
BUILTIN_ENV_PREFIXES = ("K2HUB_",)
# Keys stay with the app: a built-in server (later: the code sandbox) must never see them.
BUILTIN_ENV_DENY = ("K2HUB_API_KEY",)


class OAuthConfig(BaseModel):
    """How the hub authenticates to a remote server; without it, a server that answers 401 gets the interactive
    authorization-code flow (discovery, dynamic registration, PKCE) when the user logs in."""

    model_config = ConfigDict(extra="forbid")

    grant: Literal["authorization_code", "client_credentials", "identity_assertion"] = Field(
        default="authorization_code", description="client_credentials: machine-to-machine, no user to ask; "
        "identity_assertion: enterprise-managed (SEP-990), an ID token from your identity provider.")
    client_id: str | None = Field(default=None, description="A pre-registered client id (else dynamic registration).")
    client_secret: str | None = Field(default=None, repr=False, description="Its secret, if it has one.")
    client_secret_env: str | None = Field(default=None, description="Environment variable holding the secret.")
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] | None = (
        Field(default=None, description="How the client authenticates at the token endpoint."))
    private_key_file: str | None = Field(default=None, description="PEM private key for private_key_jwt.")
    signing_algorithm: str = Field(default="RS256", description="JWT algorithm for private_key_jwt (RS256, ES256...).")
    scope: str | None = Field(default=None, description="Scopes to ask for; default: what the server says it needs.")
    client_metadata_url: str | None = Field(
        default=None, description="HTTPS URL of a client ID metadata document, used where the server supports it.")
    issuer: str | None = Field(default=None, description="Authorization server the client credentials belong to.")
    idp_token_endpoint: str | None = Field(default=None, description="identity_assertion: the IdP's token endpoint.")
    idp_client_id: str | None = Field(default=None, description="identity_assertion: this client's id at the IdP.")
    id_token_file: str | None = Field(default=None, description="identity_assertion: file holding your IdP ID token.")

    def secret(self) -> str | None:
        """The client secret, inline or from the named environment variable."""
        if self.client_secret_env:
            return os.environ.get(self.client_secret_env) or None
        return self.client_secret


class ServerConfig(BaseModel):
    """One MCP server: a command to run over stdio, or a URL to reach over streamable HTTP."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique name; prefixes the server's tools as `name__tool`.")
    command: str | None = Field(default=None, description="Executable for a stdio server.")
    args: list[str] = Field(default_factory=list, description="Arguments for the stdio command.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for the stdio server.")
    cwd: str | None = Field(default=None, description="Working directory for the stdio server.")
    url: str | None = Field(default=None, description="Endpoint of a streamable HTTP server (…/mcp).")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers, e.g. Authorization.")
    builtin: bool = Field(default=False, description="Shipped with the app rather than configured by the user.")
    timeout_s: float | None = Field(default=None, gt=0, description="Per-call timeout; None uses the hub default.")
    enabled: bool = Field(default=True, description="Disabled servers are listed but never started.")
    trusted: bool = Field(
        default=False, description="External servers only: its results are not untrusted content (agents/policy/approval.py)."
    )
    oauth: OAuthConfig | None = Field(default=None, description="OAuth settings of a remote server (see OAuthConfig).")
    vet_network: bool = Field(default=False, description="Let the quarantined first start reach the network.")

    @model_validator(mode="after")
    def _check(self) -> ServerConfig:
        if not SERVER_NAME_RE.match(self.name):
            raise ValueError("name must be 1-48 characters from A-Z a-z 0-9 _ - (it prefixes tool names)")
        if self.command is None and self.url is None:
            raise ValueError("needs either 'command' (stdio server) or 'url' (HTTP server)")
        if self.command is not None and self.url is not None:
            raise ValueError("has both 'command' and 'url'; choose one")
        if self.command is not None and not self.command.strip():
            raise ValueError("'command' is empty")
        if self.url is not None and not re.match(r"^https?://", self.url):
            raise ValueError("'url' must start with http:// or https://")
        return self

    @property
    def transport(self) -> str:
        """'stdio' or 'http'."""
        return "stdio" if self.command is not None else "http"

    def digest(self) -> str:
        """sha256 of what the entry runs or reaches (not its on/off and trust flags): consent is given to this."""
        what = self.model_dump(include={"command", "args", "env", "cwd", "url", "headers", "oauth", "vet_network"},
                               mode="json")
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def load_mcp_json(path: str | Path) -> tuple[list[ServerConfig], list[str]]:
    """Parse an mcp.json file into server configs plus readable errors; never raises for bad content."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read: {exc}"]
    if not text.strip():
        return [], []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    return parse_mcp_servers(data, source=str(path))


def parse_mcp_servers(data: Any, *, source: str = "mcp.json") -> tuple[list[ServerConfig], list[str]]:
    """Turn the decoded `{"mcpServers": {...}}` object into configs; invalid entries become errors."""
    if not isinstance(data, dict):
        return [], [f"{source}: top level must be an object with an 'mcpServers' key"]
    servers = data.get("mcpServers", {})
    if not isinstance(servers, dict):
        return [], [f"{source}: 'mcpServers' must be an object mapping server names to settings"]
    configs: list[ServerConfig] = []
    errors: list[str] = []
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            errors.append(f"{source}: server '{name}': settings must be an object, got {type(entry).__name__}")
            continue
        # Claude Desktop files carry keys we do not use (e.g. "type", "disabled"): map or drop them.
        fields = {k: v for k, v in entry.items() if k in ServerConfig.model_fields and k not in ("name", "builtin")}
        if entry.get("disabled") is True:
            fields["enabled"] = False
        unknown = sorted(set(entry) - set(fields) - {"type", "disabled", "transport", "description"})
        if unknown:
            errors.append(f"{source}: server '{name}': unknown keys {unknown} ignored")
        try:
            configs.append(ServerConfig(name=name, **fields))
        except ValidationError as exc:
            errors.append(f"{source}: server '{name}': {_explain(exc)}")
    return configs, errors


def builtin_servers(env: dict[str, str] | None = None, only: list[str] | None = None) -> list[ServerConfig]:
    """The servers shipped with the app (`only` these when given), each run as `python -m <module>`."""
    known = [name for name, _ in BUILTIN_SERVERS]
    unknown = sorted(set(only or ()) - set(known))
    if unknown:
        raise ValueError(f"unknown built-in server(s) {', '.join(unknown)}: choose from {', '.join(known)}")
    env = dict(os.environ if env is None else env)
    passed = {
        k: v
        for k, v in env.items()
        if (k in BUILTIN_ENV_KEYS or k.startswith(BUILTIN_ENV_PREFIXES)) and k not in BUILTIN_ENV_DENY
    }
    # Built-ins must import the project's packages whatever the app's working directory is.
    root = str(Path(__file__).resolve().parents[2])
    passed["PYTHONPATH"] = os.pathsep.join(p for p in (root, passed.get("PYTHONPATH", "")) if p)
    passed.setdefault("PYTHONUNBUFFERED", "1")
    return [
        ServerConfig(name=name, command=sys.executable, args=["-m", module], env=passed, cwd=root, builtin=True)
        for name, module in BUILTIN_SERVERS
        if only is None or name in only
    ]


def _explain(exc: ValidationError) -> str:
    """Compress pydantic's error list into one line a user can act on."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)
