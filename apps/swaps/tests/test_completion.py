"""Completion: the controller's report bills, clears and moves the batteries in one transaction;
impossible readings make the order abnormal with the reason and move nothing; a replay gets the
same answer; staff resolve abnormal orders; completed orders settle with the statements."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import Membership, Role
from apps.assets.models import Battery, BatteryLocation
from apps.billing.calendars import corridor_calendar
from apps.ledger import services as ledger_services
from apps.ledger.models import Account, AccountPurpose, Debt, HoldStatus, JournalTransaction
from apps.swaps import events, services
from apps.swaps.models import (
    BatteryCustodyEvent,
    ControllerCommand,
    ControllerReport,
    CustodyKind,
    OrderLine,
    OrderState,
    SwapOrder,
)
from apps.swaps.tests.factories import SwapWorld, advanced, api, reading_for, report_body, scanned, swap_world

pytestmark = pytest.mark.django_db


def billed(order: SwapOrder) -> int:
    assert order.bill_total_fen is not None
    return order.bill_total_fen


def delivered_kwh(order: SwapOrder) -> Decimal:
    assert order.delivered_kwh is not None
    return order.delivered_kwh


def balance(organisation, purpose: str) -> int:
    account = Account.objects.filter(organisation=organisation, purpose=purpose).first()
    return 0 if account is None else account.balance_fen


def report(world: SwapWorld, order: SwapOrder, **changes):
    reading = reading_for(order, **changes)
    return world.controller().post(f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report", report_body(reading))


def test_a_report_bills_clears_and_moves_the_batteries() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    delivered, returned = order.reserved_battery, world.vehicle_battery
    slot = delivered.station_slot
    response = report(world, order)
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert not order.battery_held
    assert response.json()["outcome"] == "completed"
    assert response.json()["bill"] == {"amount_fen": order.bill_total_fen, "currency": "CNY"}

    # The bill: B's reading less A's, A's trip (250.000 at hand-out, 55.500 back) at its rate.
    energy = delivered_kwh(order) - Decimal("55.500")
    bill = {line.kind: line for line in OrderLine.objects.filter(order=order, stage="bill")}
    assert bill["energy"].kwh == energy
    assert bill["energy"].period == "deep_valley"
    assert bill["battery_usage"].kwh == Decimal("194.500")
    assert bill["battery_usage"].amount_fen == 5835
    assert order.bill_total_fen == sum(line.amount_fen for kind, line in bill.items() if kind != "commission")

    # The money: the hold captured up to the bill, the rest back in the wallet; the earners paid.
    hold = order.hold
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CAPTURED
    assert hold.captured_fen == min(order.bill_total_fen, order.quote_total_fen)
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000 - billed(order)
    assert balance(world.carrier, AccountPurpose.HELD) == 0
    commission = {
        line.earner_id: line.amount_fen for line in OrderLine.objects.filter(order=order, stage="bill", kind="commission")
    }
    operator_lines = sum(
        line.amount_fen for line in bill.values() if line.beneficiary_id == world.operator.pk and line.kind != "commission"
    )
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == operator_lines - commission[world.operator.pk]
    assert balance(world.owner, AccountPurpose.RECEIVABLE) == 5835 - commission[world.owner.pk]
    assert balance(world.platform, AccountPurpose.PLATFORM_COMMISSION) == sum(commission.values())
    assert order.payment_transaction.external_id == f"swap-order:{order.pk}"

    # The batteries: B in the vehicle, A in the slot B left; readings and custody.
    delivered.refresh_from_db()
    returned.refresh_from_db()
    assert (delivered.location, delivered.vehicle_id, delivered.vehicle_position) == (
        BatteryLocation.VEHICLE,
        world.vehicle.pk,
        1,
    )
    assert delivered.energy_kwh == order.delivered_kwh
    assert (returned.location, returned.station_id, returned.station_slot) == (BatteryLocation.STATION, world.station.pk, slot)
    assert returned.energy_kwh == Decimal("55.500")
    assert returned.cycle_count == 121
    events_ = list(
        BatteryCustodyEvent.objects.filter(order=order).order_by("kind").values_list("battery_id", "kind", "energy_kwh")
    )
    assert events_ == [
        (delivered.pk, CustodyKind.DELIVERED, order.delivered_kwh),
        (returned.pk, CustodyKind.RETURNED, Decimal("55.500")),
    ]
    assert not ControllerCommand.objects.filter(order=order, done_at__isnull=True).exists()
    assert order.transitions.last().actor_controller_id == world.credential.pk


def test_the_next_swap_bills_the_returned_battery_for_its_own_trip() -> None:
    """B, handed out with its reading, comes back on the next swap: its trip is that reading less its return."""
    world = swap_world(stock=3)
    first = advanced(world, "completed")
    second = advanced(world, "swapping")
    assert second.expected_return_battery_id == first.delivered_battery_id
    report(world, second, returned_kwh=Decimal("40.000"))
    usage = OrderLine.objects.get(order=second, stage="bill", kind="battery_usage")
    assert usage.kwh == delivered_kwh(first) - Decimal("40.000")


def test_charging_before_the_battery_last_left_a_vehicle_does_not_count() -> None:
    world = swap_world(stock=1)
    battery = world.stock[0]
    BatteryCustodyEvent.objects.create(
        battery=battery,
        kind="returned",
        at=timezone.now() - timedelta(hours=1),
        station=world.station,
        station_slot=1,
        energy_kwh=Decimal("50.000"),
    )
    order = advanced(world, "swapping")
    reading = reading_for(order)
    report(world, order)
    period = corridor_calendar("hebei_south").period_at(reading.started_at)
    assert OrderLine.objects.get(order=order, stage="bill", kind="energy").period == period


def test_a_bill_far_from_its_quote_is_flagged_for_review_and_still_completes() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    report(world, order, delivered_kwh=Decimal("150.000"))
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert order.review_required
    assert f"quote {order.quote_total_fen} fen" in order.review_reason
    assert "tolerance 10 %" in order.review_reason


def test_a_bill_within_the_tolerance_is_not_flagged() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    report(world, order)
    order.refresh_from_db()
    assert not order.review_required
    assert order.review_reason == ""


def test_a_bill_above_the_hold_takes_the_rest_from_the_wallet() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    report(world, order, returned_kwh=Decimal("0.000"))
    order.refresh_from_db()
    assert billed(order) > order.quote_total_fen
    order.hold.refresh_from_db()
    assert order.hold.captured_fen == order.quote_total_fen
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000 - billed(order)
    assert not Debt.objects.exists()


def test_an_expired_hold_is_not_needed_to_complete() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    ledger_services.hold_void(hold=order.hold, external_id="expired-by-test")
    report(world, order)
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000 - billed(order)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"returned_battery": "CATPB28HBJ0001PA1XXXXXXX"}, "returned_battery_mismatch"),
        ({"returned_battery": None}, "returned_battery_mismatch"),
        ({"delivered_battery": "OTHER"}, "delivered_battery_mismatch"),
        ({"delivered_kwh": Decimal("400.000")}, "reading_out_of_range"),
        ({"returned_kwh": Decimal("300.000")}, "reading_out_of_range"),
        ({"returned_kwh": Decimal("270.000"), "delivered_kwh": Decimal("200.000")}, "returned_energy_exceeds_delivered"),
        ({"delivered_temperature_c": Decimal("70.0")}, "battery_too_hot"),
        ({"ended_at": timezone.now() - timedelta(hours=1)}, "reading_out_of_range"),
    ],
)
def test_impossible_readings_make_the_order_abnormal_and_bill_nothing(changes, reason: str) -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    wallet_before = balance(world.carrier, AccountPurpose.WALLET)
    batteries_before = list(
        Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id", "energy_kwh")
    )
    response = report(world, order, **changes)
    assert response.status_code == 200
    assert response.json()["outcome"] == "abnormal"
    assert response.json()["abnormal_reason"] == reason
    order.refresh_from_db()
    assert (order.state, order.abnormal_reason, order.abnormal_from) == (OrderState.ABNORMAL, reason, OrderState.SWAPPING)
    assert order.battery_held
    assert order.bill_total_fen is None
    order.hold.refresh_from_db()
    assert order.hold.status == HoldStatus.PENDING
    assert balance(world.carrier, AccountPurpose.WALLET) == wallet_before
    assert (
        list(Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id", "energy_kwh"))
        == batteries_before
    )
    assert not BatteryCustodyEvent.objects.filter(order=order).exists()
    # The driver sees the reason in words; staff see what the controller reported.
    body = api(world.driver).get(f"/api/v1/swaps/{order.pk}").json()
    assert body["abnormal"]["reason"] == reason
    assert body["abnormal"]["words"]
    staff_view = api(world.users["staff"]).get(f"/api/v1/swaps/{order.pk}").json()
    assert staff_view["controller_report"]["outcome"] == "abnormal"
    assert body["controller_report"] is None


def test_a_replayed_report_gets_the_same_answer_and_one_bill() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    body = report_body(reading_for(order))
    controller = world.controller()
    path = f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report"
    answers = [controller.post(path, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert JournalTransaction.objects.filter(external_id=f"swap-order:{order.pk}").count() == 1
    assert ControllerReport.objects.filter(order=order).count() == 1
    assert BatteryCustodyEvent.objects.filter(order=order).count() == 2
    other = controller.post(path, {**body, "returned_kwh": "50.000"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "report_conflict"


def test_a_report_for_an_order_not_swapping_is_refused() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    response = report(world, order)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    order.refresh_from_db()
    assert order.state == OrderState.QUEUED
    assert not ControllerReport.objects.exists()


def test_a_completed_order_counts_toward_the_daily_limit() -> None:
    world = swap_world(stock=3)
    first = advanced(world, "completed")
    probe = scanned(world)
    quote = probe.quote_total_fen
    services.swap_cancel(actor=Actor.of(world.driver), order=probe)
    Membership.objects.filter(user=world.driver, role=Role.DRIVER).update(limit_per_day_fen=billed(first) + quote - 1)
    response = api(world.driver).post("/api/v1/swaps/scan", {"qr": world.token(), "plate": world.vehicle.plate}, format="json")
    assert response.json()["error"]["code"] == "limit_per_day_exceeded"


# --- Resolving abnormal orders ------------------------------------------------------------
def test_staff_complete_an_abnormal_order_with_corrected_readings() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    report(world, order, delivered_kwh=Decimal("400.000"))
    reading = reading_for(order)
    body = {"action": "complete", "readings": report_body(reading), "note": "BMS re-read by hand"}
    response = api(world.users["staff"]).post(f"/api/v1/swaps/{order.pk}/resolve", body, format="json")
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert order.delivered_kwh == reading.delivered_kwh
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000 - billed(order)
    assert order.transitions.last().cause == "resolved by staff: complete (BMS re-read by hand)"


def test_staff_cancel_an_abnormal_order_and_release_it() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    report(world, order, returned_battery=None)
    response = api(world.users["operator_admin"]).post(f"/api/v1/swaps/{order.pk}/resolve", {"action": "cancel"}, format="json")
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    order.hold.refresh_from_db()
    assert (order.state, order.battery_held, order.hold.status) == (OrderState.CANCELLED, False, HoldStatus.VOIDED)
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000


def test_a_billed_order_marked_abnormal_is_corrected_by_reversal() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    first_bill = billed(order)
    staff = api(world.users["staff"])
    marked = staff.post(
        f"/api/v1/swaps/{order.pk}/abnormal", {"reason": "staff_reported", "detail": "driver disputes"}, format="json"
    )
    assert marked.status_code == 200
    assert marked.json()["abnormal"]["from_state"] == "completed"
    reading = reading_for(order, delivered_battery=order.delivered_battery.code, returned_kwh=Decimal("100.000"))
    response = staff.post(
        f"/api/v1/swaps/{order.pk}/resolve", {"action": "complete", "readings": report_body(reading)}, format="json"
    )
    assert response.status_code == 200, response.json()
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert billed(order) < first_bill
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000 - billed(order)
    assert order.payment_transaction.external_id.endswith(":corrected")


def test_a_billed_order_cancelled_on_resolution_is_refunded_in_full() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    services.swap_mark_abnormal(actor=Actor.of(world.users["platform_admin"]), order=order, reason="staff_reported")
    services.swap_resolve(actor=Actor.of(world.users["platform_admin"]), order=order, action="cancel")
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 0


def test_resolving_needs_an_abnormal_order_and_a_known_action() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    staff = api(world.users["staff"])
    assert staff.post(f"/api/v1/swaps/{order.pk}/resolve", {"action": "cancel"}, format="json").json()["error"]["code"] == (
        "illegal_transition"
    )
    assert staff.post(f"/api/v1/swaps/{order.pk}/resolve", {"action": "shrug"}, format="json").json()["error"]["code"] == (
        "resolution_invalid"
    )


# --- Events and settlement ------------------------------------------------------------------
def test_every_committed_transition_is_announced_after_the_commit(django_capture_on_commit_callbacks) -> None:
    world = swap_world()
    seen: list[tuple[int, str]] = []

    def receiver(order_id: int, state: str) -> None:
        seen.append((order_id, state))

    events.subscribe(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = advanced(world, "completed")
    finally:
        events.unsubscribe(receiver)
    assert seen == [(order.pk, s) for s in ("requested", "queued", "called", "swapping", "completed")]


def test_a_failing_receiver_never_fails_the_change() -> None:
    def broken(order_id: int, state: str) -> None:
        raise RuntimeError("push failed")

    events.subscribe(broken)
    try:
        events.order_state_changed(1, "queued")
    finally:
        events.unsubscribe(broken)


def test_an_order_settles_when_every_party_has_closed_its_statement() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    assert services.orders_settle() == 0
    later = timezone.now() + timedelta(days=40)
    ledger_services.statements_close_due(now=later)
    assert services.orders_settle(now=later) == 1
    order.refresh_from_db()
    assert order.state == OrderState.SETTLED
    assert order.settled_at == later
    assert order.transitions.last().actor_kind == "system"


# --- Pricing reads ----------------------------------------------------------------------------
RATE_KINDS = ["battery_grade", "battery", "owner_grade", "owner"]


@pytest.mark.parametrize("present", [[kind for i, kind in enumerate(RATE_KINDS) if mask >> i & 1] for mask in range(16)])
def test_the_one_query_battery_rate_agrees_with_billings(present: list[str]) -> None:
    from datetime import datetime

    from apps.billing import selectors as billing_selectors
    from apps.billing.models import BatteryRate
    from apps.billing.tou import LOCAL_TIME
    from apps.swaps import selectors

    world = swap_world(stock=1)
    battery = world.stock[0]  # health 97.5: grade A
    BatteryRate.objects.all().delete()
    fees = {"battery_grade": "0.41", "battery": "0.42", "owner_grade": "0.43", "owner": "0.44"}
    for kind in present:
        for year, bump in ((2025, "0"), (2026, "1")):
            BatteryRate.objects.create(
                owner=world.owner,
                battery=battery if kind.startswith("battery") else None,
                health_grade="A" if kind.endswith("grade") else "",
                fee_per_kwh=Decimal(fees[kind]) + Decimal(bump) / 100,
                effective_from=datetime(year, 1, 1, tzinfo=LOCAL_TIME),
            )
    BatteryRate.objects.create(
        owner=world.owner, health_grade="B", fee_per_kwh=Decimal("0.99"), effective_from=datetime(2025, 1, 1, tzinfo=LOCAL_TIME)
    )
    for at in (
        datetime(2025, 6, 1, tzinfo=LOCAL_TIME),
        datetime(2026, 6, 1, tzinfo=LOCAL_TIME),
        datetime(2024, 6, 1, tzinfo=LOCAL_TIME),
    ):
        assert selectors.battery_rate(battery=battery, at=at) == billing_selectors.battery_rate_in_force(battery=battery, at=at)
