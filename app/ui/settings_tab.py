"""The Settings tab: provider keys (entered, tested, removed; kept in $K2HUB_HOME/.env mode 600, never in the
database, never shown again) and the default provider and model the picker starts with (a preference: database)."""

from __future__ import annotations

import asyncio
import html
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from agents.models.presets import PRESETS
from agents.models.providers import discover_models, key_env_names
from agents.models.secrets import get_secret
from app.ui.backend import Backend, readable_error
from app.ui.plain_error import in_user_words
from app.ui.sidebar import AUTO, keys_html, provider_choices, provider_hint
from storage import repo
from storage.env_file import EnvFileRefused, env_file, read_env_file, write_env_value

if TYPE_CHECKING:
    from app.config import Settings
    from app.ui.sidebar import Sidebar

DEFAULT_PROVIDER = "ui.default_provider"  # Setting rows (preferences, never secrets)
DEFAULT_MODEL = "ui.default_model"


def provider_of_key(name: str) -> str:
    """The preset that reads this key variable (the test asks that provider for its model list)."""
    return next((p.name for p in PRESETS.values() if p.key_env == name), "")


def key_rows(home: Any) -> str:
    """Each key: set or not, and where (environment or .env). A value never reaches the page."""
    try:
        stored = read_env_file(home)
        refused = ""
    except EnvFileRefused as exc:
        stored, refused = {}, str(exc)
    rows = []
    for name in key_env_names():
        if os.environ.get(name):
            where, state = "set in the environment (remove it there)", "ok"
        elif stored.get(name):
            where, state = f"saved in {env_file(home)}", "ok"
        else:
            where, state = "not set", "missing"
        label = PRESETS[provider_of_key(name)].label if provider_of_key(name) else ""
        rows.append(f'<li class="{state}"><span class="mark">{"✓" if state == "ok" else "✗"}</span>'
                    f"<code>{html.escape(name)}</code> <span>{html.escape(label)} · {html.escape(where)}</span></li>")
    warning = f'<p class="k2-config-errors">{html.escape(refused)}</p>' if refused else ""
    return f'{warning}<ul class="k2-keys k2-settings-keys">{"".join(rows)}</ul>'


def store_key(home: Any, name: str, value: str | None) -> None:
    """Save (or with None remove) a provider key in the .env; only the presets' key variables may be written here,
    so a request naming another variable (K2HUB_SANDBOX=unsafe-local, say) cannot change a setting this way."""
    if name not in key_env_names():
        raise ValueError(f"{name!r} is not a provider key this tab manages")
    write_env_value(home, name, value)


@dataclass
class SettingsTab:
    """The Settings tab's components."""

    keys: gr.HTML
    key_name: gr.Dropdown
    key_value: gr.Textbox
    save_key: gr.Button
    test_key: gr.Button
    remove_key: gr.Button
    key_result: gr.Markdown
    default_provider: gr.Dropdown
    default_model: gr.Dropdown
    save_default: gr.Button
    default_result: gr.Markdown


def build_settings(settings: Settings) -> SettingsTab:
    """Lay out the tab (inside the caller's Tab)."""
    gr.Markdown("### API keys\nKeys are saved in your data home's `.env` (readable only by you) and are never "
                "shown again; the database never holds them.")
    keys = gr.HTML(key_rows(settings.home), elem_id="k2-settings-keys")
    names = key_env_names()
    with gr.Row(equal_height=True):
        key_name = gr.Dropdown(names, value=names[0] if names else None, label="Key", elem_id="k2-key-name", scale=1)
        key_value = gr.Textbox(label="Value", type="password", placeholder="paste the key", elem_id="k2-key-value",
                               scale=2)
    with gr.Row():
        save_key = gr.Button("Save key", variant="primary", size="sm", elem_id="k2-save-key")
        test_key = gr.Button("Test key", size="sm", elem_id="k2-test-key")
        remove_key = gr.Button("Remove key", variant="stop", size="sm", elem_id="k2-remove-key")
    key_result = gr.Markdown("", elem_id="k2-key-result")
    gr.Markdown("### Default model\nWhat the picker shows in a new chat. A reopened conversation uses the model it "
                "ran on.")
    with gr.Row(equal_height=True):
        default_provider = gr.Dropdown(provider_choices(), value=AUTO, label="Default provider",
                                       elem_id="k2-default-provider")
        default_model = gr.Dropdown([], value=None, label="Default model", allow_custom_value=True,
                                    elem_id="k2-default-model")
    save_default = gr.Button("Save default", size="sm", elem_id="k2-save-default")
    default_result = gr.Markdown("", elem_id="k2-default-result")
    return SettingsTab(keys, key_name, key_value, save_key, test_key, remove_key, key_result, default_provider,
                       default_model, save_default, default_result)


def _db(backend: Backend) -> Any:
    agent = backend.opened
    return agent.db if agent is not None else None


