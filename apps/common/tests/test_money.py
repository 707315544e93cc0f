from decimal import Decimal

import pytest

from apps.common.money import kwh, to_fen


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [("0.005", 1), ("0.004", 0), ("12.345", 1235), ("12.344", 1234), ("-0.005", -1), ("374.00", 37400)],
)
def test_to_fen_rounds_half_up_once(yuan: str, fen: int) -> None:
    assert to_fen(Decimal(yuan)) == fen


def test_float_never_becomes_money() -> None:
    with pytest.raises(TypeError):
        to_fen(0.1)
    with pytest.raises(TypeError):
        kwh(0.1)


def test_energy_has_three_decimals() -> None:
    assert kwh("267.9004") == Decimal("267.900")
    assert kwh("0.0005") == Decimal("0.001")
