"""The CLI's swarm lines (human output) and a sub-agent's approval request in the terminal (the command to run
names the sub-agent's run, whose branch waits)."""

from __future__ import annotations

from agents.events import ApprovalRequested, SubagentFinished, SubagentStarted, SwarmStarted, event_from_dict
from app.approval_cli import describe
from app.cli import swarm_line


def test_swarm_events_print_one_line_each_and_round_trip_as_json():
    started = SwarmStarted(swarm_id="s1", goals=["a", "b", "c"], concurrency=2, resumed=1)
    assert swarm_line(started) == "[swarm] 3 sub-agents, up to 2 at once, 1 replayed (s1)"
    again = SubagentStarted(swarm_id="s1", index=1, goal="read b", attempt=2)
    assert swarm_line(again) == "[swarm] 2. read b: started (attempt 2)"
    failed = SubagentFinished(swarm_id="s1", index=2, goal="read c", status="failed", error="ProviderError: 400")
    assert swarm_line(failed).endswith("read c: failed · 0 tools · 0 tokens · $0.0000 — ProviderError: 400")
    for event in (started, again, failed):  # what `--json` prints is what consumers read back
        assert event_from_dict(event.model_dump()) == event


def test_a_sub_agents_approval_names_it_and_its_run_in_the_terminal():
    event = ApprovalRequested(run_id="parent", call_id="2.0", name="toolbox__echo", arguments={"text": "x"},
                              reason="tainted", subagent_run_id="child", subagent="Sub-agent 2: read b")
    text = describe(event, lambda _code, t: t, "", "")
    assert "Asked by Sub-agent 2: read b (only it waits)." in text
    assert "python run.py approve child 2.0" in text and "approve parent" not in text
