"""Energy deposits: a vehicle's first network battery (none to return) takes a deposit besides
the energy: held with the quote at scan, taken once at completion, released once when staff take
the battery back as the vehicle leaves the network. Refusals change nothing."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from apps.access import Actor
from apps.assets.models import Battery, BatteryLocation, PackStandard
from apps.assets.tests.factories import VehicleFactory
from apps.ledger.models import Account, AccountPurpose, Entry, Hold, HoldStatus, JournalTransaction, MovementType
from apps.ledger.services import hold_place
from apps.swaps.models import BatteryCustodyEvent, CustodyKind, EnergyDeposit, OrderLine, SwapOrder
from apps.swaps.services import queue_call_next, swap_confirm
from apps.swaps.tests.factories import (
    SwapWorld,
    api,
    reading_for,
    report_body,
    scanned,
    swap_world,
    vehicle_battery,
)

pytestmark = pytest.mark.django_db
SCAN = "/api/v1/swaps/scan"
DEPOSIT = 200_000


def balance(world: SwapWorld, purpose: str = AccountPurpose.WALLET) -> int:
    account = Account.objects.filter(organisation=world.carrier, purpose=purpose).first()
    return 0 if account is None else account.balance_fen


def first_battery_world(*, deposit: int = DEPOSIT, wallet_fen: int = 500_000) -> SwapWorld:
    """A world whose truck carries no battery yet (its first network battery is ahead), and whose
    pack standard's deposit is ``deposit``."""
    world = swap_world(wallet_fen=wallet_fen)
    PackStandard.objects.filter(pk=world.vehicle.pack_standard_id).update(energy_deposit_fen=deposit)
    Battery.objects.filter(pk=world.vehicle_battery.pk).update(
        location=BatteryLocation.IN_TRANSIT, vehicle=None, vehicle_position=None
    )
    return world


def report(world: SwapWorld, order: SwapOrder, **changes: Any):
    reading = reading_for(order, **changes)
    path = f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report"
    return world.controller().post(path, report_body(reading))


def swapping(world: SwapWorld) -> SwapOrder:
    order = scanned(world)
    staff = Actor.of(world.users["staff"])
    queue_call_next(actor=staff, station=world.station)
    swap_confirm(actor=staff, order=order)
    return order


def first_swap(world: SwapWorld) -> SwapOrder:
    order = swapping(world)
    response = report(world, order, returned_kwh=Decimal("0.000"))
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.state == "completed"
    return order


def deposit_transactions() -> list[tuple[str, int]]:
    """(external id, amount into the deposit account) of every energy-deposit transaction."""
    return list(
        Entry.objects.filter(account__purpose=AccountPurpose.ENERGY_DEPOSIT)
        .order_by("pk")
        .values_list("journal_transaction__external_id", "amount_fen")
    )


def reconciled() -> str:
    out = StringIO()
    call_command("reconcile_ledger", "--no-progress", stdout=out)
    return out.getvalue()


