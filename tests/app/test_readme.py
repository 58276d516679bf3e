"""The README documents every setting and the interfaces scripts rely on."""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import _parser
from app.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
# Read outside Settings: by providers, storage, the launcher, the built-in servers and agents/models/local.
OTHER_VARIABLES = {"K2HUB_PRICES", "K2HUB_WORKSPACE_ROOT", "K2HUB_VENV", "GROQ_API_KEY", "MOONSHOT_API_KEY",
                   "DATABASE_URL", "K2HUB_MODELS_DIR", "K2HUB_LOCAL_MODEL", "K2HUB_LOCAL_CONTEXT",
                   "K2HUB_SANDBOX", "K2HUB_SANDBOX_MEMORY_MB", "K2HUB_GO_CACHE",
                   "K2HUB_BROWSER_PATH", "K2HUB_BROWSER_ALLOW_HOSTS", "K2HUB_BROWSER_DENY_HOSTS"}


def documented_variables() -> set[str]:
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, re.M))


def test_every_setting_is_in_the_configuration_table():
    settings = {f"K2HUB_{name.upper()}" for name in Settings.model_fields}
    assert settings <= documented_variables(), settings - documented_variables()


def test_the_table_lists_nothing_the_code_does_not_read():
    settings = {f"K2HUB_{name.upper()}" for name in Settings.model_fields}
    assert documented_variables() - settings == OTHER_VARIABLES


def test_the_two_commands_and_cli_verbs_are_documented():
    assert "python run.py          # start the app" in README and "python run.py test     #" in README
    verbs = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb in verbs:
        assert f"python run.py {verb}" in README or verb == "serve", verb
    for flag in ("--provider", "--model", "--base-url", "--max-steps", "--json", "--no-local"):
        assert flag in README


def test_serve_flags_work_without_the_verb(monkeypatch):
    import app.cli as cli
    import app.server

    seen = {}
    monkeypatch.setattr(app.server, "serve", lambda settings, **kw: seen.update(port=settings.port, **kw))
    assert cli.main(["--port", "7999", "--no-browser"]) == 0
    assert seen["port"] == 7999 and seen["open_browser"] is False
