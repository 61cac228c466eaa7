"""The SLA report's chart, drawn on the server as SVG (no CDN, no script): one stacked bar per severity.

Each bar splits the requests received in the period into answered in time, breached (answered late,
or unanswered past due) and the rest (not yet due, or closed without a response). Pure: figures in,
markup out; every text is escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from booking.core.sla import Severity
from booking.core.sla_report import ReportRow

WIDTH, BAR, GAP, LEFT, TOP = 640, 28, 14, 120, 64
COLOURS = {"in_time": "#1a7f37", "breached": "#b42318", "other": "#98a2b3"}
LABELS = {"in_time": "In time", "breached": "Breached", "other": "Not yet due / closed unanswered"}


def segments(row: ReportRow) -> dict[str, int]:
    """Disjoint parts of one bar (a logged breach later answered in time counts once, as breached)."""
    breached = row.breached
    in_time = max(0, min(row.responded_in_time, row.count - breached))
    return {"in_time": in_time, "breached": breached, "other": max(0, row.count - in_time - breached)}


def severity_chart(rows: list[tuple[int, ReportRow]], title: str) -> str:
    """An accessible SVG: ``role="img"``, a ``<title>`` and a ``<desc>`` with the same figures."""
    height = TOP + len(rows) * (BAR + GAP) + 24
    scale_max = max([row.count for _, row in rows] + [1])
    span = WIDTH - LEFT - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="t d" font-family="sans-serif" font-size="13">',
        f'<title id="t">{escape(title)}</title>',
        '<desc id="d">'
        + escape(
            "; ".join(
                f"severity {s}: {row.count} requests, {row.responded_in_time} in time, {row.breached} breached, "
                f"{row.open} awaiting a first response"
                for s, row in rows
            )
        )
        + "</desc>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="24" font-size="16" font-weight="bold" fill="#1d2433">{escape(title)}</text>',
    ]
    x = 16
    for key in ("in_time", "breached", "other"):
        parts.append(f'<rect x="{x}" y="36" width="12" height="12" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{x + 18}" y="46" fill="#1d2433">{escape(LABELS[key])}</text>')
        x += 18 + 8 * len(LABELS[key]) + 24
    for i, (severity, row) in enumerate(rows):
        y = TOP + i * (BAR + GAP)
        label = Severity(severity).label
        parts.append(f'<text x="16" y="{y + BAR * 0.65:.0f}" fill="#1d2433">{escape(label)}</text>')
        left = float(LEFT)
        for key, value in segments(row).items():
            if value:
                w = span * value / scale_max
                parts.append(
                    f'<rect x="{left:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{COLOURS[key]}">'
                    f"<title>{escape(LABELS[key])}: {value}</title></rect>"
                )
                left += w
        parts.append(f'<text x="{left + 8:.1f}" y="{y + BAR * 0.65:.0f}" fill="#1d2433">{row.count}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
