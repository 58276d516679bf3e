"""What each built-in tool declares about itself (MCP tool annotations): the planner's approval gate reads them.

Every built-in tool sets all four hints (a test walks every tool and fails on one that does not). The gate asks
the user before any tool that is not read-only once a conversation has read untrusted content, so these are the
risk policy: a new tool is gated by what it declares, not by someone remembering to list it.

- read-only: changes nothing the user has (reading, searching, looking at a page, navigating to a URL);
- additive: adds things (a row, a new file, an ingested document) without replacing or deleting any;
- destructive: may replace or delete what is there, or run code that can.
"""

from __future__ import annotations

from mcp.types import ToolAnnotations

HOST_PATHS_META = "k2hub/host_paths"
"""Tool _meta key: argument names that may name a file outside the conversation workspace (an absolute path).

The gate asks before such a call reads a path outside the workspace (and outside the user's library folders),
tainted conversation or not: the model must not pick files from the user's disk on its own.
"""

UNTRUSTED_META = "k2hub/untrusted"
"""Result _meta key: a list of sources (e.g. 'skill x@1.0.0 (not trusted)') when a built-in result carries text from
outside (a third-party skill's body): the planner taints the conversation and fences the result, as for a web page.
"""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)
READS_WEB = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False,
                            open_world_hint=True)
"""Looks at the web without acting on it (opening a URL is a GET; snapshots cache what was read as new files)."""
ADDITIVE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                           open_world_hint=False)
"""Adds something; the same call again changes nothing more (duplicates are refused or reused)."""
APPENDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                          open_world_hint=False)
"""Adds something each time it is called."""
REPLACES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                           open_world_hint=False)
"""Writes over or deletes existing files; the same call again gives the same result."""
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                          open_world_hint=False)
"""May replace or delete what is there, or runs code (sandboxed, no network) that can; not idempotent."""
ACTS_ON_WEB = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                              open_world_hint=True)
"""Acts on a web page (a click or a submitted form can buy, post or delete on the site)."""
FETCHES_WEB = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                              open_world_hint=True)
"""Brings something from the web into the workspace, as a new file."""


def host_paths(*names: str) -> dict[str, list[str]]:
    """The tool _meta that declares which arguments may be paths outside the workspace."""
    return {HOST_PATHS_META: list(names)}
