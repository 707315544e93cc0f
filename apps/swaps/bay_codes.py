"""A printable SVG sheet of a station's printed bay codes (segno draws the QR symbols).

Only bays without a controller screen get a printed code: bays with a screen show a rotating,
single-use code instead, and the sheet lists them without a symbol. A printed code never expires;
orders made with it are confirmed by staff at the bay.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import segno

from apps.assets.models import Bay, Station
from apps.swaps import qr

MODULE = 4  # px per QR module
QUIET = 4  # modules of quiet zone
COLUMNS = 3
CELL_WIDTH = 260
CAPTION = 64
MARGIN = 24
TITLE = 64


def _symbol_path(token: str, x: int, y: int) -> tuple[str, int]:
    """The dark modules of the token's QR code as one SVG path, and the symbol's size in px."""
    code = segno.make(token, error="m", micro=False)
    commands = []
    for row, modules in enumerate(code.matrix):
        for column, dark in enumerate(modules):
            if dark:
                commands.append(f"M{x + (column + QUIET) * MODULE} {y + (row + QUIET) * MODULE}h{MODULE}v{MODULE}h-{MODULE}z")
    size = (len(code.matrix) + 2 * QUIET) * MODULE
    return "".join(commands), size


def bay_codes_svg(*, station: Station, bays: list[Bay]) -> str:
    printed = [bay for bay in bays if not bay.has_screen]
    rows = max(1, -(-len(printed) // COLUMNS))
    cell_height = CELL_WIDTH + CAPTION
    width = 2 * MARGIN + COLUMNS * CELL_WIDTH
    screens = [str(bay.number) for bay in bays if bay.has_screen]
    height = 2 * MARGIN + TITLE + rows * cell_height + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 24}" font-family="sans-serif" font-size="22" font-weight="bold">'
        f"{escape(station.code)} {escape(station.name_zh)}</text>",
        f'<text x="{MARGIN}" y="{MARGIN + 48}" font-family="sans-serif" font-size="13">'
        f"{escape(station.name_en)} — printed bay codes: scan to join the queue; staff confirm at the bay.</text>",
    ]
    for index, bay in enumerate(printed):
        column, row = index % COLUMNS, index // COLUMNS
        x = MARGIN + column * CELL_WIDTH
        y = MARGIN + TITLE + row * cell_height
        path, size = _symbol_path(qr.printed_token_issue(bay_id=bay.pk).token, x, y)
        parts.append(f'<g id="bay-{bay.number}"><path d="{path}" fill="#000"/>')
        parts.append(
            f'<text x="{x + size // 2}" y="{y + size + 22}" text-anchor="middle" font-family="sans-serif" font-size="18">'
            f"{escape(station.code)} · 换电位 {bay.number} · bay {bay.number}</text>"
        )
        # The typed code, for phones that cannot read the symbol (qr.typed_code_parse).
        parts.append(
            f'<text x="{x + size // 2}" y="{y + size + 42}" text-anchor="middle" font-family="monospace" font-size="16" '
            f'font-weight="bold">{escape(station.code)}-{bay.number}</text></g>'
        )
    footer_y = height - MARGIN
    if not printed:
        parts.append(
            f'<text x="{MARGIN}" y="{MARGIN + TITLE + 30}" font-family="sans-serif" font-size="16">'
            "Every bay of this station has a screen: no printed codes.</text>"
        )
    if screens:
        parts.append(
            f'<text x="{MARGIN}" y="{footer_y}" font-family="sans-serif" font-size="12">'
            f"Bays with a screen (rotating codes, not printed): {', '.join(screens)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
