"""Server-rendered SVG charts for the consoles (no chart library, no script).

Two shapes cover what people would rather look at than read: ``column_chart`` (a value per
day: spend, swaps) and ``bar_chart`` (a value per category: energy by time-of-use period, a
station's utilisation). Values are ints or Decimals; their words (``¥12.00``, ``35 kWh``) come
formatted from the caller, so money never becomes a float here: only the geometry does. Text is
escaped; every chart has a title and each bar a ``<title>`` with its exact figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from apps.web.svg import INK, OK

BAR = "#0062cc"
GRID = "#c3ccd8"
MUTED = "#2b3648"
TONES = {"": BAR, "ok": OK, "warn": "#c77700", "bad": "#b3161b", "muted": "#7a8699"}


@dataclass(frozen=True)
class Bar:
    label: str  # under a column / left of a bar
    value: int | Decimal
    text: str  # the value for people, e.g. "¥1,234.00"
    tone: str = ""  # "", ok, warn, bad, muted


def _ratio(value: int | Decimal, top: int | Decimal) -> float:
    return float(Decimal(value) / Decimal(top)) if top else 0.0


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def column_chart(*, bars: Sequence[Bar], title: str, empty: str, label_every: int = 1) -> str:
    """Columns over time, oldest left; the highest column's figure is written above it."""
    width, height, left, right, top, bottom = 640, 220, 12, 12, 28, 34
    parts = _open(width, height, title)
    top_value = max((bar.value for bar in bars), default=0)
    plot_h = height - top - bottom
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{GRID}" stroke-width="2"/>')
    if not bars or not top_value:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{top + plot_h / 2:.0f}" text-anchor="middle" font-size="16" '
            f'fill="{MUTED}">{escape(empty)}</text>'
        )
        parts.append("</svg>")
        return "\n".join(parts)
    slot = (width - left - right) / len(bars)
    gap = max(slot * 0.2, 2)
    peak_drawn = False
    for index, bar in enumerate(bars):
        h = plot_h * _ratio(bar.value, top_value)
        x = left + index * slot + gap / 2
        y = base - h
        colour = TONES.get(bar.tone, BAR)
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" height="{max(h, 0):.1f}" rx="3" fill="{colour}"/></g>'
        )
        if not peak_drawn and bar.value == top_value:
            peak_drawn = True
            anchor = "start" if index < len(bars) / 3 else ("end" if index > 2 * len(bars) / 3 else "middle")
            tx = x if anchor == "start" else (x + slot - gap if anchor == "end" else x + (slot - gap) / 2)
            parts.append(
                f'<text x="{tx:.1f}" y="{y - 8:.1f}" text-anchor="{anchor}" font-size="14" font-weight="700" '
                f'fill="{INK}">{escape(bar.text)}</text>'
            )
        if index % label_every == 0 or index == len(bars) - 1:
            parts.append(
                f'<text x="{x + (slot - gap) / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="13" '
                f'fill="{MUTED}">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(*, bars: Sequence[Bar], title: str, empty: str, maximum: int | Decimal | None = None) -> str:
    """Horizontal bars, one per category, with the label on the left and the figure on the right;
    ``maximum`` fixes the full length (e.g. 100 for percentages), else the longest bar is full."""
    row, width, top = 40, 640, 8
    height = top * 2 + row * max(len(bars), 1)
    label_w, text_w = 190, 130
    plot_w = width - label_w - text_w - 16
    parts = _open(width, height, title)
    full = maximum if maximum is not None else max((bar.value for bar in bars), default=0)
    if not bars:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2 + 5:.0f}" text-anchor="middle" font-size="16" '
            f'fill="{MUTED}">{escape(empty)}</text></svg>'
        )
        return "\n".join(parts)
    for index, bar in enumerate(bars):
        y = top + index * row
        w = plot_w * min(_ratio(bar.value, full), 1.0)
        colour = TONES.get(bar.tone, BAR)
        parts.append(f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>")
        parts.append(
            f'<text x="{label_w - 10}" y="{y + row / 2 + 5:.1f}" text-anchor="end" font-size="14" fill="{INK}">'
            f"{escape(bar.label)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 8}" width="{plot_w}" height="{row - 16}" rx="4" fill="#eef2f6"/>'
            f'<rect x="{label_w}" y="{y + 8}" width="{max(w, 0):.1f}" height="{row - 16}" rx="4" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{label_w + plot_w + 10}" y="{y + row / 2 + 5:.1f}" font-size="14" font-weight="700" '
            f'fill="{INK}">{escape(bar.text)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
