"""A scripted K2 for swarms: the parent spawns, each sub-agent (told apart by its goal in the system prompt) makes
its tool calls then answers; model latency, in-flight counts and 429 storms are measured or played here."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.fakes.k2_server import ToolCall, Turn

GOAL = re.compile(r"Your task:\n(.*?)\n\nTools you may call", re.DOTALL)


def goal_of(body: dict) -> str | None:
    """The sub-agent's goal from its system prompt; None for the parent."""
    system = body["messages"][0].get("content") or ""
    found = GOAL.search(system) if isinstance(system, str) else None
    return found.group(1).strip() if found else None


def spawn_args(goals: list[str], concurrency: int, **extra: Any) -> dict[str, Any]:
    return {"tasks": [{"goal": g, **extra.get("task", {})} for g in goals], "brief": extra.get("brief", "Be brief."),
            "concurrency": concurrency}


@dataclass
class SwarmScript:
    """The model: parent spawns `spawn`, then answers; sub-agent `goal` runs `calls(goal)` then `answer(goal)`."""

    spawn: dict[str, Any]
    latency_s: float = 0.0
    calls: Callable[[str], list[ToolCall]] = lambda goal: [ToolCall("toolbox__echo", {"text": goal})]
    answer: Callable[[str], str] = lambda goal: f"done: {goal}"
    storm: Callable[[dict], Turn | None] = lambda body: None  # a provider error instead of an answer
    in_flight: int = 0
    peak: int = 0
    served: dict[str, int] = field(default_factory=dict)  # sub-agent goal -> model calls answered
    parent_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    log: list[tuple[float, int]] = field(default_factory=list)  # (time, in flight) at each sub-agent request
    reasoning: str | None = None  # for a thinking model: every turn thinks first

    def __call__(self, body: dict) -> Turn:
        goal = goal_of(body)
        if goal is None:
            with self.lock:
                self.parent_calls += 1
            done = any(m.get("role") == "tool" and m.get("name") == "agents__spawn" for m in body["messages"])
            if done:
                return Turn(content="Swarm finished.", reasoning=self.reasoning)
            return Turn(tool_calls=[ToolCall("agents__spawn", self.spawn)], reasoning=self.reasoning)
        error = self.storm(body)
        if error is not None:
            return error
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.log.append((time.monotonic(), self.in_flight))
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            step = sum(m["role"] == "assistant" for m in body["messages"])
            planned = self.calls(goal)
            with self.lock:
                self.served[goal] = self.served.get(goal, 0) + 1
            if step < len(planned):
                return Turn(tool_calls=[planned[step]], reasoning=self.reasoning)
            return Turn(content=self.answer(goal), reasoning=self.reasoning)
        finally:
            with self.lock:
                self.in_flight -= 1


def tools_offered(body: dict) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or []]


def dumps(value: Any) -> str:
    return json.dumps(value)
