"""Text for the UI's Markdown and HTML: escaping, code fences that tool output cannot close, clipping."""

from __future__ import annotations


def escape(text: str) -> str:
    """Text safe inside HTML (quotes need no escaping where we use it: element content only)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fence(text: str, lang: str = "") -> str:
    """A Markdown code block around text; a longer fence than any backtick run inside keeps it closed."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, then a line saying how many more there were."""
    return text if len(text) <= limit else text[:limit].rstrip() + f"\n… ({len(text) - limit:,} more characters)"


def shorten(text: str, limit: int) -> str:
    """One short line: at most `limit` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
