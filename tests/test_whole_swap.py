"""A whole swap through the HTTP interfaces: the driver and the station's staff sign in and use
bearer tokens, the station controller signs every request with its key (HMAC-SHA256). Heartbeat,
bay token, scan, queue, call, confirm, start command, report, bill, money cleared, batteries moved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.assets.models import Battery, BatteryLocation
from apps.ledger.models import Account, AccountPurpose, HoldStatus
from apps.ledger.tests.factories import assert_ledger_invariants
from apps.swaps.models import SwapOrder
from apps.swaps.tests.factories import swap_world

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def signed_in(phone: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/login", {"phone": phone, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def test_a_whole_swap_from_scan_to_bill() -> None:
    world = swap_world()
    world.station.last_heartbeat_at = None
    world.station.save()
    code = world.station.code
    controller = world.controller()
    as_driver = signed_in(world.driver.phone)
    as_staff = signed_in(world.users["staff"].phone)
    as_carrier = signed_in(world.users["carrier_admin"].phone)
    control = f"/api/v1/station-control/{code}"

    # 1. The controller comes online with its slots and shows bay 1's code on the screen.
    slots = [
        {"slot": b.station_slot, "battery": b.code, "soc_pct": "95.00", "energy_kwh": str(b.energy_kwh)} for b in world.stock
    ]
    heartbeat = controller.post(f"{control}/heartbeat", {"slots": slots})
    assert heartbeat.status_code == 200
    assert heartbeat.json()["unknown"] == []
    token = controller.get(f"{control}/bays/1/token").json()["token"]

    # 2. The driver scans it: queued, battery reserved, quote held.
    scan = as_driver.post(
        "/api/v1/swaps/scan", {"qr": token, "plate": world.vehicle.plate}, format="json", headers={"Idempotency-Key": "scan-1"}
    )
    assert scan.status_code == 201, scan.json()
    order = scan.json()
    assert (order["state"], order["queue"]["position"]) == ("queued", 1)
    quote = order["quote"]["total"]["amount_fen"]
    assert as_carrier.get("/api/v1/wallet").json()["held"] == {"amount_fen": quote, "currency": "CNY"}
    replay = as_driver.post(
        "/api/v1/swaps/scan", {"qr": token, "plate": world.vehicle.plate}, format="json", headers={"Idempotency-Key": "scan-1"}
    )
    assert replay.json()["id"] == order["id"]
    assert SwapOrder.objects.count() == 1
    again = as_driver.post("/api/v1/swaps/scan", {"qr": token, "plate": world.vehicle.plate}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "qr_used"

    # 3. Staff see the queue, call the vehicle and confirm it in the bay.
    queue = as_staff.get(f"/api/v1/stations/{code}/queue").json()
    assert [(row["order"], row["plate"], row["position"]) for row in queue["orders"]] == [(order["id"], world.vehicle.plate, 1)]
    assert as_staff.post(f"/api/v1/stations/{code}/queue/call-next").json()["state"] == "called"
    assert as_staff.post(f"/api/v1/swaps/{order['id']}/confirm").json()["state"] == "swapping"
    assert as_driver.get(f"/api/v1/swaps/{order['id']}").json()["state"] == "swapping"

    # 4. The controller fetches the start command, swaps, and reports the BMS readings.
    [command] = controller.get(f"{control}/commands").json()["commands"]
    payload = command["payload"]
    assert payload["receive"]["battery"] == world.vehicle_battery.code
    now = timezone.now()
    reading = {
        "delivered_battery": payload["deliver"]["battery"],
        "returned_battery": payload["receive"]["battery"],
        "delivered_kwh": payload["deliver"]["energy_kwh"],
        "returned_kwh": "58.250",
        "started_at": command["created_at"],
        "ended_at": now.isoformat(),
    }
    receipt = controller.post(f"{control}/swaps/{order['id']}/report", reading, **{"Idempotency-Key": "report-1"})
    assert receipt.status_code == 200, receipt.json()
    assert receipt.json()["outcome"] == "completed"
    assert controller.post(f"{control}/swaps/{order['id']}/report", reading).json() == receipt.json()
    assert controller.get(f"{control}/commands").json() == {"commands": []}

    # 5. The driver sees the bill beside the quote; the money went to its earners.
    final = as_driver.get(f"/api/v1/swaps/{order['id']}").json()
    assert final["state"] == "completed"
    bill = final["bill"]["total"]["amount_fen"]
    assert final["bill"]["returned_kwh"] == "58.250"
    assert final["bill"]["delivered_kwh"] == payload["deliver"]["energy_kwh"]
    kinds = [line["kind"] for line in final["bill"]["lines"]]
    assert kinds == ["energy", "service_energy", "battery_usage", "commission", "commission"]
    assert [t["to_state"] for t in final["history"]] == ["requested", "queued", "called", "swapping", "completed"]
    wallet = as_carrier.get("/api/v1/wallet").json()
    assert wallet["held"]["amount_fen"] == 0
    assert wallet["balance"]["amount_fen"] == 500_000 - bill
    swap_order = SwapOrder.objects.get(pk=order["id"])
    assert swap_order.hold.status == HoldStatus.CAPTURED
    operator_received = Account.objects.get(organisation=world.operator, purpose=AccountPurpose.RECEIVABLE).balance_fen
    owner_received = Account.objects.get(organisation=world.owner, purpose=AccountPurpose.RECEIVABLE).balance_fen
    commission = Account.objects.get(organisation=world.platform, purpose=AccountPurpose.PLATFORM_COMMISSION).balance_fen
    assert operator_received + owner_received + commission == bill
    assert_ledger_invariants()

    # 6. The batteries moved; the next heartbeat sees the returned one in the freed slot.
    delivered = Battery.objects.get(code=payload["deliver"]["battery"])
    returned = Battery.objects.get(code=payload["receive"]["battery"])
    assert (delivered.location, delivered.vehicle_id) == (BatteryLocation.VEHICLE, world.vehicle.pk)
    assert (returned.location, returned.station_slot, returned.energy_kwh) == (
        BatteryLocation.STATION,
        payload["deliver"]["slot"],
        Decimal("58.250"),
    )
    slots = [{"slot": payload["deliver"]["slot"], "battery": returned.code, "soc_pct": "21.00", "energy_kwh": "58.250"}]
    assert controller.post(f"{control}/heartbeat", {"slots": slots}).json()["updated"] == [returned.code]
