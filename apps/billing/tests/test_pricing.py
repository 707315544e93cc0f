"""Worked examples computed by hand for the corridor tariffs, and properties of every bill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.billing.calendars import corridor_calendar
from apps.billing.pricing import (
    BillingError,
    BillInput,
    ChargingInterval,
    CommissionTerms,
    LineKind,
    ReturnedBattery,
    StationPrices,
    price_bill,
    split_energy,
)
from apps.billing.tou import LOCAL_TIME, Period

D = Decimal
HEBEI = corridor_calendar("hebei_south")
SHANXI = corridor_calendar("shanxi")
# Flat price × the zone's multipliers (corridor.json): Hebei South flat 0.62, Shanxi flat 0.58.
HEBEI_PRICES = StationPrices(
    energy={
        Period.SHARP: D("1.2648"),
        Period.PEAK: D("1.0540"),
        Period.FLAT: D("0.6200"),
        Period.VALLEY: D("0.1860"),
        Period.DEEP_VALLEY: D("0.1488"),
    },
    service_per_kwh=D("0.45"),
)
SHANXI_PRICES = StationPrices(
    energy={
        Period.SHARP: D("1.1136"),
        Period.PEAK: D("0.9280"),
        Period.FLAT: D("0.5800"),
        Period.VALLEY: D("0.2610"),
        Period.DEEP_VALLEY: D("0.2088"),
    },
    service_per_kwh=D("0.45"),
)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TIME)


def interval(start: datetime, hours: int, kwh: str) -> ChargingInterval:
    return ChargingInterval(start, start + timedelta(hours=hours), D(kwh))


def energy_lines(bill) -> dict[Period, tuple[Decimal, int]]:
    return {line.period: (line.kwh, line.amount_fen) for line in bill.lines if line.kind == LineKind.ENERGY}


def test_charging_across_midnight_in_a_hebei_winter() -> None:
    # 22:30–02:30 at 60 kWh/h: 30 kWh peak (22:30–23), 180 kWh flat (23–02), 30 kWh valley (02–02:30).
    bill = price_bill(
        BillInput(
            delivered_kwh=D("270.000"),
            returned_kwh=D("54.000"),
            swap_at=local(2026, 12, 15, 9, 10),
            intervals=[interval(local(2026, 12, 14, 22, 30), 4, "240")],
            calendar=HEBEI,
            prices=HEBEI_PRICES,
            operator="operator",
            platform="platform",
            returned_battery=ReturnedBattery("A", "owner", trip_kwh=D("211.500"), rate=D("0.30")),
            commissions={
                "operator": CommissionTerms(rate=D("0.05"), min_fen=100, max_fen=2000),
                "owner": CommissionTerms(rate=D("0.03"), min_fen=50, max_fen=500),
            },
        )
    )
    assert bill.energy_kwh == D("216.000")
    # 216 kWh in the charging proportions 30 : 180 : 30.
    assert energy_lines(bill) == {
        Period.PEAK: (D("27.000"), 2846),  # 27 × 1.0540 = 28.458 → 28.46
        Period.FLAT: (D("162.000"), 10044),  # 162 × 0.62 = 100.44
        Period.VALLEY: (D("27.000"), 502),  # 27 × 0.186 = 5.022 → 5.02
    }
    service = next(line for line in bill.lines if line.kind == LineKind.SERVICE_ENERGY)
    assert (service.kwh, service.amount_fen) == (D("216.000"), 9720)  # 216 × 0.45
    usage = next(line for line in bill.lines if line.kind == LineKind.BATTERY_USAGE)
    assert (usage.beneficiary, usage.kwh, usage.amount_fen) == ("owner", D("211.500"), 6345)  # 211.5 × 0.30
    assert bill.total_fen == 2846 + 10044 + 502 + 9720 + 6345 == 29457
    # Commission: 5 % of the operator's 23,112 fen = 1,155.6 → 1,156; 3 % of 6,345 = 190.35 → 190.
    assert [(c.earner, c.share_fen, c.amount_fen) for c in bill.commissions] == [("operator", 23112, 1156), ("owner", 6345, 190)]
    assert bill.shares() == {"operator": 21956, "owner": 6155, "platform": 1346}


def test_charging_across_a_period_boundary_in_a_shanxi_summer() -> None:
    # Summer (2026 schedule): valley 10–15, flat 15–18. 14:30–15:30 at 100 kWh/h.
    bill = price_bill(
        BillInput(
            delivered_kwh=D("300.000"),
            returned_kwh=D("100.000"),
            swap_at=local(2026, 7, 10, 16, 0),
            intervals=[interval(local(2026, 7, 10, 14, 30), 1, "100")],
            calendar=SHANXI,
            prices=SHANXI_PRICES,
            operator="operator",
            platform="platform",
            # The returned battery's owner has set no rate: no usage fee line.
            returned_battery=ReturnedBattery("A", "owner", trip_kwh=D("190.000"), rate=None),
        )
    )
    assert energy_lines(bill) == {Period.FLAT: (D("100.000"), 5800), Period.VALLEY: (D("100.000"), 2610)}
    assert [line.kind for line in bill.lines] == [LineKind.ENERGY, LineKind.ENERGY, LineKind.SERVICE_ENERGY]
    assert bill.total_fen == 5800 + 2610 + 9000
    assert bill.commissions == ()


def test_charging_across_the_shanxi_calendar_change_of_2026_05_01() -> None:
    # 22:00 on 30 April (old notice: 22 peak, 23 flat) to 03:00 on 1 May (new: 0–2 flat, 2–3 valley).
    split = split_energy(
        D("150.000"), intervals=[interval(local(2026, 4, 30, 22, 0), 5, "150")], calendar=SHANXI, swap_at=local(2026, 5, 1, 8)
    )
    assert split == {Period.PEAK: D("30.000"), Period.FLAT: D("90.000"), Period.VALLEY: D("30.000")}


def test_charging_across_the_hebei_season_change_from_autumn_to_winter() -> None:
    # Autumn: 22–24 peak. Winter: 0–2 flat, 2–6 valley. 20 kWh an hour for five hours.
    split = split_energy(
        D("100.000"), intervals=[interval(local(2026, 11, 30, 22, 0), 5, "100")], calendar=HEBEI, swap_at=local(2026, 12, 1, 8)
    )
    assert split == {Period.PEAK: D("40.000"), Period.FLAT: D("40.000"), Period.VALLEY: D("20.000")}


def test_no_charging_history_takes_the_period_of_the_swap_time() -> None:
    bill = price_bill(
        BillInput(
            delivered_kwh=D("100.000"),
            returned_kwh=D("0"),
            swap_at=local(2026, 12, 15, 18, 0),  # Hebei winter sharp 17–19
            intervals=[],
            calendar=HEBEI,
            prices=StationPrices(energy=HEBEI_PRICES.energy),
            operator="operator",
            platform="platform",
        )
    )
    assert energy_lines(bill) == {Period.SHARP: (D("100.000"), 12648)}
    assert bill.total_fen == 12648


def test_returned_energy_above_delivered_is_refused() -> None:
    with pytest.raises(BillingError) as refused:
        price_bill(
            BillInput(
                delivered_kwh=D("100.000"),
                returned_kwh=D("100.001"),
                swap_at=local(2026, 12, 15, 18),
                intervals=[],
                calendar=HEBEI,
                prices=HEBEI_PRICES,
                operator="operator",
                platform="platform",
            )
        )
    assert refused.value.code == "returned_energy_exceeds_delivered"


def test_minimum_billable_energy_applies_to_the_service_fee() -> None:
    prices = StationPrices(
        energy=HEBEI_PRICES.energy, service_per_kwh=D("0.45"), service_per_swap=D("5"), min_billable_kwh=D("20")
    )
    bill = price_bill(
        BillInput(
            delivered_kwh=D("10.000"),
            returned_kwh=D("0"),
            swap_at=local(2026, 12, 15, 12),  # winter valley
            intervals=[],
            calendar=HEBEI,
            prices=prices,
            operator="operator",
            platform="platform",
        )
    )
    kinds = {line.kind: (line.kwh, line.amount_fen) for line in bill.lines}
    assert kinds[LineKind.SERVICE_ENERGY] == (D("20.000"), 900)
    assert kinds[LineKind.SERVICE_SWAP] == (None, 500)
    assert kinds[LineKind.ENERGY] == (D("10.000"), 186)


def test_commission_stays_within_its_minimum_and_maximum() -> None:
    def commission_on(delivered: str) -> int:
        bill = price_bill(
            BillInput(
                delivered_kwh=D(delivered),
                returned_kwh=D("0"),
                swap_at=local(2026, 12, 15, 12),
                intervals=[],
                calendar=HEBEI,
                prices=StationPrices(energy=HEBEI_PRICES.energy),
                operator="operator",
                platform="platform",
                commissions={"operator": CommissionTerms(rate=D("0.05"), min_fen=100, max_fen=2000)},
            )
        )
        return bill.commissions[0].amount_fen

    assert commission_on("10.000") == 100  # 186 fen × 5 % = 9 → raised to the minimum
    assert commission_on("1000.000") == 930  # 18,600 fen × 5 %
    assert commission_on("5000.000") == 2000  # 93,000 fen × 5 % = 4,650 → the maximum


def test_equal_thirds_place_the_last_thousandth_by_the_period_order() -> None:
    # Three equal hours (flat 9–10... in Hebei winter: 10 flat, 11 valley, then 7 peak) → 100 kWh / 3.
    intervals = [
        interval(local(2026, 12, 14, 7, 0), 1, "10"),  # peak
        interval(local(2026, 12, 14, 10, 0), 1, "10"),  # flat
        interval(local(2026, 12, 14, 11, 0), 1, "10"),  # valley
    ]
    split = split_energy(D("100.000"), intervals=intervals, calendar=HEBEI, swap_at=local(2026, 12, 15, 8))
    assert split == {Period.PEAK: D("33.334"), Period.FLAT: D("33.333"), Period.VALLEY: D("33.333")}


# --- Properties ---------------------------------------------------------------------------
start_times = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
intervals_strategy = st.lists(
    st.builds(
        lambda start, minutes, kwh: ChargingInterval(start, start + timedelta(minutes=minutes), kwh),
        start_times,
        st.integers(min_value=1, max_value=600),
        st.decimals(min_value=0, max_value=400, places=3),
    ),
    max_size=12,
)
readings = st.decimals(min_value=0, max_value=400, places=3)


@st.composite
def bill_inputs(draw) -> BillInput:
    delivered = draw(readings)
    returned = draw(st.decimals(min_value=0, max_value=delivered, places=3))
    zone = draw(st.sampled_from(["hebei", "shanxi"]))
    return BillInput(
        delivered_kwh=delivered,
        returned_kwh=returned,
        swap_at=draw(start_times),
        intervals=draw(intervals_strategy),
        calendar=HEBEI if zone == "hebei" else SHANXI,
        prices=HEBEI_PRICES if zone == "hebei" else SHANXI_PRICES,
        operator="operator",
        platform="platform",
        returned_battery=ReturnedBattery(
            "A", "owner", draw(readings), draw(st.none() | st.decimals(min_value=0, max_value=1, places=4))
        ),
        commissions={
            "operator": CommissionTerms(rate=D("0.05"), min_fen=100, max_fen=3000),
            "owner": CommissionTerms(rate=D("0.03")),
        },
    )


@settings(max_examples=300, deadline=None)
@given(bill_inputs())
def test_every_bill_adds_up(bill_input: BillInput) -> None:
    bill = price_bill(bill_input)
    assert bill.total_fen == sum(line.amount_fen for line in bill.lines)
    assert sum((kwh for _, kwh in bill.split), D(0)) == bill.energy_kwh
    assert all(line.amount_fen >= 0 for line in bill.lines)
    assert all(0 <= c.amount_fen <= c.share_fen for c in bill.commissions)
    assert sum(bill.shares().values()) == bill.total_fen
    assert price_bill(bill_input) == bill


@settings(max_examples=200, deadline=None)
@given(bill_inputs(), st.randoms(use_true_random=False))
def test_the_bill_never_depends_on_the_order_charging_intervals_arrive(bill_input: BillInput, rng) -> None:
    shuffled = list(bill_input.intervals)
    rng.shuffle(shuffled)
    reordered = BillInput(**{**bill_input.__dict__, "intervals": shuffled})
    assert price_bill(reordered) == price_bill(bill_input)
