"""The sidebar: conversations, provider and model picker, key status, MCP tools status."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from agents.models.local.installer import INSTALLER, LocalStatus
from agents.models.local.weights import local_model_id
from agents.hub.config import builtin_servers, load_mcp_json
from app.services import split_names
from agents.models.presets import PRESETS
from agents.models.providers import default_provider, discover_models, key_env_names
from agents.models.secrets import get_secret, key_status
from app.ui.backend import Backend, readable_error
from app.ui.local_panel import local_html, local_label, wire_local_timer
from app.ui.markup import shorten

if TYPE_CHECKING:
    from app.config import Settings

AUTO = ""  # provider value meaning "the first hosted preset with a key" (agents.models.providers decides)
_STATE_DOT = {"ready": "ok", "starting": "wait", "restarting": "wait", "stopped": "off", "not started": "off",
              "error": "bad", "pending": "wait", "disabled": "off"}  # pending: waits for consent (MCP tab)
ERROR_CHARS = 240  # a crashed server's stderr can be long: the panel shows the gist, the server log the rest
# Presets whose endpoint the user may change: self-hosted ones, and Moonshot (api.moonshot.cn for mainland China).
_EDITABLE_BASE_URL = ("vllm", "moonshot")


def provider_choices() -> list[tuple[str, str]]:
    """(label, value) for the provider dropdown; presets that cannot run yet say so in their label."""
    choices = [("Auto", AUTO)]
    for p in PRESETS.values():
        label = local_label() if p.name == "local" else p.label
        choices.append((label if p.available else f"{p.label} (not available yet)", p.name))
    return choices


def model_choices(provider: str) -> list[str]:
    """Known model ids of a preset, its default first; the dropdown also accepts any typed id."""
    preset = PRESETS.get(provider)
    if preset is None:
        return []
    if provider == "local":
        return [local_model_id()]  # the one file the local server loads
    ids = [preset.default_model] if preset.default_model else []
    return ids + [m for m in preset.models if m not in ids]


def model_picker(provider: str, model: str | None = None) -> Any:
    """The model dropdown's update for a provider: its known ids (a given model first if it is not among them), that
    model or the default chosen, and closed on Auto (Auto picks the model itself)."""
    models = model_choices(provider)
    if model and model not in models:
        models = [model, *models]
    return gr.update(choices=models, value=model or (models[0] if models else None), interactive=provider != AUTO)


def wants_base_url(provider: str) -> bool:
    """Show the base-URL box: vLLM and OpenAI-compatible servers live where the user runs them; Moonshot has two."""
    preset = PRESETS.get(provider)
    return preset is not None and (preset.needs_base_url or preset.name in _EDITABLE_BASE_URL)


def base_url_for(provider: str, settings: Settings) -> dict[str, Any]:
    """Value and placeholder of the base-URL box for a provider (the configured URL belongs to the configured one)."""
    preset = PRESETS.get(provider)
    value = settings.base_url if provider == settings.provider else ""
    placeholder = (preset.api_base if preset is not None else None) or "http://localhost:8000/v1"
    return {"value": value, "placeholder": placeholder, "visible": wants_base_url(provider)}


def provider_hint(provider: str, home: Any, local: bool = True) -> str:
    """One line under the picker: what this choice needs or means (`local`: may Auto pick the local model)."""
    if provider == AUTO:
        found = default_provider(home, local=local)
        if found == "local":
            return ("No key is set, so Auto uses the **small local model** (Qwen2.5-Coder-0.5B). For Kimi K2, set "
                    "GROQ_API_KEY or MOONSHOT_API_KEY in the Settings tab.")
        if found:
            return f"Auto uses the first provider with a key: **{PRESETS[found].label}**."
        if local and INSTALLER.status().busy:
            return ("No key is set: Auto will use the small local model once it is installed (progress below). For "
                    "Kimi K2, set a key in the Settings tab, or pick vLLM / a URL.")
        return ("Auto uses the first provider with a key, and none is set yet: set one in the Settings tab, or pick "
                "vLLM / a URL.")
    preset = PRESETS.get(provider)
    if preset is None:
        return f"Unknown provider `{provider}`."
    if provider == "local" and INSTALLER.status().phase != "ready":
        return f"{preset.note} {INSTALLER.status().line()}"
    if preset.key_env and not preset.key_optional and not get_secret(preset.key_env, home):
        # Said when the provider is picked, not after the first message fails.
        return f"⚠ No `{preset.key_env}` is set: enter it in the Settings tab before sending. {preset.note}".strip()
    return preset.note


def keys_html(status: dict[str, bool]) -> str:
    """✓/✗ per key variable name. Only names are shown: a value never reaches the page."""
    rows = "".join(
        f'<li class="{"ok" if ok else "missing"}"><span class="mark">{"✓" if ok else "✗"}</span>'
        f"<code>{html.escape(name)}</code></li>"
        for name, ok in status.items()
    )
    return f'<ul class="k2-keys">{rows}</ul>'


def _tool_count(tools: Any) -> int:
    if isinstance(tools, int):
        return tools
    try:
        return len(tools)
    except TypeError:
        return 0


def tools_html(servers: list[Any], errors: list[str], note: str = "", startup_error: str = "") -> str:
    """MCP servers with state and tool count, then mcp.json problems (each names its line or field)."""
    rows = []
    for s in servers:
        state = str(getattr(s, "state", "") or "unknown")
        dot = _STATE_DOT.get(state, "bad" if getattr(s, "error", None) else "wait")
        count = _tool_count(getattr(s, "tools", 0))
        error = getattr(s, "error", None)
        detail = f'<div class="err">{html.escape(shorten(str(error), ERROR_CHARS))}</div>' if error else ""
        rows.append(
            f'<li><span class="dot {dot}"></span><b>{html.escape(str(s.name))}</b>'
            f'<span class="meta">{html.escape(str(getattr(s, "transport", "")))} · {html.escape(state)}'
            f" · {count} tool{'s' if count != 1 else ''}</span>{detail}</li>"
        )
    body = f'<ul class="k2-servers">{"".join(rows)}</ul>' if rows else '<p class="k2-muted">No MCP servers.</p>'
    if startup_error:
        body = f'<div class="k2-config-errors"><b>Agent not started</b><ul><li>{html.escape(startup_error)}</li></ul></div>' + body
    if errors:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
        body += f'<div class="k2-config-errors"><b>mcp.json problems</b><ul>{items}</ul></div>'
    if note:
        body += f'<p class="k2-muted">{html.escape(note)}</p>'
    return f'<div class="k2-tools">{body}</div>'


@dataclass
class _Pending:
    """A configured server before the hub has started it (same fields as the hub's status rows)."""

    name: str
    transport: str
    state: str = "starting"
    tools: int = 0
    error: str | None = None


def tools_state(settings: Settings, backend: Backend) -> tuple[list[Any], list[str]]:
    """(servers, config errors) from the live hub, or from the configuration while the agent is still starting."""
    agent = backend.opened
    if agent is not None:
        # The hub lists config errors as pseudo-servers too; show them once, in the errors box.
        return [s for s in agent.hub.status() if s.transport != "config"], list(agent.hub.config_errors)
    configured, errors = load_mcp_json(settings.mcp_json)
    state = "not started" if backend.open_error else "starting"
    try:
        builtins = builtin_servers(only=split_names(settings.builtin_servers))
    except ValueError as exc:
        builtins, errors = [], [*errors, f"K2HUB_BUILTIN_SERVERS: {exc}"]
    return [_Pending(c.name, c.transport, state) for c in [*builtins, *configured]], errors


def tools_panel(settings: Settings, backend: Backend) -> str:
    """The Tools panel's HTML, with the reason when the agent (and so its tool servers) could not start."""
    servers, errors = tools_state(settings, backend)
    note = "" if backend.opened is not None or backend.open_error else "Tool servers start with the first page load…"
    return tools_html(servers, errors, note, backend.open_error)


def tools_need_attention(settings: Settings, backend: Backend) -> bool:
    """A failed server or a bad mcp.json: the Tools panel opens by itself so the user sees why."""
    servers, errors = tools_state(settings, backend)
    return bool(errors or backend.open_error) or any(getattr(s, "error", None) for s in servers)


@dataclass
class Sidebar:
    """The sidebar's components, for the chat module to read and update."""

    new_chat: gr.Button
    conversations: gr.Radio
    search: gr.Textbox  # filters the conversation list by title and message text (app/ui/conversations.py)
    provider: gr.Dropdown
    model: gr.Dropdown
    base_url: gr.Textbox
    refresh_models: gr.Button
    hint: gr.Markdown
    keys: gr.HTML
    tools_box: gr.Accordion
    tools: gr.HTML
    refresh_tools: gr.Button
    local: gr.HTML
    local_timer: gr.Timer
    local_phase: gr.State


def build_sidebar(settings: Settings) -> Sidebar:
    """Lay out the sidebar (inside the caller's Column); wire its own events with `wire_sidebar`."""
    provider = settings.provider if settings.provider in PRESETS else AUTO
    gr.HTML('<div class="k2-brand"><span class="logo">K2</span><span>Agent Hub</span></div>')
    new_chat = gr.Button("+  New chat", elem_id="k2-new-chat", variant="secondary", size="sm")
    search = gr.Textbox(placeholder="Search conversations", show_label=False, container=False, lines=1,
                        elem_id="k2-conv-search", label="Search conversations")
    conversations = gr.Radio(
        choices=[], value=None, show_label=False, container=False, elem_id="k2-conversations", elem_classes="k2-conv-list"
    )
    with gr.Accordion("Model", open=True, elem_classes="k2-panel"):
        provider_dd = gr.Dropdown(provider_choices(), value=provider, label="Provider", elem_id="k2-provider")
        models = model_choices(provider)
        model_dd = gr.Dropdown(
            models or ([settings.model] if settings.model else []),
            value=settings.model or (models[0] if models else None),
            label="Model",
            allow_custom_value=True,
            interactive=provider != AUTO,
            elem_id="k2-model",
        )
        base_url = gr.Textbox(label="Base URL", elem_id="k2-base-url", **base_url_for(provider, settings))
        refresh_models = gr.Button("↻ Refresh models", size="sm", elem_id="k2-refresh-models", visible=provider != AUTO)
        hint = gr.Markdown(provider_hint(provider, settings.home, settings.local), elem_classes="k2-hint")
        keys = gr.HTML(keys_html(key_status(key_env_names(), settings.home)), elem_id="k2-keys")
        status = INSTALLER.status() if settings.local else LocalStatus("disabled")  # --no-local: no line at all
        local = gr.HTML(local_html(status), elem_id="k2-local")
        local_timer = gr.Timer(2.0, active=status.phase not in ("ready", "disabled"))
        local_phase = gr.State(status.phase)
    with gr.Accordion("Tools", open=False, elem_classes="k2-panel", elem_id="k2-tools-panel") as tools_box:
        tools = gr.HTML("", elem_id="k2-tools")
        refresh_tools = gr.Button("↻ Refresh", size="sm")
    return Sidebar(new_chat, conversations, search, provider_dd, model_dd, base_url, refresh_models, hint, keys, tools_box, tools,
                   refresh_tools, local, local_timer, local_phase)


def wire_sidebar(sb: Sidebar, settings: Settings, backend: Backend, header_model: gr.HTML) -> None:
    """Events of the sidebar: provider switch, model discovery, tools refresh. Every event that sets the pickers
    also names the model in the header, in the same answer: change listeners on the pickers saw values in flight
    and could answer out of order (the header kept the old model, seen in full test runs)."""
    from app.ui.layout import model_header

    def on_provider(provider: str) -> tuple[Any, ...]:
        picker = model_picker(provider)
        return (
            picker,
            gr.update(**base_url_for(provider, settings)),
            gr.update(visible=provider != AUTO),
            provider_hint(provider, settings.home, settings.local),
            keys_html(key_status(key_env_names(), settings.home)),
            model_header(provider, picker["value"]),
        )

    sb.provider.input(on_provider, sb.provider,
                      [sb.model, sb.base_url, sb.refresh_models, sb.hint, sb.keys, header_model])
    sb.model.input(model_header, [sb.provider, sb.model], header_model, show_progress="hidden")

    async def on_refresh_models(provider: str, base_url: str, current: str | None) -> tuple[Any, str, Any]:
        try:
            ids = await discover_models(provider, base_url or None, home=settings.home)
        except Exception as exc:  # a dead URL or a 401 is a hint for the user, not a crash
            return gr.update(), f"⚠ {readable_error(exc)}", gr.update()
        if not ids:
            return gr.update(), "The server lists no models.", gr.update()
        value = current if current in ids else ids[0]
        return (gr.update(choices=ids, value=value), f"{len(ids)} model{'s' if len(ids) != 1 else ''} found.",
                model_header(provider, value))

    sb.refresh_models.click(on_refresh_models, [sb.provider, sb.base_url, sb.model], [sb.model, sb.hint, header_model])

    async def on_refresh_tools() -> str:
        # Read in the event loop: the hub's state belongs to it, and the read is a few attribute lookups.
        return tools_panel(settings, backend)

    sb.refresh_tools.click(on_refresh_tools, None, sb.tools)
    wire_local_timer(sb.local_timer, sb.local, sb.local_phase, sb.provider, sb.hint, provider_choices,
                     lambda provider: provider_hint(provider, settings.home, settings.local))
