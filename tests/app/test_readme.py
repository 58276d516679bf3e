"""The README documents every setting and the interfaces scripts rely on."""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import _parser
from app.config import Settings
from mcp_servers.common.settings import env_names

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = env_names(Settings)  # field -> variable
# The provider keys are read where they are used (agents/models/secrets.py) and never become settings; the strict
# test mode is read by the test suite only (tests/conftest.py).
OTHER_VARIABLES = {"GROQ_API_KEY", "MOONSHOT_API_KEY", "K2HUB_TEST_STRICT"}


def table() -> dict[str, str]:
    """Variable -> its default cell, from the README's configuration table."""
    return dict(re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]*) \|", README, re.M))


def test_every_setting_is_in_the_configuration_table():
    assert set(SETTINGS.values()) <= set(table()), set(SETTINGS.values()) - set(table())


def test_the_table_lists_nothing_the_code_does_not_read():
    assert set(table()) - set(SETTINGS.values()) == OTHER_VARIABLES


def test_the_table_shows_the_defaults_settings_hold():
    cells = table()
    for name, field in Settings.model_fields.items():
        default, cell = field.default, cells[SETTINGS[name]].strip()
        if isinstance(default, bool):
            assert cell.lower() == str(default).lower(), name
        elif isinstance(default, int | float):
            assert float(re.search(r"[\d.,]+", cell).group().replace(",", "")) == default, name  # type: ignore[union-attr]
        elif isinstance(default, str) and default:
            assert default in cell, name


def test_every_k2hub_variable_the_code_names_is_a_setting():
    """A variable read anywhere (os.environ, a server, run.py) must be a Settings field, so the table lists it."""
    named: dict[str, str] = {}
    for path in [ROOT / "run.py", *(p for d in ("agents", "app", "mcp_servers", "storage", "skills")
                                    for p in (ROOT / d).rglob("*.py"))]:
        for var in re.findall(r"\bK2HUB_[A-Z][A-Z0-9_]*[A-Z0-9]\b(?!_)", path.read_text(encoding="utf-8")):
            named.setdefault(var, str(path.relative_to(ROOT)))
    unknown = {v: where for v, where in named.items() if v not in set(SETTINGS.values())}
    assert not unknown, unknown


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
