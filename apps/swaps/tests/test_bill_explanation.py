"""The bill explained line by line: the kWh split by the delivered battery's charging intervals
(or the swap time's period without history), unit prices with their versions, amounts with their
rounding, beneficiaries, the commission lines, and the quote against the bill. Computed by hand
for the corridor's hebei_south spring windows (flat 0-3, 7-11, 15-16; valley 3-7, 11-12; deep
valley 12-15; peak 16-24) and the test tariff (peak 1.0540, flat 0.6200, valley 0.1860, deep
valley 0.1488 CNY/kWh; service 0.45 CNY/kWh; usage 0.30 CNY/kWh; commission 5 %)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework import serializers

from apps.billing.models import BatteryRate, ChargingInterval, StationTariff
from apps.billing.tou import LOCAL_TIME
from apps.swaps.apis.explanation import BillExplanationSerializer
from apps.swaps.models import BatteryCustodyEvent, CustodyKind, OrderLine, SwapOrder
from apps.swaps.tests.factories import SwapWorld, advanced, api, swap_world

pytestmark = pytest.mark.django_db


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TIME)


def charged_across_periods(world: SwapWorld) -> None:
    """The first battery left a vehicle at midnight on 10 March 2025 (an older interval before it
    does not count), then charged 40 kWh over 10:30-12:30 and 30 kWh over 15:00-16:30."""
    battery = world.stock[0]
    ChargingInterval.objects.filter(battery=battery).delete()
    ChargingInterval.objects.create(
        battery=battery, station=world.station, started_at=local(2025, 3, 9, 12), ended_at=local(2025, 3, 9, 14), kwh=50
    )
    BatteryCustodyEvent.objects.create(
        battery=battery,
        kind=CustodyKind.RETURNED,
        at=local(2025, 3, 10, 0),
        station=world.station,
        station_slot=battery.station_slot,
        energy_kwh=40,
    )
    ChargingInterval.objects.create(
        battery=battery,
        station=world.station,
        started_at=local(2025, 3, 10, 10, 30),
        ended_at=local(2025, 3, 10, 12, 30),
        kwh=Decimal("40.000"),
    )
    ChargingInterval.objects.create(
        battery=battery,
        station=world.station,
        started_at=local(2025, 3, 10, 15),
        ended_at=local(2025, 3, 10, 16, 30),
        kwh=Decimal("30.000"),
    )


def explained(world: SwapWorld, order: SwapOrder, who: str = "driver", language: str = "en") -> dict[str, Any]:
    user = world.driver if who == "driver" else world.users[who]
    response = api(user).get(f"/api/v1/swaps/{order.pk}/bill/explanation", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.json()
    return response.json()


def test_energy_lines_are_split_by_the_charging_intervals_and_explained() -> None:
    world = swap_world(stock=1)
    charged_across_periods(world)
    order = advanced(world, "completed")
    bill = explained(world, order)["bill"]

    # 265.900 kWh handed out less 55.500 back: 210.400 kWh, shared 30 : 10 : 20 : 10 (flat, peak,
    # valley, deep valley) of the 70 kWh charged since the battery left a vehicle; the one
    # 0.001 kWh left after the floors goes to flat (largest remainder).
    assert (bill["delivered_kwh"], bill["returned_kwh"], bill["energy_kwh"]) == ("265.900", "55.500", "210.400")
    assert bill["energy_basis"] == "charging_history"
    assert bill["reproduced"] is True
    charging = bill["charging"]
    assert charging["since"] == "2025-03-09T16:00:00Z"
    assert [(i["started_at"], i["kwh"]) for i in charging["intervals"]] == [
        ("2025-03-10T02:30:00Z", "40.000"),
        ("2025-03-10T07:00:00Z", "30.000"),
    ]
    assert [(p["period"], p["kwh"]) for p in charging["intervals"][0]["by_period"]] == [
        ("flat", "10.000"),
        ("valley", "20.000"),
        ("deep_valley", "10.000"),
    ]
    assert [(p["period"], p["kwh"]) for p in charging["intervals"][1]["by_period"]] == [("peak", "10.000"), ("flat", "20.000")]
    assert [(p["period"], p["kwh"], p["share_pct"]) for p in charging["by_period"]] == [
        ("peak", "10.000", "14.29"),
        ("flat", "30.000", "42.86"),
        ("valley", "20.000", "28.57"),
        ("deep_valley", "10.000", "14.29"),
    ]
    energy = [line for line in bill["lines"] if line["kind"] == "energy"]
    assert [(line["period"], line["kwh"], line["unit_price"], line["amount"]["amount_fen"]) for line in energy] == [
        ("peak", "30.057", "1.05400", 3168),  # 31.680078
        ("flat", "90.172", "0.62000", 5591),  # 55.90664
        ("valley", "60.114", "0.18600", 1118),  # 11.181204
        ("deep_valley", "30.057", "0.14880", 447),  # 4.4724816
    ]
    flat = energy[1]
    assert (flat["exact_amount"], flat["rounding_fen"], flat["rule"]) == ("55.906640", "+0.3360", "half_up_to_fen")
    assert flat["derivation"] == (
        "90.172 kWh of the 210.400 kWh billed: the flat share (42.86 %) of the 70.000 kWh the station charged into "
        f"{world.stock[0].code} in 2 intervals."
    )
    tariff = StationTariff.objects.get(station=world.station)
    assert flat["price_source"] == {
        "kind": "station_tariff",
        "id": tariff.pk,
        "effective_from": "2024-12-31T16:00:00Z",
        "scope": None,
        "health_grade": None,
    }
    assert flat["beneficiary"] == {"code": world.operator.code, "name": world.operator.name}

    service, usage = bill["lines"][4], bill["lines"][5]
    assert (service["kind"], service["kwh"], service["amount"]["amount_fen"]) == ("service_energy", "210.400", 9468)
    rate = BatteryRate.objects.get(owner=world.owner)
    assert (usage["kind"], usage["kwh"], usage["amount"]["amount_fen"]) == ("battery_usage", "194.500", 5835)
    assert usage["price_source"]["id"] == rate.pk
    assert usage["price_source"]["scope"] == "owner"
    assert usage["beneficiary"]["code"] == world.owner.code
    assert usage["derivation"] == (
        f"{world.vehicle_battery.code} delivered 194.500 kWh on this trip: 250.000 kWh at its hand-out less 55.500 kWh at return."
    )
    assert bill["total"]["amount_fen"] == 3168 + 5591 + 1118 + 447 + 9468 + 5835 == order.bill_total_fen

    # Of which, platform commission: 5 % of each earner's share, not added to the total.
    commissions = {c["earner"]["code"]: c for c in bill["commissions"]}
    operator_share = 3168 + 5591 + 1118 + 447 + 9468
    assert commissions[world.operator.code]["base"]["amount_fen"] == operator_share
    assert commissions[world.operator.code]["amount"]["amount_fen"] == 990  # 989.60
    assert commissions[world.owner.code]["amount"]["amount_fen"] == 292  # 291.75
    assert commissions[world.owner.code]["beneficiary"]["code"] == world.platform.code
    assert commissions[world.owner.code]["contract"]["effective_from"] == "2025-01-01"
    stored = OrderLine.objects.filter(order=order, stage="bill", kind="commission")
    assert sorted(line.amount_fen for line in stored) == [292, 990]


def test_without_charging_history_the_swap_times_period_takes_the_energy() -> None:
    world = swap_world(stock=1)
    ChargingInterval.objects.filter(battery=world.stock[0]).delete()
    order = advanced(world, "completed")
    bill = explained(world, order)["bill"]
    assert bill["energy_basis"] == "swap_time_period"
    assert bill["charging"]["intervals"] == []
    period = bill["calendar"]["swap_time_period"]
    [energy] = [line for line in bill["lines"] if line["kind"] == "energy"]
    assert (energy["period"], energy["kwh"]) == (period, bill["energy_kwh"])
    assert energy["derivation"].startswith("No charging history: the swap time's period (")
    assert bill["reproduced"] is True


def test_the_words_are_chinese_by_default() -> None:
    world = swap_world(stock=1)
    charged_across_periods(world)
    order = advanced(world, "completed")
    response = api(world.driver).get(f"/api/v1/swaps/{order.pk}/bill/explanation")
    bill = response.json()["bill"]
    flat = next(line for line in bill["lines"] if line["period"] == "flat")
    assert (flat["title"], flat["period_label"]) == ("电费", "平段")
    assert flat["derivation"] == (
        f"计费电量 210.400 kWh 中的 90.172 kWh：本站为 {world.stock[0].code} 分 2 段共充入 70.000 kWh，其中平段占 42.86 %。"
    )
    assert bill["commissions"][0]["title"] == "其中：平台佣金"


def test_the_quote_is_explained_and_compared_with_the_bill() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    body = explained(world, order)
    assert body["bill"] is None
    assert body["quote"]["reproduced"] is True
    assert body["quote"]["commissions"] == []
    assert body["comparison"]["bill"] is None
    assert body["comparison"]["quote"]["amount_fen"] == order.quote_total_fen


def test_a_bill_beyond_the_tolerance_shows_the_difference_and_the_review_flag() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    body = explained(world, order)
    comparison = body["comparison"]
    quote, bill = order.quote_total_fen, order.bill_total_fen
    assert bill is not None
    assert comparison["difference"]["amount_fen"] == bill - quote
    assert comparison["tolerance_pct"] == "10"
    assert comparison["difference_pct"] == str((Decimal(bill - quote) * 100 / quote).quantize(Decimal("0.01")))
    assert comparison["beyond_tolerance"] is order.review_required is False

    # A much smaller swap than quoted: the order is flagged, and the explanation says so.
    other = swap_world()
    flagged = advanced(other, "swapping")
    from apps.swaps.services import swap_report
    from apps.swaps.tests.factories import reading_for

    swap_report(
        credential=other.credential,
        order=flagged,
        reading=reading_for(flagged, delivered_kwh=Decimal("100.000")),
        payload={"small": True},
    )
    flagged.refresh_from_db()
    comparison = explained(other, flagged)["comparison"]
    assert flagged.review_required is True
    assert comparison["beyond_tolerance"] is True
    assert comparison["review_required"] is True
    assert comparison["review_reason"] == flagged.review_reason


def test_a_battery_owner_sees_only_its_own_lines_and_nothing_of_the_driver() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    response = api(world.users["owner_admin"]).get(f"/api/v1/swaps/{order.pk}/bill/explanation")
    body = response.json()
    assert body["view"] == "owner"
    bill = body["bill"]
    assert [line["kind"] for line in bill["lines"]] == ["battery_usage"]
    assert [c["earner"]["code"] for c in bill["commissions"]] == [world.owner.code]
    assert (bill["charging"], bill["calendar"]) == (None, None)
    assert [line["kind"] for line in body["quote"]["lines"]] == ["battery_usage"]
    content = response.content.decode()
    for private in (world.driver.display_name, world.driver.phone, world.vehicle.plate, world.carrier.code):
        assert private not in content


def _shape(serializer: serializers.Serializer[Any], data: Any, path: str = "") -> None:
    """Every key of the body is a declared field and every declared field is in the body."""
    assert set(data) == set(serializer.fields), path
    for name, field in serializer.fields.items():
        value = data[name]
        if value is None:
            continue
        if isinstance(field, serializers.ListSerializer):
            for item in value:
                _shape(field.child, item, f"{path}.{name}[]")
        elif isinstance(field, serializers.Serializer):
            _shape(field, value, f"{path}.{name}")


def test_the_answer_has_the_schemas_shape() -> None:
    world = swap_world(stock=1)
    charged_across_periods(world)
    order = advanced(world, "completed")
    body = explained(world, order)
    serializer = BillExplanationSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    _shape(BillExplanationSerializer(), body)


def test_the_endpoint_is_in_the_openapi_schema() -> None:
    world = swap_world()
    response = api(world.driver).get("/api/schema/", {"format": "json"})
    schema = response.json()
    operation = schema["paths"]["/api/v1/swaps/{order_id}/bill/explanation"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/BillExplanation")
    assert "404" in operation["responses"]
    assert "ExplainedLine" in schema["components"]["schemas"]


def test_explaining_changes_nothing() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    before = list(OrderLine.objects.order_by("pk").values()), list(SwapOrder.objects.values())
    explained(world, order)
    explained(world, order, "owner_admin")
    assert (list(OrderLine.objects.order_by("pk").values()), list(SwapOrder.objects.values())) == before


def test_an_order_cancelled_before_the_swap_explains_its_quote_only() -> None:
    from apps.access import Actor
    from apps.swaps.services import swap_cancel

    world = swap_world()
    order = advanced(world, "queued")
    swap_cancel(actor=Actor.of(world.driver), order=order)
    body = explained(world, order)
    assert body["state"] == "cancelled"
    assert body["bill"] is None
    assert body["quote"]["total"]["amount_fen"] == order.quote_total_fen
    assert body["quote"]["reproduced"] is True
    assert (body["comparison"]["bill"], body["comparison"]["beyond_tolerance"]) == (None, None)
