"""Dependency-free SVG bar and line charts: bar_chart(path, labels, values, title), line_chart(path, labels, series, title)."""

from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 400, 70, 20, 40, 70
COLOURS = ["#4f46e5", "#0891b2", "#d97706", "#16a34a", "#dc2626", "#7c3aed"]


def _scale(values):
    low = min(0.0, min(values))
    high = max(values) if max(values) != low else low + 1.0
    plot_h = H - PAD_T - PAD_B
    return lambda v: PAD_T + plot_h - (v - low) / (high - low) * plot_h, low, high


def _frame(title, labels, y, low, high, step_x, offset):
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
        f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for i in range(5):
        v = low + (high - low) * i / 4
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.4g}</text>')
    for i, label in enumerate(labels):
        x = PAD_L + offset + i * step_x
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {H - PAD_B + 16})">{escape(str(label))}</text>'
        )
    return parts


def bar_chart(path, labels, values, title=""):
    """Write a bar chart of values (numbers) per label to path (.svg)."""
    values = [float(v) for v in values]
    y, low, high = _scale(values)
    step = (W - PAD_L - PAD_R) / max(len(values), 1)
    parts = _frame(title, labels, y, low, high, step, step / 2)
    for i, v in enumerate(values):
        top, base = min(y(v), y(0)), max(y(v), y(0))
        parts.append(
            f'<rect x="{PAD_L + i * step + step * 0.15:.1f}" y="{top:.1f}" width="{step * 0.7:.1f}" '
            f'height="{base - top:.1f}" fill="{COLOURS[0]}"><title>{escape(str(labels[i]))}: {v:,}</title></rect>'
        )
    _write(path, parts)


def line_chart(path, labels, series, title=""):
    """Write a line chart to path (.svg); series maps a name to values aligned with labels."""
    data = {name: [float(v) for v in vals] for name, vals in series.items()}
    y, low, high = _scale([v for vals in data.values() for v in vals])
    step = (W - PAD_L - PAD_R) / max(len(labels) - 1, 1)
    parts = _frame(title, labels, y, low, high, step, 0)
    for k, (name, vals) in enumerate(data.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{PAD_L + i * step:.1f},{y(v):.1f}" for i, v in enumerate(vals))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        # The legend sits under the axis labels, one entry per series, so it never covers a line.
        parts.append(f'<text x="{PAD_L + 110 * k}" y="{H - 8}" fill="{colour}">■ {escape(name)}</text>')
    _write(path, parts)


def _write(path, parts):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join([*parts, "</svg>"]) + "\n")
