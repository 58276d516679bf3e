"""What the page carries and runs before the chat shows (issue 19's first-paint target; the ratio itself is measured
by benchmarks/bench_cold_start.py): the embedded API description lists only /send, the Skills, COBOL, MCP and Runs
tabs are built when first opened, and what the page loads is the chat's."""

from __future__ import annotations

import json
import re
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
    assert len(demo.get_api_info(all_endpoints=True)["named_endpoints"]) > 80  # tabs built on opening add theirs
    assert len(demo.fns) > 80


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


def test_skills_cobol_mcp_and_runs_tabs_are_not_in_the_page_until_opened(demo: Any) -> None:
    # Their tabs are (the user sees and opens them), their content is not: a render builds it on the first select
    # (the browser tests of each tab drive it from there).
    config = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"k2-skills-tab", "k2-cobol-tab", "k2-mcp-tab", "k2-runs-tab", "k2-chat"} <= ids
    assert not ids & {"k2-skill-list", "k2-skill-editor", "k2-cobol-programs", "k2-cobol-detail", "k2-mcp-servers",
                      "k2-runs-table", "k2-runs-timeline"}
    tabs = {c["id"]: c["props"]["elem_id"] for c in config["components"]
            if c["props"].get("elem_id") in ("k2-skills-tab", "k2-cobol-tab", "k2-mcp-tab", "k2-runs-tab")}
    # Each tab's select sets a state whose change runs a render.
    opened = {dep["outputs"][0]: tabs[t] for dep in config["dependencies"] for t, trigger in dep["targets"]
              if trigger == "select" and t in tabs and len(dep["outputs"]) == 1}
    rendered = {opened[dep["inputs"][0]] for dep in config["dependencies"]
                if dep.get("render_id") is not None and dep["inputs"] and dep["inputs"][0] in opened}
    assert rendered == set(tabs.values())


def test_no_code_editor_on_the_page(demo: Any) -> None:
    # The browser loads every component type's code before it shows the chat; gr.Code brings ~390 KB of editor.
    assert "code" not in {c["type"] for c in demo.get_config_file()["components"]}


def _served(demo: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(the config embedded in the page, /config, /info?all_endpoints=True) of demo mounted as the server does."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = gr.mount_gradio_app(FastAPI(), demo, path="/", footer_links=[])
    with TestClient(app) as client:
        page = client.get("/").text
        found = re.search(r"window\.gradio_config = (.*?);?\s*</script>", page, re.S)
        assert found, "no config in the page"
        config = client.get("/config").json()
        info = client.get("/gradio_api/info?all_endpoints=True").json()
    return json.loads(found.group(1)), config, info


def test_the_page_carries_api_schemas_only_for_the_chat_endpoint(demo: Any) -> None:
    embedded, config, info = _served(demo)
    send = next(fn for fn in demo.fns.values() if fn.api_name == "send")
    public = {block._id for block in (*send.inputs, *send.outputs)}
    for served in (embedded, config):
        described = {c["id"] for c in served["components"] if "api_info" in c or "example_inputs" in c}
        assert described == {c["id"] for c in served["components"] if c["id"] in public and not c["skip_api"]}
        by_elem = {c["props"].get("elem_id"): c for c in served["components"]}
        assert "api_info" in by_elem["k2-chat"]  # /send's output: a client still reads its schema
        assert "api_info" not in by_elem["k2-budget"]
        # Gradio's own components are found by type in the page; the class hash is left out.
        assert not [c for c in served["components"] if "component_class_id" in c]
        assert not [d for d in served["dependencies"] if "max_batch_size" in d or d.get("rendered_in", 0) is None]
    assert len(json.dumps(embedded)) < len(json.dumps(demo.get_config_file(), default=str)) * 0.85
    # The API description is still built from the full config: every event, /send with typed parameters.
    assert len(info["named_endpoints"]) > 80
    assert all(p["type"] for p in info["named_endpoints"]["/send"]["parameters"])
    sidebar = [e for e in info["named_endpoints"].values() if any(r["label"] == "Provider" for r in e["returns"])]
    assert sidebar and all(r["type"] for e in sidebar for r in e["returns"])
