"""The demo as `make demo` runs it: the seeded corridor, the server, and the stand-in controllers
that `manage.py serve` starts beside it. A driver's swap started from the phone completes with
money from the seeded top-up (PostgreSQL pass: a live server needs a transactional test, and on
SQLite the ledger's triggers refuse the DELETEs that empty the database after one)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from apps.access import Actor
from apps.accounts.models import Role, User
from apps.assets.models import Station, Vehicle
from apps.demo import services
from apps.ledger.selectors import wallet_get
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.qr import printed_token_issue
from apps.swaps.simulator import simulate_in_background

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the live test server
        return json.loads(response.read())


def sign_in(base: str, phone: str) -> str:
    return str(call(base, "POST", "/api/v1/auth/login", {"phone": phone, "password": services.DEMO_PASSWORD})["token"])


def wait_for(condition: Any, *, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_swap_started_from_the_phone_completes_on_the_demo_corridor(live_server) -> None:
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    stop = simulate_in_background(live_server.url, interval_s=0.2)
    try:
        assert wait_for(lambda: all(station.is_online() for station in Station.objects.all()))
        truck = Vehicle.objects.get(plate="冀J10001D")
        driver = User.objects.get(phone="13800000041")
        station = Station.objects.filter(pack_standards=truck.pack_standard).order_by("km_from_start").first()
        assert station is not None
        staff = [a for a in services.demo_accounts() if a.role == Role.STATION_STAFF and a.station == station.code]
        carrier_admin = Actor.of(User.objects.get(phone="13800000031"))
        before = wallet_get(actor=carrier_admin).balance_fen
        assert before == services.DEMO_OPENING_TOP_UP_FEN

        # The driver types the code printed on bay 1; staff call and confirm; the controller swaps.
        bay = station.bays.get(number=1)
        as_driver = sign_in(live_server.url, driver.phone)
        printed_code = printed_token_issue(bay_id=bay.pk).token
        scanned = call(live_server.url, "POST", "/api/v1/swaps/scan", {"qr": printed_code, "plate": truck.plate}, as_driver)
        assert scanned["state"] == "queued"
        as_staff = sign_in(live_server.url, staff[0].phone)
        call(live_server.url, "POST", f"/api/v1/stations/{station.code}/queue/call-next", token=as_staff)
        call(live_server.url, "POST", f"/api/v1/swaps/{scanned['id']}/confirm", token=as_staff)

        assert wait_for(lambda: SwapOrder.objects.get(pk=scanned["id"]).state == OrderState.COMPLETED)
        order = call(live_server.url, "GET", f"/api/v1/swaps/{scanned['id']}", token=as_driver)
        bill = order["bill"]["total"]["amount_fen"]
        assert bill > 0
        assert wallet_get(actor=carrier_admin).balance_fen == before - bill
    finally:
        stop.set()
        # Wait for the controllers' last request: one still writing a heartbeat when the test's
        # tables are truncated deadlocks the truncation.
        for thread in threading.enumerate():
            if thread.name == "simulated-controllers":
                thread.join(timeout=30)
