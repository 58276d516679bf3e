"""Whether a user's request clearly needed a tool: the run's badge says so when the model answered in prose instead.

Measured with the embedded 0.5B model: asked to "write primes.py and run it", it printed Python that defines the tools
and the status showed ✓. A request needs a tool when it asks for an action only a tool can do (run, write, save,
create, delete, edit, list, read, open, search) on something a tool holds (a file, code, a script, the sandbox, the
workspace, a document, a web page) or names a file or a tool. Questions about such things ("how do I write a file in
Python?") do not count: they can be answered in prose.
"""

from __future__ import annotations

import re

_ACTION = re.compile(r"\b(run|execute|write|save|create|make|delete|remove|rename|edit|append|list|read|open|search|"
                     r"grep|fetch|download|call|ingest)\b", re.I)
_OBJECT = re.compile(r"\b(file|files|folder|directory|workspace|sandbox|script|program|code|document|documents|pdf|"
                     r"page|pages|url|website|web ?page|tool)\b", re.I)
_FILE_NAME = re.compile(r"\b[\w-]+\.(py|js|ts|sh|txt|md|csv|json|html|yaml|yml|toml|go|rs|c|cpp|java|cob|cbl|pdf|"
                        r"xlsx|docx|log|sql)\b", re.I)
_TOOL_NAME = re.compile(r"\b[a-z][a-z0-9_]*__[a-z][a-z0-9_]*\b")
_HOW_TO = re.compile(r"^\s*(how|why|what|explain|can you explain|tell me how)\b", re.I)


def needs_tool(request: str) -> bool:
    """True when the request asks for an action on files, code, documents or pages (or names a tool)."""
    if _TOOL_NAME.search(request):
        return True
    if _HOW_TO.match(request) and not _FILE_NAME.search(request):
        return False
    return bool(_ACTION.search(request)) and bool(_OBJECT.search(request) or _FILE_NAME.search(request))
