"""Vetting reports, server rows and tool reviews as terminal text (the MCP tab renders the same data as HTML)."""

from __future__ import annotations

import time
from typing import Any

HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


def annotations_text(defn: dict[str, Any], trusted: bool) -> str:
    """The tool's own annotations, and whether the hub believes them."""
    notes = defn.get("annotations") or {}
    shown = [f"{k.removesuffix('Hint')}={str(v).lower()}" for k in HINTS if (v := notes.get(k)) is not None]
    if not shown:
        return "no annotations"
    return ", ".join(shown) + ("" if trusted else " (shown, not believed: the server is not trusted)")


def params_text(defn: dict[str, Any]) -> list[str]:
    schema = defn.get("inputSchema") or {}
    required = set(schema.get("required") or [])
    out = []
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = spec.get("type") or ("enum" if "enum" in spec else "any")
        need = ", required" if name in required else ""
        about = f" — {spec['description']}" if spec.get("description") else ""
        out.append(f"{name} ({kind}{need}){about}"[:200])
    return out


def finding_line(f: dict[str, Any]) -> str:
    mark = "✗ error  " if f["severity"] == "error" else "! warning"
    return f"{mark} {f['tool'] or '(server)'}: {f['message']}"


def report_text(report: dict[str, Any], trusted: bool = False) -> str:
    """A vetting report for the terminal."""
    q = report.get("quarantine") or {}
    if report["transport"] == "stdio":
        how = "quarantined: " + ("network allowed" if q.get("network") else "no network") + ", no home directory"
    else:
        how = "reached with credentials (after login)" if q.get("credentials") else "reached without credentials"
    info = report.get("server_info") or {}
    who = f"{info.get('name', '?')} {info.get('version', '')}".strip()
    errors = sum(f["severity"] == "error" for f in report["findings"])
    warnings = len(report["findings"]) - errors
    lines = [f"Vetting report for {report['server']} ({report['transport']}, {how})"]
    if report["ok"]:
        lines.append(f"  server {who} · {len(report['tools'])} tools · {errors} errors · {warnings} warnings · "
                     f"{report['duration_s']:.1f} s")
    elif report.get("needs_login"):
        lines.append("  it needs a login before its tools can be listed: enable it, then `python run.py mcp login "
                     f"{report['server']}` (the tools listed then are pinned and checked)")
    else:
        lines.append(f"  could not start it: {report.get('error')}")
    if q.get("note"):
        lines.append(f"  {q['note']}")
    if q.get("visible"):
        lines.append("  visible to it (read-only): " + ", ".join(q["visible"]))
    if q.get("hidden"):
        lines.append("  kept from it although its command names them: " + ", ".join(q["hidden"]))
    lines += ["  " + finding_line(f) for f in report["findings"]]
    for tool in report["tools"]:
        defn = tool["definition"]
        lines.append(f"  • {tool['name']} — {(defn.get('description') or '(no description)').splitlines()[0][:160]}")
        lines += [f"      {p}" for p in params_text(defn)]
        lines.append(f"      {annotations_text(defn, trusted)}")
    if report.get("stderr_tail") and not report["ok"]:
        lines.append("  stderr: " + " | ".join(report["stderr_tail"][-5:])[-600:])
    return "\n".join(lines)


def rows_text(rows: list[Any]) -> str:
    if not rows:
        return "No external servers. Add one with `python run.py mcp add NAME -- COMMAND ARGS…` or `--url URL`."
    lines = []
    for row in rows:
        trust = " · trusted" if row.trusted else ""
        login = ""
        if row.login:
            login = " · logged in" if row.login.get("logged_in") else " · not logged in"
            if row.login.get("logged_in") and row.login.get("expires_at"):
                left = row.login["expires_at"] - time.time()
                login += f" (token {'expired' if left < 0 else f'valid {int(left // 60)} min'}" + (
                    ", refreshable)" if row.login.get("refreshable") else ")")
        lines.append(f"{row.name:<16} {row.status:<9} {row.transport:<5} {row.pinned} pinned{trust}{login}")
        lines.append(f"  {row.target[:120]}")
        for tool, why in row.held.items():
            lines.append(f"  held: {tool} ({why}) — review with `python run.py mcp tools {row.name}`")
        if row.last_error:
            lines.append(f"  last error: {row.last_error[:300]}")
            lines += [f"    {line[:200]}" for line in row.stderr_tail[-3:]]
    return "\n".join(lines)


def views_text(name: str, views: list[Any], trusted: bool) -> str:
    if not views:
        return f"{name}: no tools known yet (vet it: `python run.py mcp vet {name}`)"
    lines = []
    for view in views:
        defn = view.definition
        lines.append(f"{view.name} [{view.status}] — {(defn.get('description') or '').splitlines()[0][:160] if defn.get('description') else '(no description)'}")
        lines += [f"    {p}" for p in params_text(defn)]
        lines.append(f"    {annotations_text(defn, trusted)}")
        lines += ["    " + finding_line(f) for f in view.findings]
        if view.diff:
            lines += ["    " + line for line in view.diff.splitlines()]
    held = [v for v in views if v.status in ("new", "changed")]
    if held:
        lines.append(f"\n{len(held)} tool(s) wait for review: accept with `python run.py mcp enable {name}`.")
    return "\n".join(lines)
