"""Scan-to-swap: every check answers its code and changes nothing; a good scan queues an order with
its battery reserved, its quote stored and held; Idempotency-Key replays the first answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import CertificationStatus, Membership, RealNameVerification, Role, VerificationStatus
from apps.assets.models import Battery, BayStatus, StationStatus, Vehicle
from apps.assets.tests.factories import PackStandardFactory, VehicleFactory
from apps.common.models import IdempotencyRecord
from apps.ledger import services as ledger_services
from apps.ledger.models import Account, AccountPurpose, Hold, HoldStatus, JournalTransaction
from apps.swaps.models import OrderLine, OrderState, OrderTransition, QrKind, SwapOrder
from apps.swaps.tests.factories import SwapWorld, api, swap_world, top_up

pytestmark = pytest.mark.django_db
SCAN = "/api/v1/swaps/scan"


def scan(world: SwapWorld, *, driver=None, token: str | None = None, plate: str | None = None, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    body = {"qr": token if token is not None else world.token(), "plate": plate if plate is not None else world.vehicle.plate}
    return api(driver or world.driver).post(SCAN, body, format="json", headers=headers)


def snapshot() -> dict[str, Any]:
    """Everything a refused scan must leave as it was."""
    return {
        "orders": list(SwapOrder.objects.order_by("pk").values_list("pk", "state", "battery_held")),
        "transitions": OrderTransition.objects.count(),
        "lines": OrderLine.objects.count(),
        "holds": list(Hold.objects.order_by("pk").values_list("pk", "status")),
        "journal": JournalTransaction.objects.count(),
        "balances": list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        "batteries": list(
            Battery.objects.order_by("pk").values_list("pk", "location", "station_id", "station_slot", "vehicle_id")
        ),
        "idempotency": IdempotencyRecord.objects.count(),
    }


def wallet(world: SwapWorld, purpose: str = AccountPurpose.WALLET) -> int:
    account = Account.objects.filter(organisation=world.carrier, purpose=purpose).first()
    return 0 if account is None else account.balance_fen


# --- Refusals, in the documented order ---------------------------------------------------
def _tampered(world: SwapWorld) -> dict[str, Any]:
    token = world.token()
    return {"token": token[:-1] + ("A" if token[-1] != "A" else "B")}


def _other_bay(world: SwapWorld) -> dict[str, Any]:
    token = world.token()
    head, bay, rest = token.split(".", 2)
    return {"token": f"{head}.{int(bay) + 1000}.{rest}"}


def _expired(world: SwapWorld) -> dict[str, Any]:
    return {"token": world.token(now=timezone.now() - timedelta(seconds=121))}


def _future(world: SwapWorld) -> dict[str, Any]:
    return {"token": world.token(now=timezone.now() + timedelta(minutes=5))}


def _not_verified(world: SwapWorld) -> dict[str, Any]:
    RealNameVerification.objects.filter(user=world.driver).update(status=VerificationStatus.PENDING)
    return {}


def _not_certified(world: SwapWorld) -> dict[str, Any]:
    world.carrier.certification_status = CertificationStatus.DEREGISTERED
    world.carrier.save()
    return {}


def _not_assigned(world: SwapWorld) -> dict[str, Any]:
    return {"plate": VehicleFactory(carrier=world.carrier).plate}


def _unknown_plate(world: SwapWorld) -> dict[str, Any]:
    return {"plate": "冀J99999D"}


def _other_carriers_vehicle(world: SwapWorld) -> dict[str, Any]:
    return {"plate": VehicleFactory().plate}


def _licence_class(world: SwapWorld) -> dict[str, Any]:
    RealNameVerification.objects.filter(user=world.driver).update(licence_class="C1")
    return {}


def _licence_expired(world: SwapWorld) -> dict[str, Any]:
    RealNameVerification.objects.filter(user=world.driver).update(licence_expires_on=date(2020, 1, 1))
    return {}


def _incompatible(world: SwapWorld) -> dict[str, Any]:
    standard = PackStandardFactory(code="HT-350-LFP", rated_kwh=Decimal("350.0"))
    Vehicle.objects.filter(pk=world.vehicle.pk).update(pack_standard=standard)
    return {}


def _offline(world: SwapWorld) -> dict[str, Any]:
    world.station.last_heartbeat_at = timezone.now() - timedelta(minutes=10)
    world.station.save()
    return {}


def _closed(world: SwapWorld) -> dict[str, Any]:
    world.station.status = StationStatus.MAINTENANCE
    world.station.save()
    return {}


def _bay_out(world: SwapWorld) -> dict[str, Any]:
    world.bay.status = BayStatus.OUT_OF_SERVICE
    world.bay.save()
    return {}


def _no_charged_battery(world: SwapWorld) -> dict[str, Any]:
    Battery.objects.filter(pk__in=[b.pk for b in world.stock]).update(charge_pct=Decimal("89.99"))
    return {}


def _all_batteries_taken(world: SwapWorld) -> dict[str, Any]:
    for _ in world.stock:
        driver, vehicle = world.add_driver()
        assert scan(world, driver=driver, plate=vehicle.plate).status_code == 201
    return {}


def _too_hot(world: SwapWorld) -> dict[str, Any]:
    Battery.objects.filter(pk__in=[b.pk for b in world.stock]).update(temperature_c=Decimal("61.0"))
    return {}


def _order_active(world: SwapWorld) -> dict[str, Any]:
    assert scan(world).status_code == 201
    return {}


def _vehicle_busy_with_another_driver(world: SwapWorld) -> dict[str, Any]:
    other, _vehicle = world.add_driver()
    from apps.assets.models import VehicleAssignment

    VehicleAssignment.objects.create(vehicle=world.vehicle, driver=other)
    assert scan(world, driver=other).status_code == 201
    return {}


def _limit_per_swap(world: SwapWorld) -> dict[str, Any]:
    Membership.objects.filter(user=world.driver, role=Role.DRIVER).update(limit_per_swap_fen=10_000)
    return {}


def _limit_per_day(world: SwapWorld) -> dict[str, Any]:
    Membership.objects.filter(user=world.driver, role=Role.DRIVER).update(limit_per_day_fen=10_000)
    return {}


def _poor(world: SwapWorld) -> dict[str, Any]:
    return {}


def _in_debt(world: SwapWorld) -> dict[str, Any]:
    ledger_services.order_clear(external_id="old-bill", payer=world.carrier, bill_shares={world.operator: 1_000})
    top_up(world.carrier, 500_000)
    return {}


REFUSALS: list[tuple[str, Callable[[SwapWorld], dict[str, Any]], int, str, int]] = [
    ("tampered", _tampered, 400, "qr_invalid", 500_000),
    ("unknown bay", _other_bay, 400, "qr_invalid", 500_000),
    ("garbage", lambda w: {"token": "https://example.com/not-a-bay"}, 400, "qr_invalid", 500_000),
    ("expired", _expired, 410, "qr_expired", 500_000),
    ("from the future", _future, 400, "qr_invalid", 500_000),
    ("plate", lambda w: {"plate": "ABC"}, 400, "plate_invalid", 500_000),
    ("not verified", _not_verified, 403, "driver_not_verified", 500_000),
    ("carrier", _not_certified, 403, "carrier_not_certified", 500_000),
    ("not assigned", _not_assigned, 403, "vehicle_not_assigned", 500_000),
    ("unknown plate", _unknown_plate, 403, "vehicle_not_assigned", 500_000),
    ("another carrier's", _other_carriers_vehicle, 403, "vehicle_not_assigned", 500_000),
    ("licence class", _licence_class, 403, "licence_class_insufficient", 500_000),
    ("licence expired", _licence_expired, 403, "licence_expired", 500_000),
    ("incompatible", _incompatible, 409, "vehicle_incompatible", 500_000),
    ("offline", _offline, 409, "station_offline", 500_000),
    ("closed", _closed, 409, "station_closed", 500_000),
    ("bay out of service", _bay_out, 409, "bay_out_of_service", 500_000),
    ("no charged battery", _no_charged_battery, 409, "no_battery_available", 500_000),
    ("all taken", _all_batteries_taken, 409, "no_battery_available", 500_000),
    ("too hot", _too_hot, 409, "no_battery_available", 500_000),
    ("order active", _order_active, 409, "order_active", 500_000),
    ("vehicle busy", _vehicle_busy_with_another_driver, 409, "order_active", 500_000),
    ("limit per swap", _limit_per_swap, 403, "limit_per_swap_exceeded", 500_000),
    ("limit per day", _limit_per_day, 403, "limit_per_day_exceeded", 500_000),
    ("insufficient funds", _poor, 402, "insufficient_funds", 10_000),
    ("debt", _in_debt, 402, "debt_outstanding", 0),
]


@pytest.mark.parametrize(("case", "setup", "status", "code", "wallet_fen"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_scan_answers_its_code_and_changes_nothing(case, setup, status: int, code: str, wallet_fen: int) -> None:
    world = swap_world(wallet_fen=wallet_fen)
    overrides = setup(world)
    before = snapshot()
    response = scan(world, token=overrides.get("token"), plate=overrides.get("plate"), key=f"refused-{case}")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert snapshot() == before


def test_checks_are_answered_in_the_documented_order() -> None:
    """Several checks fail at once: the first in the order answers."""
    world = swap_world()
    _offline(world)
    _no_charged_battery(world)
    _licence_expired(world)
    assert scan(world).json()["error"]["code"] == "licence_expired"
    RealNameVerification.objects.filter(user=world.driver).update(licence_expires_on=date(2031, 1, 1))
    assert scan(world).json()["error"]["code"] == "station_offline"


def test_a_used_token_is_refused_to_the_next_driver() -> None:
    world = swap_world()
    token = world.token()
    assert scan(world, token=token).status_code == 201
    other, vehicle = world.add_driver()
    before = snapshot()
    response = scan(world, driver=other, token=token, plate=vehicle.plate)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "qr_used"
    assert snapshot() == before


# --- A good scan --------------------------------------------------------------------------
def test_a_scan_queues_an_order_with_its_battery_reserved_and_its_quote_held() -> None:
    world = swap_world()
    response = scan(world)
    assert response.status_code == 201, response.json()
    body = response.json()
    order = SwapOrder.objects.get(pk=body["id"])
    assert order.state == OrderState.QUEUED
    assert order.battery_held
    assert order.reserved_battery_id in {b.pk for b in world.stock}
    assert order.expected_return_battery == world.vehicle_battery
    assert order.qr_kind == QrKind.SCREEN
    assert order.qr_nonce
    # The quote: B's energy (266.900 or 265.900) less A's last known 60.000, charged in the deep valley.
    delivered = order.reserved_battery.energy_kwh
    assert order.quote_delivered_kwh == delivered
    assert order.quote_returned_kwh == Decimal("60.000")
    energy = delivered - Decimal("60.000")
    lines = {line["kind"]: line for line in body["quote"]["lines"] if line["kind"] != "commission"}
    assert lines["energy"]["period"] == "deep_valley"
    assert lines["energy"]["kwh"] == f"{energy:.3f}"
    assert lines["service_energy"]["kwh"] == f"{energy:.3f}"
    # A's trip: handed out with 250.000, back with 60.000 → 190.000 kWh at 0.30.
    assert lines["battery_usage"] == {
        "kind": "battery_usage",
        "beneficiary": world.owner.code,
        "earner": None,
        "period": "",
        "kwh": "190.000",
        "unit_price": "0.30000",
        "amount": {"amount_fen": 5700, "currency": "CNY"},
        "base": None,
    }
    total = sum(line["amount"]["amount_fen"] for line in body["quote"]["lines"] if line["kind"] != "commission")
    assert body["quote"]["total"] == {"amount_fen": total, "currency": "CNY"} == body["hold"]
    assert order.quote_total_fen == total
    # The hold moved the quote from the wallet to the held account.
    assert order.hold is not None
    assert order.hold.status == HoldStatus.PENDING
    assert order.hold.amount_fen == total
    assert wallet(world) == 500_000 - total
    assert wallet(world, AccountPurpose.HELD) == total
    assert body["queue"] == {"position": 1, "orders_ahead": 0, "expected_wait_minutes": "0.0"}
    assert [(t["from_state"], t["to_state"]) for t in body["history"]] == [("", "requested"), ("requested", "queued")]


def test_the_queue_position_counts_the_orders_ahead_times_the_mean_swap_time() -> None:
    world = swap_world(stock=3)
    scan(world)
    driver, vehicle = world.add_driver()
    body = scan(world, driver=driver, plate=vehicle.plate).json()
    assert body["queue"] == {"position": 2, "orders_ahead": 1, "expected_wait_minutes": "5.0"}


def test_a_printed_code_is_never_used_up() -> None:
    world = swap_world()
    token = world.printed_token()
    first = scan(world, token=token)
    driver, vehicle = world.add_driver()
    second = scan(world, driver=driver, token=token, plate=vehicle.plate)
    assert first.status_code == second.status_code == 201
    orders = SwapOrder.objects.order_by("pk")
    assert [(o.qr_kind, o.qr_nonce, o.bay_id) for o in orders] == [(QrKind.PRINTED, None, world.printed_bay.pk)] * 2


def test_a_vehicle_without_a_battery_pays_for_all_the_energy() -> None:
    world = swap_world()
    Battery.objects.filter(pk=world.vehicle_battery.pk).update(location="in_transit", vehicle=None, vehicle_position=None)
    body = scan(world).json()
    assert body["expected_return_battery"] is None
    assert body["quote"]["returned_kwh"] == "0.000"
    assert "battery_usage" not in {line["kind"] for line in body["quote"]["lines"]}


def test_cancelled_orders_do_not_count_toward_the_daily_limit() -> None:
    world = swap_world(stock=3)
    first = scan(world).json()
    assert api(world.driver).post(f"/api/v1/swaps/{first['id']}/cancel").status_code == 200
    quote = first["quote"]["total"]["amount_fen"]
    Membership.objects.filter(user=world.driver, role=Role.DRIVER).update(limit_per_day_fen=quote)
    second = scan(world)
    assert second.status_code == 201, second.json()
    assert second.json()["quote"]["total"]["amount_fen"] == quote


# --- Idempotency-Key ---------------------------------------------------------------------
def test_a_retried_scan_with_the_same_key_replays_the_first_answer() -> None:
    world = swap_world()
    token = world.token()
    first = scan(world, token=token, key="phone-retry-1")
    again = scan(world, token=token, key="phone-retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert SwapOrder.objects.count() == 1
    assert Hold.objects.count() == 1


def test_the_same_key_with_another_body_is_refused() -> None:
    world = swap_world()
    assert scan(world, key="k1").status_code == 201
    before = snapshot()
    response = scan(world, key="k1")  # a new token: another request
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert snapshot() == before


def test_a_refusal_releases_the_key_for_a_retry() -> None:
    world = swap_world()
    world.station.last_heartbeat_at = None
    world.station.save()
    token = world.token()
    assert scan(world, token=token, key="k2").json()["error"]["code"] == "station_offline"
    world.station.last_heartbeat_at = timezone.now()
    world.station.save()
    assert scan(world, token=token, key="k2").status_code == 201


def test_keys_belong_to_their_user() -> None:
    world = swap_world()
    driver, vehicle = world.add_driver()
    assert scan(world, key="same").status_code == 201
    assert scan(world, driver=driver, plate=vehicle.plate, key="same").status_code == 201
    assert SwapOrder.objects.count() == 2


def test_scanning_needs_a_signed_in_driver() -> None:
    world = swap_world()
    response = api().post(SCAN, {"qr": world.token(), "plate": world.vehicle.plate}, format="json")
    assert response.status_code == 401
    assert not SwapOrder.objects.exists()
