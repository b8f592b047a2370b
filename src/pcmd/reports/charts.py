"""Small SVG charts drawn on the server: no chart library and no CDN, so pages work offline.

Each bar/point carries its value as text too (a chart is read on a phone in the sun, and by
screen readers), and the status colour is repeated in words by the page around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

COLOURS = {"met": "#1b7f3b", "not_met": "#b3261e", "no_target": "#5b6475", "no_data": "#b8bec9"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    status: str
    shown: str  # the value as the page writes it (Vietnamese separators)
    href: str | None = None


def bar_chart(bars: Sequence[Bar], *, target: float | None = None, title: str = "") -> str:
    """Horizontal bars, one per commune (say), with an optional target line."""
    row, left, width, right = 22, 170, 260, 70
    height = row * len(bars) + 24
    top = max([b.value or 0 for b in bars] + [target or 0, 1])
    scale = width / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {left + width + right} {height}" aria-label="{escape(title)}">'
    ]
    for i, bar in enumerate(bars):
        y = 8 + i * row
        length = (bar.value or 0) * scale
        label = escape(bar.label if len(bar.label) <= 26 else bar.label[:25] + "…")
        rect = (
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{row - 6}" '
            f'fill="{COLOURS.get(bar.status, "#5b6475")}"><title>{escape(bar.label)}: '
            f"{escape(bar.shown)}</title></rect>"
        )
        if bar.href:
            rect = f'<a href="{escape(bar.href)}">{rect}</a>'
        parts.append(
            f'<text x="{left - 6}" y="{y + row - 10}" text-anchor="end" font-size="12">'
            f"{label}</text>"
            f"{rect}"
            f'<text x="{left + length + 4:.1f}" y="{y + row - 10}" font-size="12">'
            f"{escape(bar.shown)}</text>"
        )
    if target is not None:
        x = left + target * scale
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="2" y2="{height - 14}" stroke="#1d2433" '
            f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{height - 2}" font-size="11" '
            f'text-anchor="middle">{target:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(
    points: Sequence[tuple[str, float | None, str]],
    *,
    target: float | None = None,
    title: str = "",
) -> str:
    """Columns by period (e.g. quarters): (period label, value, value as written)."""
    width, height, bottom, col = 320, 140, 22, 320 / max(len(points), 1)
    top = max([p[1] or 0 for p in points] + [target or 0, 1])
    scale = (height - bottom - 16) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
    ]
    for i, (label, value, shown) in enumerate(points):
        x = i * col + col * 0.15
        h = (value or 0) * scale
        y = height - bottom - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{col * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#0b5cad"><title>{escape(label)}: {escape(shown)}</title></rect>'
            f'<text x="{x + col * 0.35:.1f}" y="{height - 6}" font-size="10" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
        if value is not None:
            parts.append(
                f'<text x="{x + col * 0.35:.1f}" y="{y - 3:.1f}" font-size="10" '
                f'text-anchor="middle">{escape(shown)}</text>'
            )
    if target is not None:
        y = height - bottom - target * scale
        parts.append(
            f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b3261e" '
            'stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
