"""Money and energy at the edges. The one place where a Decimal becomes integer fen.

Amounts in the ledger are integer fen (CNY minor units). Rates and energy are Decimal. No float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN_PER_YUAN = 100
KWH_QUANTUM = Decimal("0.001")


def to_fen(yuan: Decimal) -> int:
    """Round an amount in yuan to whole fen, half up (0.005 yuan -> 1 fen)."""
    if not isinstance(yuan, Decimal):
        raise TypeError(f"money must be Decimal, got {type(yuan).__name__}")
    return int((yuan * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kwh(value: Decimal | str | int) -> Decimal:
    """Energy as Decimal kWh with three decimals, as BMS readings are reported."""
    if isinstance(value, float):
        raise TypeError("energy must not be a float")
    return Decimal(value).quantize(KWH_QUANTUM, rounding=ROUND_HALF_UP)


def money_json(amount_fen: int, currency: str = "CNY") -> dict[str, int | str]:
    return {"amount_fen": amount_fen, "currency": currency}
