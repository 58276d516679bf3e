"""What a running tool's server says while it works, on its card in the chat: a progress bar and its log lines.

Log text comes from the server (untrusted): it is escaped, and only the last lines are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

LOG_LINES = 8


@dataclass
class Activity:
    """Progress and log lines of one tool call."""

    progress: float | None = None
    total: float | None = None
    message: str = ""
    logs: list[str] = field(default_factory=list)

    def note_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress, self.total, self.message = progress, total, message or self.message

    def note_log(self, level: str, text: str) -> None:
        self.logs = [*self.logs, f"[{level}] {text}"][-LOG_LINES:]

    def summary(self) -> str:
        """A few words for the card's header line."""
        if self.progress is None:
            return ""
        share = f"{self.progress / self.total:.0%}" if self.total else f"{self.progress:g}"
        return f"{share} {self.message}".strip()

    def html(self, running: bool) -> str:
        parts = []
        if running and self.progress is not None:
            if self.total:
                value = max(0.0, min(1.0, self.progress / self.total))
                bar = f'<progress class="k2-tool-progress" value="{value * 100:.0f}" max="100"></progress>'
            else:
                bar = '<progress class="k2-tool-progress"></progress>'  # no total: an indeterminate bar
            parts.append(f'<div class="k2-tool-activity">{bar} <span>{escape(self.summary())}</span></div>')
        if self.logs:
            lines = "\n".join(escape(line[:300]) for line in self.logs)
            parts.append(f'<pre class="k2-tool-log">{lines}</pre>')
        return "\n\n".join(parts)
