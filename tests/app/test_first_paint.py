"""What the page carries and runs before the chat shows (issue 19's first-paint target; the ratio itself is measured
by benchmarks/bench_cold_start.py): the embedded API description lists only /send, and hidden tabs read their data
when they are opened, not on every page load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from app.config import load_settings
    from app.ui import build_ui

    monkeypatch.setenv("K2HUB_HOME", str(tmp_path))
    built, _backend = build_ui(load_settings())
    return built


def test_the_page_describes_only_the_chat_endpoint(demo: Any) -> None:
    # Every other event still exists and runs (the UI calls events by number), it is only left out of the ~400 KB
    # API description Gradio writes into each page.
    assert list(demo.get_api_info()["named_endpoints"]) == ["/send"]
    assert len(demo.get_api_info(all_endpoints=True)["named_endpoints"]) > 100
    assert len(demo.fns) > 100


def _outputs_of_load_events(demo: Any) -> set[str]:
    config = demo.get_config_file()
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    found: set[str] = set()
    for dep in config["dependencies"]:
        if any(trigger == "load" for _, trigger in dep["targets"]):
            found |= {ids.get(o) or "" for o in dep["outputs"]}
    return found


def test_hidden_tabs_read_their_data_when_opened_not_on_page_load(demo: Any) -> None:
    on_load = _outputs_of_load_events(demo)
    assert "k2-conversations" in on_load  # the chat's own list still comes with the page (the check can see it)
    assert not on_load & {"k2-skill-list", "k2-mcp-servers", "k2-runs-table"}
    config = demo.get_config_file()
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    selected = {ids.get(o) for dep in config["dependencies"] for _, trigger in dep["targets"] if trigger == "select"
                for o in dep["outputs"]}
    assert {"k2-skill-list", "k2-mcp-servers", "k2-runs-table"} <= selected


def test_no_code_editor_on_the_page(demo: Any) -> None:
    # The browser loads every component type's code before it shows the chat; gr.Code brings ~390 KB of editor.
    assert "code" not in {c["type"] for c in demo.get_config_file()["components"]}
