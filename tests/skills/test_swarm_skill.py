"""The built-in agent-swarm skill ships, validates and is what a swarm-shaped request finds."""

from __future__ import annotations

from pathlib import Path

from skills import skillmd
from skills.registry import BUILTIN_DIR, Registry
from storage.db import Database


def test_the_agent_swarm_skill_is_found_for_a_fan_out_request(tmp_path: Path) -> None:
    skill = skillmd.parse((BUILTIN_DIR / "agent-swarm" / "SKILL.md").read_bytes(), folder="agent-swarm")
    assert "agents__spawn" in skill.body and "Do **not** swarm" in skill.body
    db = Database(f"sqlite:///{tmp_path / 'k2hub.db'}")
    try:
        registry = Registry(db)
        registry.ensure_builtin(strict=True)
        found = registry.search("split this across parallel sub-agents: summarise these 30 pages", limit=1)
        assert found[0].name == "agent-swarm"
        assert registry.search("OWASP security review", limit=1)[0].name == "secure-code-review"  # not greedy
    finally:
        db.close()