def wire_settings(tab: SettingsTab, settings: Settings, backend: Backend, sb: Sidebar, demo: gr.Blocks,
                  header_model: gr.HTML) -> None:
    """Save/test/remove keys, the default model, and the picker's start values on page load."""
    home = settings.home

    def save(name: str, value: str, provider: str) -> tuple[Any, ...]:
        value = (value or "").strip()
        if not value:
            return gr.update(), "Paste a key first.", gr.update(), gr.update(), gr.update()
        try:
            store_key(home, name, value)
        except (ValueError, OSError) as exc:
            return gr.update(), f"⚠ {exc}", gr.update(), gr.update(), gr.update()
        status = {n: bool(get_secret(n, home)) for n in key_env_names()}
        # The box is emptied: the key is never sent back to the page.
        return (key_rows(home), f"✓ `{name}` saved. It is used from the next message on.", "", keys_html(status),
                provider_hint(provider, home, settings.local))

    tab.save_key.click(save, [tab.key_name, tab.key_value, sb.provider],
                       [tab.keys, tab.key_result, tab.key_value, sb.keys, sb.hint])

    def remove(name: str) -> tuple[str, str, str]:
        if os.environ.get(name):
            return gr.update(), f"`{name}` is set in the environment of the server; remove it there.", gr.update()
        try:
            store_key(home, name, None)
        except (ValueError, OSError) as exc:
            return gr.update(), f"⚠ {exc}", gr.update()
        agent = backend.opened
        if agent is not None and name == "K2HUB_API_KEY":
            agent.config.api_key = ""  # read from .env at start: the running agent forgets it too
        status = {n: bool(get_secret(n, home)) for n in key_env_names()}
        return key_rows(home), f"`{name}` removed.", keys_html(status)

    tab.remove_key.click(remove, tab.key_name, [tab.keys, tab.key_result, sb.keys])

    async def test(name: str, value: str, picked: str, base_url: str) -> str:
        # Several presets may read one variable (vLLM and OpenAI-compatible share K2HUB_API_KEY): the picked one first.
        chosen = PRESETS.get(picked or "")
        provider = picked if chosen is not None and chosen.key_env == name else provider_of_key(name)
        key = (value or "").strip() or get_secret(name, home)
        if not key:
            return f"`{name}` is not set: paste it and press Test, or Save it first."
        preset = PRESETS.get(provider)
        url = (base_url or None) if preset is not None and (preset.needs_base_url or not preset.api_base) else None
        try:
            ids = await discover_models(provider, url, home=home, api_key=key)
        except Exception as exc:  # a 401 or a dead URL is the answer to the test, in the user's words
            return f"✗ The test failed: {in_user_words(readable_error(exc)) or readable_error(exc)}"
        return f"✓ The key works: {preset.label if preset else provider} lists {len(ids)} model{'s' if len(ids) != 1 else ''}."

    tab.test_key.click(test, [tab.key_name, tab.key_value, sb.provider, sb.base_url], tab.key_result)

    def provider_models(provider: str) -> Any:
        from app.ui.sidebar import model_picker

        return model_picker(provider)

    tab.default_provider.input(provider_models, tab.default_provider, tab.default_model)

    async def save_default(provider: str, model: str | None) -> str:
        db = _db(backend)
        if db is None:
            return "The agent is still starting; try again in a moment."
        await asyncio.to_thread(repo.set_setting, db, DEFAULT_PROVIDER, provider or "")
        await asyncio.to_thread(repo.set_setting, db, DEFAULT_MODEL, model or "")
        shown = PRESETS[provider].label if provider in PRESETS else "Auto"
        return f"✓ New chats start with {shown}{' · ' + model if model else ''}."

    tab.save_default.click(save_default, [tab.default_provider, tab.default_model], tab.default_result)

    load_outputs = [sb.provider, sb.model, tab.default_provider, tab.default_model, header_model]

    def keep() -> tuple[Any, ...]:
        return tuple(gr.update() for _ in load_outputs)

    async def on_load(request: gr.Request) -> tuple[Any, ...]:
        if request is not None and dict(request.query_params).get("c"):
            return keep()  # a linked conversation brings its own model
        try:
            await backend.agent()
        except Exception:  # the chat shows why the agent cannot start
            return keep()
        db = _db(backend)
        provider = await asyncio.to_thread(repo.get_setting, db, DEFAULT_PROVIDER, None)
        model = await asyncio.to_thread(repo.get_setting, db, DEFAULT_MODEL, None)
        if provider is None:  # no default saved: the configured start values stay
            return keep()
        from app.ui.layout import model_header
        from app.ui.sidebar import model_picker

        picker = model_picker(provider, model or None)
        picked = gr.update(value=provider), picker
        return (*picked, *picked, model_header(provider, picker["value"]))

    demo.load(on_load, None, load_outputs, show_progress="hidden")
    # Keys saved since the server started: the sidebar's list and this tab's are read again on every page load.
    demo.load(lambda: (keys_html({n: bool(get_secret(n, home)) for n in key_env_names()}), key_rows(home)), None,
              [sb.keys, tab.keys], queue=False, show_progress="hidden")
