"""What the model streamed since its last finished call: kept when a run is stopped or fails mid-answer.

The graph's state holds only finished model messages, so a Stop during an answer would drop what the user already
read. The runner feeds every event here and stores the rest as an assistant message marked `_partial` (the "_"
keys never reach a provider), so a reopened conversation shows what the user saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.events import ReasoningDelta, TextDelta, ToolCallStarted, Usage


@dataclass
class PartialAnswer:
    """Text and reasoning deltas after the last finished model call."""

    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)

    def note(self, event: Any) -> None:
        """Fold one planner event in: deltas add up; a finished model call (Usage) or a tool call starts afresh."""
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, Usage | ToolCallStarted):
            self.text.clear()
            self.reasoning.clear()

    def message(self) -> dict[str, Any] | None:
        """The assistant message to store after a stop or crash, or None when nothing visible was streamed."""
        text = "".join(self.text).strip()
        if not text:
            return None
        reasoning = "".join(self.reasoning).strip()
        return {"role": "assistant", "content": text, **({"reasoning_content": reasoning} if reasoning else {}),
                "_partial": True}
