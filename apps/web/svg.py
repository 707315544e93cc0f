"""Server-rendered SVG: the corridor map with each station's stock (no chart library, no script).

Coordinates are projected equirectangularly around the stations' mean latitude (fine for a
corridor a few hundred kilometres long) into a fixed-width drawing; the road is the line through
the stations in corridor-km order. Stations are coloured by state: charged stock, low stock,
offline; the recommended ones carry their rank. Text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 360
PAD = 36
OK, LOW, OFF, ROAD, INK, YOU = "#0b7a3b", "#c77700", "#7a8699", "#9fb0c4", "#0b1220", "#0062cc"


@dataclass(frozen=True)
class MapStation:
    code: str
    name: str
    latitude: float
    longitude: float
    km: int | None
    ready: int
    online: bool
    rank: int | None = None
    href: str = ""


def _short(name: str) -> str:
    """A label that fits beside a dot: about 8 CJK characters or 16 Latin ones."""
    limit = 8 if any(ord(char) > 0x2E80 for char in name) else 16
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def corridor_map_svg(
    *, stations: Sequence[MapStation], here: tuple[float, float] | None, title: str, legend: dict[str, str]
) -> str:
    points = [(s.latitude, s.longitude) for s in stations] + ([here] if here else [])
    if not points:
        return ""
    mean_lat = sum(p[0] for p in points) / len(points)
    scale_x = math.cos(math.radians(mean_lat))
    xs = [p[1] * scale_x for p in points]
    ys = [-p[0] for p in points]
    span_x = max(max(xs) - min(xs), 1e-6)
    span_y = max(max(ys) - min(ys), 1e-6)
    inner = WIDTH - 2 * PAD
    scale = inner / max(span_x, span_y)
    height = max(int(span_y * scale) + 2 * PAD + 40, 200)
    off_x = PAD + (inner - span_x * scale) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return off_x + (lon * scale_x - min(xs)) * scale, PAD + (-lat - min(ys)) * scale

    parts = [
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    road = sorted((s for s in stations if s.km is not None), key=lambda s: s.km or 0)
    if len(road) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (project(s.latitude, s.longitude) for s in road))
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{ROAD}" stroke-width="6" '
            'stroke-linecap="round" stroke-linejoin="round"/>'
        )
    if here:
        x, y = project(*here)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{YOU}" stroke="#fff" stroke-width="3"/>')
    for station in sorted(stations, key=lambda s: s.rank is not None):
        x, y = project(station.latitude, station.longitude)
        colour = OFF if not station.online else (OK if station.ready >= 2 else LOW)
        radius = 12 if station.rank else 7
        label = f"{station.code} · {station.name}: {station.ready}"
        node = [f'<g data-station="{escape(station.code)}"><title>{escape(label)}</title>']
        node.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}" stroke="#fff" stroke-width="2"/>')
        if station.rank:
            node.append(
                f'<text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle" font-size="14" font-weight="700" '
                f'fill="#fff">{station.rank}</text>'
            )
            # The label on the side with room; ranks alternate above and below so neighbours do not collide.
            left = x > WIDTH / 2
            label_x = x - 16 if left else x + 16
            label_y = y - 16 if station.rank % 2 else y + 26
            node.append(
                f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="{"end" if left else "start"}" font-size="13" '
                f'font-weight="700" fill="{INK}" paint-order="stroke" stroke="#fff" stroke-width="4">'
                f"{escape(_short(station.name))} · {station.ready}</text>"
            )
        node.append("</g>")
        item = "".join(node)
        parts.append(f'<a href="{escape(station.href)}">{item}</a>' if station.href else item)
    y = height - 14
    x = PAD
    for colour, key in ((OK, "ok"), (LOW, "low"), (OFF, "offline"), (YOU, "here")):
        if key == "here" and not here:  # no position, no "you" in the legend (the consoles' network map)
            continue
        parts.append(f'<circle cx="{x + 6}" cy="{y - 4}" r="6" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}" font-size="12" fill="{INK}">{escape(legend.get(key, key))}</text>')
        x += (
            16
            + 12 * max(2, len(legend.get(key, key))) * (2 if any(ord(c) > 0x2E80 for c in legend.get(key, key)) else 1) // 2
            + 18
        )
    parts.append("</svg>")
    return "\n".join(parts)
