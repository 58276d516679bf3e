"""HTML of the MCP tab: one card per external server, its vetting report, and the review of held tools.

Everything a server declared (names, descriptions, schemas, stderr, log lines) is untrusted text: it is escaped
here, never rendered as markup.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import Any

from app.mcp_text import HINTS

STATUS_LABEL = {"enabled": "enabled", "new": "new · not started", "changed": "changed · not started",
                "disabled": "disabled"}
LIVE_CLASS = {"ready": "ok", "error": "bad", "pending": "wait", "disabled": "off", "stopped": "off",
              "starting": "wait", "restarting": "wait"}


def _badge(text: str, kind: str) -> str:
    return f'<span class="k2-mcp-badge k2-mcp-{kind}">{escape(text)}</span>'


def _login_text(login: dict[str, Any]) -> str:
    if not login:
        return ""
    if not login.get("logged_in"):
        return _badge("not logged in", "wait")
    expires = login.get("expires_at")
    if expires and expires < time.time():
        return _badge("token expired" + (", refreshes" if login.get("refreshable") else ""), "wait")
    return _badge("logged in", "ok")


def server_card(row: Any, live: Any | None) -> str:
    """One server: status, live state, target, pins, held tools, login, last errors, stderr and log tails."""
    badges = [_badge(STATUS_LABEL.get(row.status, row.status), "ok" if row.status == "enabled" else "wait")]
    if live is not None and row.status == "enabled":
        badges.append(_badge(live.state, LIVE_CLASS.get(live.state, "wait")))
    badges.append(_badge("trusted" if row.trusted else "untrusted", "ok" if row.trusted else "off"))
    badges.append(_login_text(row.login))
    held = {**row.held, **(live.held if live is not None else {})}
    parts = [f'<div class="k2-mcp-card" data-server="{escape(row.name)}">',
             f'<div class="k2-mcp-head"><b>{escape(row.name)}</b> <span class="k2-mcp-transport">{row.transport}'
             f'</span> {" ".join(b for b in badges if b)}</div>',
             f'<div class="k2-mcp-target"><code>{escape(row.target[:300])}</code></div>',
             f'<div class="k2-mcp-line">{row.pinned} tool(s) pinned</div>']
    for tool, why in held.items():
        parts.append(f'<div class="k2-mcp-held">⚠ {escape(tool)} held for review: {escape(why)}</div>')
    if live is not None:  # the running hub knows best; the files keep what the last run saw
        error = live.error if live.state in ("error", "pending", "disabled") else None
    else:
        error = row.last_error
    if error:
        parts.append(f'<div class="k2-mcp-error">{escape(error[:600])}</div>')
    for note in (live.notes if live is not None else []):
        parts.append(f'<div class="k2-mcp-held">note: {escape(note[:400])}</div>')
    stderr = list(live.stderr_tail if live is not None and live.stderr_tail else row.stderr_tail)[-8:]
    logs = list(live.log_tail)[-8:] if live is not None else []
    for title, lines in (("stderr", stderr), ("log messages", logs)):
        if lines:
            body = escape("\n".join(line[:300] for line in lines))
            parts.append(f'<details class="k2-mcp-tail"><summary>{title} ({len(lines)} lines)</summary>'
                         f'<pre>{body}</pre></details>')
    parts.append("</div>")
    return "".join(parts)


def servers_html(rows: list[Any], live: dict[str, Any], errors: list[str]) -> str:
    if not rows and not errors:
        return ('<div class="k2-mcp-empty">No external servers yet. Add one below: a command (for example '
                '<code>npx -y @modelcontextprotocol/server-everything</code>) or the URL of a remote server.</div>')
    cards = [server_card(row, live.get(row.name)) for row in rows]
    cards += [f'<div class="k2-mcp-error">mcp.json: {escape(e)}</div>' for e in errors]
    return '<div class="k2-mcp-list">' + "".join(cards) + "</div>"


def _annotations(defn: dict[str, Any], trusted: bool) -> str:
    notes = defn.get("annotations") or {}
    shown = [f"{k.removesuffix('Hint')}={str(v).lower()}" for k in HINTS if (v := notes.get(k)) is not None]
    if not shown:
        return '<span class="k2-mcp-dim">no annotations</span>'
    believed = "" if trusted else ' <span class="k2-mcp-dim">(shown, not believed: the server is not trusted)</span>'
    return escape(", ".join(shown)) + believed


def _finding(f: dict[str, Any]) -> str:
    cls = "k2-mcp-error" if f["severity"] == "error" else "k2-mcp-held"
    return f'<div class="{cls}">{"✗" if f["severity"] == "error" else "!"} {escape(f["message"])}</div>'


def _tool_block(name: str, defn: dict[str, Any], status: str, findings: list[dict[str, Any]], diff: str,
                trusted: bool) -> str:
    schema = json.dumps(defn.get("inputSchema") or {}, indent=1, ensure_ascii=False)
    parts = [f'<div class="k2-mcp-tool"><div><b>{escape(name)}</b> {_badge(status, "ok" if status == "pinned" else "wait")}'
             f'</div><div class="k2-mcp-desc">{escape(defn.get("description") or "(no description)")}</div>',
             f'<div class="k2-mcp-line">{_annotations(defn, trusted)}</div>']
    parts += [_finding(f) for f in findings]
    if diff:
        parts.append(f'<pre class="k2-mcp-diff">{escape(diff)}</pre>')
    parts.append(f'<details><summary>input schema</summary><pre>{escape(schema[:6000])}</pre></details></div>')
    return "".join(parts)


def report_html(report: dict[str, Any] | None, trusted: bool) -> str:
    """The vetting report of a new or changed entry."""
    if not report:
        return '<div class="k2-mcp-dim">Not vetted yet: press Vet.</div>'
    q = report.get("quarantine") or {}
    if report["transport"] == "stdio":
        how = ("network allowed" if q.get("network") else "no network") + ", no home directory"
    else:
        how = "with credentials, after login" if q.get("credentials") else "without credentials"
    info = report.get("server_info") or {}
    errors = sum(f["severity"] == "error" for f in report["findings"])
    head = (f'<div class="k2-mcp-report-head"><b>Vetting report</b> · quarantined first start ({escape(how)}) · '
            f'{escape(info.get("name", "?"))} {escape(str(info.get("version", "")))} · {len(report["tools"])} tools · '
            f'{errors} errors · {len(report["findings"]) - errors} warnings</div>')
    parts = [head]
    if not report["ok"]:
        what = ("It needs a login before it lists its tools: enable it, then Log in (the tools listed then are "
                "pinned and checked)." if report.get("needs_login") else f"It did not start: {report.get('error')}")
        parts.append(f'<div class="k2-mcp-error">{escape(what)}</div>')
    if q.get("visible"):
        parts.append(f'<div class="k2-mcp-line">visible to it, read-only: {escape(", ".join(q["visible"]))}</div>')
    if q.get("hidden"):
        parts.append(f'<div class="k2-mcp-line">kept from it: {escape(", ".join(q["hidden"]))}</div>')
    parts += [_finding(f) for f in report["findings"] if not f["tool"]]
    for tool in report["tools"]:
        found = [f for f in report["findings"] if f["tool"] == tool["name"]]
        parts.append(_tool_block(tool["name"], tool["definition"], "listed", found, "", trusted))
    if report.get("stderr_tail") and not report["ok"]:
        parts.append(f'<pre>{escape(chr(10).join(report["stderr_tail"][-8:]))}</pre>')
    return '<div class="k2-mcp-report">' + "".join(parts) + "</div>"


def review_html(views: list[Any], trusted: bool) -> str:
    """Pinned tools, and the held ones with their diff, for an enabled server."""
    if not views:
        return '<div class="k2-mcp-dim">No tools listed yet.</div>'
    held = [v for v in views if v.status != "pinned"]
    top = (f'<div class="k2-mcp-held">{len(held)} tool(s) wait for your review: read the changes, then press '
           f'Enable / accept to pin them.</div>' if held else "")
    blocks = [_tool_block(v.name, v.definition, v.status, v.findings, v.diff, trusted)
              for v in sorted(views, key=lambda v: v.status == "pinned")]
    return '<div class="k2-mcp-report">' + top + "".join(blocks) + "</div>"
