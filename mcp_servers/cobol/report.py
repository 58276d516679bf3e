"""Readable text views of an analysis: the project map and one record layout (for the model, the CLI and the UI)."""

from __future__ import annotations

from mcp_servers.cobol.layout import Field
from mcp_servers.cobol.program import FileDef, Program
from mcp_servers.cobol.project import Project


def project_text(project: Project, *, max_programs: int = 200) -> str:
    """The project map: counts, then per program its files, paragraphs and calls, then JCL links."""
    s = project.to_dict(layouts=False)["summary"]
    out = [
        (
            f"COBOL project {project.root}: {s['programs']} programs, {s['lines']:,} lines, ~{s['tokens']:,} tokens, "
            f"{s['copybooks']} copybooks, {s['jcl_members']} JCL members, {s['data_files']} data files "
            f"(analyzed in {s['seconds']:.2f} s)"
        )
    ]
    if project.copy_dirs:
        out.append("copybook dirs: " + ", ".join(project.copy_dirs))
    for prog in project.programs[:max_programs]:
        out.append("")
        out += program_lines(prog)
    if len(project.programs) > max_programs:
        out.append(f"… {len(project.programs) - max_programs} more programs")
    links = [d for d in project.datasets() if d["file"]]
    if links:
        out.append("\nJCL links (job/step: program DD -> data set):")
        out += [f"  {d['job']}/{d['step']}: {d['program']} {d['dd']} ({d['file']}) -> {d['dsn']}" for d in links[:200]]
    matched = [d for d in project.data_files if d.matches]
    if matched:
        out.append("\nsample data files whose record length fits a layout:")
        out += [f"  {d.path} ({d.line_length or d.size} bytes/record): {', '.join(d.matches[:6])}" for d in matched]
    if project.errors:
        out.append("\nproblems: " + "; ".join(project.errors[:20]))
    return "\n".join(out)


def program_lines(prog: Program) -> list[str]:
    """A program's summary lines."""
    flags = [f for f, on in (("reads the date", prog.reads_date), ("ACCEPTs input", prog.accepts_input)) if on]
    out = [
        f"{prog.program_id} ({prog.path}, {prog.lines} lines, ~{prog.tokens:,} tokens"
        + (f"; {', '.join(flags)}" if flags else "")
        + ")"
    ]
    if prog.copybooks:
        missing = f" (not found: {', '.join(prog.copybooks_missing)})" if prog.copybooks_missing else ""
        out.append("  copybooks: " + ", ".join(prog.copybooks) + missing)
    for f in prog.files:
        out.append(
            f"  file {f.name} assign {f.assign} {f.organization.lower()}, record {f.record_length} bytes"
            + (f" ({', '.join(r.name for r in f.records)})" if f.records else "")
        )
    if prog.paragraphs:
        out.append(f"  paragraphs ({len(prog.paragraphs)}):")
        for p in prog.paragraphs:
            bits = []
            if p.performs:
                bits.append("performs " + ", ".join(p.performs))
            if p.gotos:
                bits.append("go to " + ", ".join(p.gotos))
            if p.calls:
                bits.append("calls " + ", ".join(p.calls))
            if p.io:
                bits.append("io " + ", ".join(p.io))
            out.append(
                f"    {p.name}{' SECTION' if p.is_section else ''} (line {p.line})"
                + (f": {'; '.join(bits)}" if bits else "")
            )
    if prog.calls:
        out.append("  calls programs: " + ", ".join(prog.calls))
    return out


def layout_text(prog: Program, f: FileDef) -> str:
    """One file's record layouts as a table: level, name, PIC/usage, offset, length."""
    out = [
        (
            f"{prog.program_id} file {f.name} (assign {f.assign}, {f.organization.lower()}), record length "
            f"{f.record_length} bytes"
        )
    ]
    for rec in f.records:
        out.append(f"{'level':<6}{'name':<32}{'picture / usage':<28}{'offset':>7}{'length':>7}")
        out += [_row(x, depth) for x, depth in _walk(rec, 0)]
    return "\n".join(out)


def record_text(rec: Field) -> str:
    """A working-storage record's layout as the same table."""
    return "\n".join(_row(x, depth) for x, depth in _walk(rec, 0))


def _walk(f: Field, depth: int) -> list[tuple[Field, int]]:
    out = [(f, depth)]
    for c in f.children:
        out += _walk(c, depth + 1)
    return out


def _row(f: Field, depth: int) -> str:
    pic = f.picture.text if f.picture else "(group)"
    if f.usage != "DISPLAY":
        pic += f" {f.usage}"
    if f.sign_separate:
        pic += " SIGN " + ("LEADING" if f.sign_leading else "TRAILING") + " SEPARATE"
    extra = []
    if f.occurs_max > 1:
        extra.append(f"OCCURS {f.occurs_max}")
    if f.redefines:
        extra.append(f"REDEFINES {f.redefines}")
    name = "  " * depth + f.name
    return f"{f.level:02d}    {name:<32}{pic:<28}{f.offset:>7}{f.size:>7}" + (f"  {' '.join(extra)}" if extra else "")
