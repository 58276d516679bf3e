"""What the model reads of a page: the accessibility snapshot cleaned up, paged to a budget, fenced as untrusted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

REF_RE = re.compile(r"^\[?(?:ref=)?([a-z]?\d*e\d+)\]?$")
NOISE_RE = re.compile(r" \[(?:cursor=pointer|active)\]")
FENCE_TAG = "untrusted-content"
# Page text must not be able to close the fence and speak outside it.
FENCE_SPOOF_RE = re.compile(r"untrusted-content", re.IGNORECASE)
LINKS_JS = """() => {
  const seen = new Set(), out = [];
  for (const a of document.querySelectorAll('a[href]')) {
    const href = a.href;
    if (!href || seen.has(href) || !/^https?:/i.test(href)) continue;
    seen.add(href);
    const text = (a.innerText || a.getAttribute('aria-label') || a.title || '').replace(/\\s+/g, ' ').trim();
    out.push([text.slice(0, 120), href]);
  }
  return out;
}"""


@dataclass
class Paged:
    """One page of a longer text."""

    text: str
    number: int
    count: int


def clean_snapshot(aria: str) -> str:
    """Drop markers that cost tokens and say nothing to a reader."""
    return NOISE_RE.sub("", aria)


def ref_of(ref: str) -> str:
    """Normalise 'e5', 'ref=e5' or '[ref=e5]' to 'e5'; refuse anything else."""
    m = REF_RE.match(ref.strip())
    if not m:
        raise ToolError(f"{ref!r} is not an element ref; use a ref such as e5 from the latest snapshot")
    return m.group(1)


def paginate(text: str, number: int, chars: int) -> Paged:
    """Cut text into pages of at most chars characters at line ends and return page number (1-based)."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        while len(line) > chars:  # a single huge line: split it rather than lose it
            if current:
                pages.append("\n".join(current))
                current, size = [], 0
            pages.append(line[:chars])
            line = line[chars:]
        if size + len(line) + 1 > chars and current:
            pages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current or not pages:
        pages.append("\n".join(current))
    number = min(max(number, 1), len(pages))
    return Paged(pages[number - 1], number, len(pages))


def fence(source: str, body: str) -> str:
    """Wrap page content so the model (and the approval policy) can tell it came from the web."""
    safe_source = source.replace('"', "%22").replace("<", "%3C").replace(">", "%3E")
    safe_body = FENCE_SPOOF_RE.sub("untrusted_content", body)
    return f'<{FENCE_TAG} source="{safe_source}">\n{safe_body}\n</{FENCE_TAG}>'


def format_links(links: list[list[str]]) -> str:
    """Numbered 'text -> URL' lines."""
    return "\n".join(f"{i}. {text or '(no text)'} -> {href}" for i, (text, href) in enumerate(links, 1))


def page_note(paged: Paged, tool: str, saved: str | None) -> str:
    """The line that tells the model where it is in a long text and how to read on."""
    if paged.count == 1:
        return ""
    more = f"; {tool}(page={paged.number + 1}) for more" if paged.number < paged.count else ""
    where = f"; full text saved in the workspace as {saved}" if saved else ""
    return f"[page {paged.number} of {paged.count}{more}{where}]"
