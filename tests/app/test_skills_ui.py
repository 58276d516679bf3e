"""The Skills tab's helpers without a browser: list rows, header, diff, save; and the tabbed layout builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.skills import choices, diff_markdown, header_html, save_text, skill_md
from skills.errors import InvalidSkill
from skills.registry import Registry
from storage.db import Database


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    reg = Registry(db)
    reg.ensure_builtin(strict=True)
    return reg


def test_list_rows_show_name_version_and_a_short_description(registry: Registry) -> None:
    rows = choices(registry, "")
    assert [name for _, name in rows] == sorted(name for _, name in rows) and len(rows) >= 6
    label = {n: lab for lab, n in rows}["web-research"]
    assert label.startswith("web-research · 1.0.0 — Research a question") and len(label) < 140
    assert [name for _, name in choices(registry, "owasp")] == ["secure-code-review"]
    assert choices(registry, "zzzzqx") == []


def test_edit_save_creates_a_new_version_shown_in_header_and_diff(registry: Registry) -> None:
    text = skill_md(registry, "web-research", None)
    row = save_text(registry, text + "\n## Team rule\n\nCite at least two sources.\n")
    assert (row.name, row.version, row.source) == ("web-research", "1.0.1", "edited")
    head = header_html(registry, "web-research", None)
    assert "1.0.1" in head and "latest" in head and "source: edited" in head
    diff = diff_markdown(registry, "web-research", "1.0.0", "1.0.1")
    assert diff.startswith("```diff\n") and "+## Team rule" in diff
    assert "same content" in diff_markdown(registry, "web-research", "1.0.0", "1.0.0")
    registry.pin("web-research", "1.0.0")
    assert "pinned" in header_html(registry, "web-research", "1.0.0")


def test_saving_a_broken_skill_md_says_why_and_stores_nothing(registry: Registry) -> None:
    before = len(registry.versions("web-research"))
    with pytest.raises(InvalidSkill, match="missing 'description'"):
        save_text(registry, "---\nname: web-research\n---\n# no description\n")
    assert len(registry.versions("web-research")) == before


def test_the_ui_has_chat_and_skills_tabs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import load_settings
    from app.ui import build_ui

    monkeypatch.setenv("K2HUB_HOME", str(tmp_path))
    demo, _backend = build_ui(load_settings())
    labels = [getattr(block, "label", None) for block in demo.blocks.values()]
    assert "Chat" in labels and "Skills" in labels
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"k2-chat", "k2-skills-tab"} <= ids
    # The tab's content is built when it is first opened (app/ui/lazy_tab.py); what it builds:
    import gradio as gr

    from app.ui.skills import build_skills

    with gr.Blocks() as tab:
        build_skills()
    built = {getattr(block, "elem_id", None) for block in tab.blocks.values()}
    assert {"k2-skill-search", "k2-skill-list", "k2-skill-editor", "k2-skill-draft"} <= built
