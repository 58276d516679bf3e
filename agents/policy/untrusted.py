"""Untrusted content: which tool results carry text from outside, where it came from, and how the model sees it.

Text reaches the model from outside in these ways, and each one taints the conversation (storage.approvals
untrusted_reads) and is fenced before the model reads it:

- results of the built-in `browser` and `pdf_reader` servers (web pages and documents are written by strangers);
- results of every external (mcp.json) server not marked `"trusted": true`;
- results a built-in server flags in `_meta["k2hub/untrusted"]` (the skills hub, for third-party skills' text);
- results of planner-level tools that declare a source (sub-agents report what they read in documents);
- documents attached to the conversation, which lead each run's messages (agents/policy/context.py).

The fence is a tag the model is told about in the system prompt; text inside that tries to close it is defused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agents.hub.config import ServerConfig

UNTRUSTED_BUILTINS = frozenset({"browser", "pdf_reader"})
UNTRUSTED_META = "k2hub/untrusted"
"""Result _meta key a built-in server uses to flag third-party text (mcp_servers/common/annotations.py)."""
FENCE_TAG = "untrusted-data"
_SPOOF = re.compile(re.escape(FENCE_TAG), re.IGNORECASE)
SOURCE_KEYS = ("url", "href", "document", "document_id", "doc", "file", "filename", "path")
URL_RE = re.compile(r"https?://[^\s\"'<>)\]`]+")


def is_untrusted_server(config: ServerConfig) -> bool:
    """Whether everything this server returns is untrusted content."""
    if config.builtin:
        return config.name in UNTRUSTED_BUILTINS
    return not config.trusted


def declared_sources(config: ServerConfig, meta: Mapping[str, Any] | None) -> list[str]:
    """Sources a built-in (or trusted) server flagged in the result's _meta as third-party text."""
    if not (config.builtin or config.trusted) or not meta:
        return []
    flagged = meta.get(UNTRUSTED_META)
    if isinstance(flagged, str):
        flagged = [flagged]
    return [str(s)[:500] for s in flagged or [] if str(s).strip()] if isinstance(flagged, list) else []


def source_of(server: str, args: Any, text: str) -> str:
    """Where an untrusted result came from, for the approval's reason: a URL, a document, else the server."""
    args = args if isinstance(args, dict) else {}
    url = args.get("url")
    if isinstance(url, str) and url.strip():
        return url.strip()
    found = URL_RE.search(text[:4000])
    if found:
        return found.group(0)
    for key in SOURCE_KEYS:
        value = args.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return f"the {server} server"


def fence(text: str, *, source: str, tool: str = "") -> str:
    """Wrap text from outside so the model reads it as data; a fake closing tag inside is defused."""
    safe_source = source.replace('"', "%22").replace("<", "%3C").replace(">", "%3E")[:300]
    via = f' tool="{tool}"' if tool else ""
    return f'<{FENCE_TAG} source="{safe_source}"{via}>\n{_SPOOF.sub("untrusted_data", text)}\n</{FENCE_TAG}>'