# --- Scan ----------------------------------------------------------------------------------
def test_the_first_battery_holds_the_quote_plus_the_deposit() -> None:
    world = first_battery_world()
    response = api(world.driver).post(SCAN, {"qr": world.token(), "plate": world.vehicle.plate}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    order = SwapOrder.objects.get(pk=body["id"])
    assert order.deposit_fen == DEPOSIT
    assert order.hold is not None
    assert order.hold.amount_fen == order.quote_total_fen + DEPOSIT
    assert body["deposit"] == {"amount_fen": DEPOSIT, "currency": "CNY"}
    assert body["hold"] == {"amount_fen": order.quote_total_fen + DEPOSIT, "currency": "CNY"}
    # The deposit is not part of the quote: its lines sum to the quote's total.
    lines = OrderLine.objects.filter(order=order, stage="quote").exclude(kind="commission")
    assert body["quote"]["total"]["amount_fen"] == order.quote_total_fen == sum(line.amount_fen for line in lines)
    assert balance(world) == 500_000 - order.quote_total_fen - DEPOSIT
    assert balance(world, AccountPurpose.HELD) == order.quote_total_fen + DEPOSIT
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == 0


def test_a_wallet_that_covers_the_quote_but_not_the_deposit_is_refused_and_nothing_changes() -> None:
    world = first_battery_world(deposit=500_000, wallet_fen=500_000)
    before = (
        list(SwapOrder.objects.values_list("pk")),
        list(Hold.objects.values_list("pk")),
        JournalTransaction.objects.count(),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        list(Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id")),
    )
    body = {"qr": world.token(), "plate": world.vehicle.plate}
    response = api(world.driver).post(SCAN, body, format="json")
    assert response.status_code == 402, response.json()
    assert response.json()["error"]["code"] == "insufficient_funds"
    after = (
        list(SwapOrder.objects.values_list("pk")),
        list(Hold.objects.values_list("pk")),
        JournalTransaction.objects.count(),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        list(Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id")),
    )
    assert after == before
    assert balance(world) == 500_000
    # The quote alone fits the wallet: without the deposit the same scan is accepted.
    PackStandard.objects.filter(pk=world.vehicle.pack_standard_id).update(energy_deposit_fen=0)
    accepted = api(world.driver).post(SCAN, {"qr": world.token(), "plate": world.vehicle.plate}, format="json")
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["deposit"] is None


# --- Completion ----------------------------------------------------------------------------
def test_the_first_swap_takes_the_deposit_once_however_often_the_report_comes() -> None:
    world = first_battery_world()
    order = swapping(world)
    reading = reading_for(order, returned_kwh=Decimal("0.000"))
    path = f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report"
    answers = [world.controller().post(path, report_body(reading)) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    order.refresh_from_db()
    assert order.state == "completed"
    bill = order.bill_total_fen
    assert bill is not None
    assert 0 < bill <= order.quote_total_fen

    [deposit] = EnergyDeposit.objects.all()
    assert (deposit.order_id, deposit.vehicle_id, deposit.carrier_id, deposit.amount_fen) == (
        order.pk,
        world.vehicle.pk,
        world.carrier.pk,
        DEPOSIT,
    )
    assert deposit.released_at is None
    assert deposit_transactions() == [(f"swap-order:{order.pk}:energy-deposit", DEPOSIT)]
    assert deposit.take_transaction.movement_type == MovementType.ENERGY_DEPOSIT
    # The hold paid the bill; the rest went back to the wallet, from which the deposit was taken.
    hold = Hold.objects.get(pk=order.hold_id)
    assert (hold.status, hold.captured_fen, hold.released_fen) == (
        HoldStatus.CAPTURED,
        bill,
        order.quote_total_fen + DEPOSIT - bill,
    )
    assert balance(world) == 500_000 - bill - DEPOSIT
    assert balance(world, AccountPurpose.HELD) == 0
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == DEPOSIT
    # The bill does not hold the deposit: its lines sum to it, and its transaction pays only earners.
    lines = OrderLine.objects.filter(order=order, stage="bill").exclude(kind="commission")
    assert bill == sum(line.amount_fen for line in lines)
    assert order.payment_transaction is not None
    payer_legs = Entry.objects.filter(journal_transaction=order.payment_transaction, account__organisation=world.carrier)
    assert list(payer_legs.values_list("account__purpose", "amount_fen")) == [(AccountPurpose.WALLET, -bill)]
    assert not Entry.objects.filter(
        journal_transaction=order.payment_transaction, account__purpose=AccountPurpose.ENERGY_DEPOSIT
    ).exists()
    # The battery is the vehicle's now; the order shows its deposit.
    delivered = Battery.objects.get(pk=order.reserved_battery_id)
    assert (delivered.location, delivered.vehicle_id) == (BatteryLocation.VEHICLE, world.vehicle.pk)
    detail = api(world.driver).get(f"/api/v1/swaps/{order.pk}").json()
    assert detail["deposit"] == {"amount_fen": DEPOSIT, "currency": "CNY"}
    assert detail["bill"]["total"] == {"amount_fen": bill, "currency": "CNY"}
    assert "no drift" in reconciled()


def test_the_carriers_wallet_movements_show_the_energy_deposit() -> None:
    world = first_battery_world()
    order = first_swap(world)
    movements = api(world.users["carrier_admin"]).get("/api/v1/wallet/movements").json()["results"]
    deposits = [movement for movement in movements if movement["movement_type"] == "energy_deposit"]
    assert [(m["external_id"], m["amount"]["amount_fen"]) for m in deposits] == [
        (f"swap-order:{order.pk}:energy-deposit", -DEPOSIT)
    ]


def test_a_swap_of_a_vehicle_with_a_battery_takes_no_deposit() -> None:
    world = swap_world()
    PackStandard.objects.filter(pk=world.vehicle.pack_standard_id).update(energy_deposit_fen=DEPOSIT)
    order = swapping(world)
    assert order.deposit_fen == 0
    assert order.hold is not None
    assert order.hold.amount_fen == order.quote_total_fen
    assert report(world, order).status_code == 200
    order.refresh_from_db()
    assert order.state == "completed"
    assert not EnergyDeposit.objects.exists()
    assert deposit_transactions() == []
    assert balance(world) == 500_000 - (order.bill_total_fen or 0)
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == 0


def test_a_cancelled_first_order_gives_the_whole_hold_back_and_takes_no_deposit() -> None:
    world = first_battery_world()
    order = scanned(world)
    response = api(world.driver).post(f"/api/v1/swaps/{order.pk}/cancel")
    assert response.status_code == 200, response.json()
    assert balance(world) == 500_000
    assert balance(world, AccountPurpose.HELD) == 0
    assert not EnergyDeposit.objects.exists()
    assert deposit_transactions() == []


def test_a_bill_that_used_the_deposits_share_of_the_hold_takes_what_is_left_and_flags_the_order() -> None:
    world = first_battery_world()
    order = swapping(world)
    assert order.hold is not None
    # The rest of the wallet is held by something else: only this order's hold can pay.
    hold_place(external_id="elsewhere", payer=world.carrier, amount_fen=balance(world))
    assert balance(world) == 0
    # The battery holds more than the quote said: the bill is above the quote.
    delivered = Battery.objects.get(pk=order.reserved_battery_id)
    response = report(world, order, returned_kwh=Decimal("0.000"), delivered_kwh=Decimal(delivered.rated_kwh))
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.state == "completed"
    bill = order.bill_total_fen or 0
    assert order.quote_total_fen < bill < order.quote_total_fen + DEPOSIT
    left = DEPOSIT - (bill - order.quote_total_fen)
    [deposit] = EnergyDeposit.objects.all()
    assert deposit.amount_fen == left
    assert (balance(world), balance(world, AccountPurpose.ENERGY_DEPOSIT)) == (0, left)
    assert order.review_required
    assert f"energy deposit: {left} of {DEPOSIT} fen taken" in order.review_reason
    assert "no drift" in reconciled()


# --- Leaving the network ---------------------------------------------------------------------
def leave_path(world: SwapWorld) -> str:
    return f"/api/v1/stations/{world.station.code}/vehicles/leave"


def free_slot(world: SwapWorld) -> int:
    taken = set(Battery.objects.filter(station=world.station).values_list("station_slot", flat=True))
    return max(set(range(1, world.station.slot_count + 1)) - taken)


def leave_body(world: SwapWorld, order: SwapOrder, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plate": world.vehicle.plate,
        "battery": order.reserved_battery.code,
        "slot": free_slot(world),
        "energy_kwh": "120.500",
    }
    body.update(changes)
    return body


def snapshot() -> Any:
    """Everything a refused release must leave as it was."""
    return (
        list(
            Battery.objects.order_by("pk").values_list("pk", "location", "station_id", "station_slot", "vehicle_id", "energy_kwh")
        ),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        JournalTransaction.objects.count(),
        list(EnergyDeposit.objects.order_by("pk").values_list("pk", "released_at", "release_transaction_id")),
        BatteryCustodyEvent.objects.count(),
        list(SwapOrder.objects.order_by("pk").values_list("pk", "state")),
    )


def test_leaving_takes_the_battery_back_and_releases_the_deposit_once() -> None:
    world = first_battery_world()
    order = first_swap(world)
    bill = order.bill_total_fen or 0
    staff = api(world.users["staff"])
    body = leave_body(world, order)
    response = staff.post(leave_path(world), body, format="json", headers={"Idempotency-Key": "leave-1"})
    assert response.status_code == 200, response.json()
    deposit = EnergyDeposit.objects.get()
    assert response.json() == {
        "vehicle": world.vehicle.plate,
        "carrier": world.carrier.code,
        "battery": order.reserved_battery.code,
        "station": world.station.code,
        "slot": body["slot"],
        "energy_kwh": "120.500",
        "deposit": {"amount_fen": DEPOSIT, "currency": "CNY"},
        "deposit_order": order.pk,
        "released_at": response.json()["released_at"],
    }
    # The battery is in the slot with its reading; the vehicle carries none.
    battery = Battery.objects.get(pk=order.reserved_battery_id)
    assert (battery.location, battery.station_id, battery.station_slot, battery.vehicle_id) == (
        BatteryLocation.STATION,
        world.station.pk,
        body["slot"],
        None,
    )
    assert battery.energy_kwh == Decimal("120.500")
    assert not Battery.objects.filter(vehicle=world.vehicle).exists()
    returned = BatteryCustodyEvent.objects.filter(battery=battery).order_by("at", "pk").last()
    assert returned is not None
    assert (returned.kind, returned.order_id, returned.station_id, returned.station_slot, returned.energy_kwh) == (
        CustodyKind.RETURNED,
        None,
        world.station.pk,
        body["slot"],
        Decimal("120.500"),
    )
    # The deposit is back in the wallet, once.
    assert deposit.released_at is not None
    assert deposit.released_by_id == world.users["staff"].pk
    assert (deposit.returned_battery_id, deposit.returned_station_id) == (battery.pk, world.station.pk)
    assert deposit_transactions() == [
        (f"swap-order:{order.pk}:energy-deposit", DEPOSIT),
        (f"energy-deposit:{deposit.pk}:release", -DEPOSIT),
    ]
    assert balance(world) == 500_000 - bill
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == 0

    # A retry with the same key replays the answer; another request is refused; nothing moves.
    before = snapshot()
    again = staff.post(leave_path(world), body, format="json", headers={"Idempotency-Key": "leave-1"})
    assert (again.status_code, again.json()) == (200, response.json())
    other = staff.post(leave_path(world), body, format="json", headers={"Idempotency-Key": "leave-2"})
    assert other.status_code == 409, other.json()
    assert other.json()["error"]["code"] == "vehicle_carries_no_battery"
    assert snapshot() == before
    assert "no drift" in reconciled()


def _no_battery(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    other = VehicleFactory(carrier=world.carrier, pack_standard=world.vehicle.pack_standard)
    return {"plate": other.plate}


def _not_the_vehicles_battery(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    in_station = Battery.objects.filter(station=world.station).order_by("pk").first()
    assert in_station is not None
    return {"battery": in_station.code}


def _no_deposit(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    other = VehicleFactory(carrier=world.carrier, pack_standard=world.vehicle.pack_standard)
    carried = vehicle_battery(other, owner=world.owner, energy=Decimal("80.000"))
    return {"plate": other.plate, "battery": carried.code}


def _slot_occupied(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    in_station = Battery.objects.filter(station=world.station).order_by("pk").first()
    assert in_station is not None
    return {"slot": in_station.station_slot}


def _slot_missing(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    return {"slot": world.station.slot_count + 1}


def _order_active(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    scanned(world)  # the vehicle queues for a swap of the battery it carries
    return {}


def _unknown_plate(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    return {"plate": "京A12345"}


def _reading_too_high(world: SwapWorld, order: SwapOrder) -> dict[str, Any]:
    return {"energy_kwh": "999.000"}


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        (_no_battery, 409, "vehicle_carries_no_battery"),
        (_not_the_vehicles_battery, 409, "battery_not_in_vehicle"),
        (_no_deposit, 409, "deposit_not_held"),
        (_slot_occupied, 409, "slot_occupied"),
        (_slot_missing, 400, "slot_invalid"),
        (_order_active, 409, "order_active"),
        (_unknown_plate, 404, "vehicle_not_found"),
        (_reading_too_high, 400, "reading_out_of_range"),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_a_refused_release_answers_its_code_and_changes_nothing(setup, status: int, code: str) -> None:
    world = first_battery_world()
    order = first_swap(world)
    body = leave_body(world, order, **setup(world, order))
    before = snapshot()
    response = api(world.users["staff"]).post(leave_path(world), body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert snapshot() == before
    assert EnergyDeposit.objects.get().released_at is None
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == DEPOSIT


def test_a_battery_back_without_a_deposit_taken_leaves_the_vehicle_free_to_take_a_first_battery_again() -> None:
    world = first_battery_world()
    order = first_swap(world)
    response = api(world.users["staff"]).post(leave_path(world), leave_body(world, order), format="json")
    assert response.status_code == 200, response.json()
    # The vehicle comes back to the network later: its first battery takes a new deposit.
    second = first_swap(world)
    assert second.deposit_fen == DEPOSIT
    assert EnergyDeposit.objects.filter(released_at__isnull=True).get().order_id == second.pk
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == DEPOSIT
    assert "no drift" in reconciled()


def test_a_vehicle_whose_deposit_is_still_held_deposits_nothing_more() -> None:
    world = first_battery_world()
    order = first_swap(world)
    # The battery left the vehicle by another way (not handed back through the API).
    Battery.objects.filter(pk=order.reserved_battery_id).update(
        location=BatteryLocation.IN_TRANSIT, vehicle=None, vehicle_position=None
    )
    again = first_swap(world)
    assert again.deposit_fen == 0
    assert again.hold is not None
    assert again.hold.amount_fen == again.quote_total_fen
    assert EnergyDeposit.objects.get().order_id == order.pk
    assert balance(world, AccountPurpose.ENERGY_DEPOSIT) == DEPOSIT
