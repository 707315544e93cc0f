"""Template filters for money, energy and percentages (integers and Decimals only, never float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def yuan(fen: Any) -> str:
    """Integer fen as ``¥1,234.56`` (negative: ``-¥12.00``)."""
    if fen is None or fen == "":
        return "—"
    amount = int(fen)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    return f"{sign}¥{amount // 100:,}.{amount % 100:02d}"


@register.filter
def kwh(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value).quantize(Decimal('0.1'))} kWh"


@register.filter
def pct(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value).quantize(Decimal('1'))}%"


@register.filter
def minutes(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value).quantize(Decimal('1'))}"


@register.filter
def clamp_pct(value: Any) -> str:
    """A percentage for a CSS width: 0 to 100, whole numbers."""
    if value is None or value == "":
        return "0"
    number = max(Decimal(0), min(Decimal(100), Decimal(value)))
    return str(number.quantize(Decimal("1")))
