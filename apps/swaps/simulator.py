"""Stand-in station controllers for the demo: they speak the controller HTTP API, signed with each
station's key, against a running swapnet (``manage.py simulate_controllers``).

Every tick, for each station:

1. charge the batteries in its slots (``charge_kw`` per slot, times ``speed``) and remember the
   energy each one took as a charging interval;
2. ``POST heartbeat`` with the slots: battery code, state of charge, kWh, temperature, faults;
3. ``GET bays/{n}/token`` for each bay with a screen, when its token is older than half its
   lifetime or has been used (what the bay's screen would show);
4. ``GET commands``, and for each "start swap": take the battery out of its slot, put the
   vehicle's battery in (it comes back with 12–30 % of its capacity, never more than it left
   with), and ``POST swaps/{order}/report`` with both codes and BMS readings;
5. ``POST charging`` with the intervals since the last tick.

The simulator knows only what a controller would: its slots (read once from the database at start
by the management command, standing in for the slot sensors) and the answers of the API.
Energy and state of charge are Decimal; nothing is float.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from apps.swaps.controller_auth import signed_headers

HUNDRED = Decimal(100)
KWH = Decimal("0.001")


@dataclass
class SimBattery:
    code: str
    capacity_kwh: Decimal  # usable energy when full
    energy_kwh: Decimal
    temperature_c: Decimal = Decimal("25.0")

    @property
    def soc_pct(self) -> Decimal:
        if self.capacity_kwh <= 0:
            return Decimal(0)
        return min(self.energy_kwh / self.capacity_kwh * HUNDRED, HUNDRED).quantize(Decimal("0.01"))


@dataclass
class SimStation:
    code: str
    key_id: str
    secret: str
    screen_bays: list[int]
    slots: dict[int, SimBattery | None]
    slot_count: int
    tokens: dict[int, tuple[str, float]] = field(default_factory=dict)  # bay → (token, fetched at)
    pending_intervals: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TickReport:
    heartbeats: int = 0
    tokens: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    intervals: int = 0
    errors: list[str] = field(default_factory=list)


# (method, path with any prefix, headers, body) -> (HTTP status, parsed JSON answer)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, Any]]


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat()


class ControllerSimulator:
    def __init__(
        self,
        base_url: str,
        stations: list[SimStation],
        *,
        capacities: dict[str, Decimal] | None = None,
        charge_kw: Decimal = Decimal(240),
        speed: Decimal = Decimal(1),
        token_lifetime_s: int = 120,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        log: Callable[[str], None] | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = urlsplit(self.base_url).path
        self.stations = stations
        self.capacities = capacities or {}
        self.charge_kw = charge_kw
        self.speed = speed
        self.token_lifetime_s = token_lifetime_s
        self.rng = random.Random(seed)  # noqa: S311 - plausible readings, not security
        self.clock = clock
        self.log = log or (lambda message: None)
        self.last_tick: float | None = None
        # How requests travel: HTTP by default; tests may pass Django's test client instead.
        self.transport: Transport = transport or self._urllib

    # --- HTTP ---------------------------------------------------------------------------
    def request(self, station: SimStation, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        full_path = f"{self.prefix}/api/v1/station-control/{station.code}{path}"
        headers = signed_headers(key_id=station.key_id, secret=station.secret, method=method, path=full_path, body=raw)
        headers["Accept"] = "application/json"
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        status, answer = self.transport(method, full_path, headers, raw if body is not None else None)
        if status >= 400:
            raise ApiError(status, answer)
        return answer

    def _urllib(self, method: str, full_path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, Any]:
        url = f"{self.base_url}{full_path[len(self.prefix) :]}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the base URL is the operator's
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                return error.code, json.loads(payload)
            except ValueError:
                return error.code, payload.decode(errors="replace")[:300]

    # --- One tick -----------------------------------------------------------------------
    def tick(self) -> TickReport:
        now = self.clock()
        elapsed = 0.0 if self.last_tick is None else max(now - self.last_tick, 0.0)
        report = TickReport()
        for station in self.stations:
            try:
                self._charge(station, self.last_tick or now, now, elapsed)
                self._heartbeat(station)
                report.heartbeats += 1
                report.tokens += self._tokens(station, now)
                for command in self.request(station, "GET", "/commands")["commands"]:
                    if command["kind"] == "start_swap":
                        report.reports.append(self._swap(station, command, now))
                report.intervals += self._send_charging(station, now)
            except (ApiError, OSError) as error:
                report.errors.append(f"{station.code}: {error}")
                self.log(f"{station.code}: {error}")
        self.last_tick = now
        return report

    def _charge(self, station: SimStation, since: float, now: float, elapsed: float) -> None:
        if elapsed <= 0:
            return
        hours = Decimal(str(round(elapsed, 3))) / Decimal(3600) * self.speed
        for battery in station.slots.values():
            if battery is None or battery.energy_kwh >= battery.capacity_kwh:
                continue
            added = min(self.charge_kw * hours, battery.capacity_kwh - battery.energy_kwh).quantize(KWH)
            if added <= 0:
                continue
            battery.energy_kwh += added
            station.pending_intervals.append(
                {"battery": battery.code, "kwh": str(added), "started_at": _iso(since), "ended_at": _iso(now)}
            )

    def _heartbeat(self, station: SimStation) -> dict[str, Any]:
        slots: list[dict[str, Any]] = []
        for number in range(1, station.slot_count + 1):
            battery = station.slots.get(number)
            if battery is None:
                slots.append({"slot": number, "battery": None})
                continue
            slots.append(
                {
                    "slot": number,
                    "battery": battery.code,
                    "soc_pct": str(battery.soc_pct),
                    "energy_kwh": str(battery.energy_kwh),
                    "temperature_c": str(battery.temperature_c),
                    "faults": [],
                }
            )
        answer: dict[str, Any] = self.request(station, "POST", "/heartbeat", {"slots": slots})
        for code in answer.get("unknown", []):
            self.log(f"{station.code}: the platform does not know battery {code}")
        return answer

    def _tokens(self, station: SimStation, now: float) -> int:
        fetched = 0
        for bay in station.screen_bays:
            current = station.tokens.get(bay)
            if current is None or now - current[1] >= self.token_lifetime_s / 2:
                answer = self.request(station, "GET", f"/bays/{bay}/token")
                station.tokens[bay] = (answer["token"], now)
                fetched += 1
        return fetched

    def token_used(self, station_code: str, bay: int) -> None:
        """The bay's screen was scanned: show a new code at the next tick."""
        for station in self.stations:
            if station.code == station_code:
                station.tokens.pop(bay, None)

    def _swap(self, station: SimStation, command: dict[str, Any], now: float) -> dict[str, Any]:
        payload = command["payload"]
        order = payload["order"]
        deliver_code = payload["deliver"]["battery"]
        slot = next((number for number, battery in station.slots.items() if battery and battery.code == deliver_code), None)
        delivered = station.slots[slot] if slot is not None else None
        if slot is None or delivered is None:
            raise ApiError(0, f"order {order}: battery {deliver_code} is not in any slot")
        receive = payload.get("receive")
        returned: SimBattery | None = None
        if receive is not None:
            capacity = self.capacities.get(receive["battery"], delivered.capacity_kwh)
            last = Decimal(receive["last_energy_kwh"])
            share = Decimal(self.rng.randint(12, 30)) / HUNDRED
            energy = min(capacity * share, last, delivered.energy_kwh).quantize(KWH)
            returned = SimBattery(code=receive["battery"], capacity_kwh=capacity, energy_kwh=max(energy, Decimal(0)))
        started = datetime.fromisoformat(command["created_at"]).timestamp()
        body = {
            "delivered_battery": delivered.code,
            "returned_battery": returned.code if returned else None,
            "delivered_kwh": str(delivered.energy_kwh.quantize(KWH)),
            "returned_kwh": str(returned.energy_kwh) if returned else "0.000",
            "started_at": _iso(min(started, now)),
            "ended_at": _iso(now),
            "delivered_temperature_c": str(delivered.temperature_c),
            "delivered_soc_pct": str(delivered.soc_pct),
            "returned_soc_pct": str(returned.soc_pct) if returned else None,
        }
        answer: dict[str, Any] = self.request(station, "POST", f"/swaps/{order}/report", body, key=f"report-{order}")
        station.slots[slot] = returned
        station.tokens.pop(int(payload["bay"]), None)
        self.log(f"{station.code}: order {order} swapped in bay {payload['bay']}: {answer.get('outcome')}")
        return answer

    def _send_charging(self, station: SimStation, now: float) -> int:
        if not station.pending_intervals:
            return 0
        sent = station.pending_intervals
        self.request(station, "POST", "/charging", {"intervals": sent}, key=f"charging-{station.code}-{int(now * 1000)}")
        station.pending_intervals = []
        return len(sent)

    def run(
        self,
        *,
        interval_s: float,
        ticks: int | None = None,
        on_tick: Callable[[TickReport], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Tick every ``interval_s`` seconds, ``ticks`` times or until ``stop`` is set."""
        stop = stop or threading.Event()
        done = 0
        while (ticks is None or done < ticks) and not stop.is_set():
            started = self.clock()
            result = self.tick()
            if on_tick is not None:
                on_tick(result)
            done += 1
            if ticks is not None and done >= ticks:
                break
            stop.wait(max(interval_s - (self.clock() - started), 0.0))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own server's address
            return True
    except urllib.error.HTTPError:
        return True  # it answered (unhealthy is still up)
    except OSError:
        return False


def simulate_in_background(
    base_url: str, *, interval_s: float = 5.0, log: Callable[[str], None] | None = None
) -> threading.Event:
    """Run stand-in controllers for every station with a key in a daemon thread beside the server
    (the embedded demo, ``manage.py serve``); set the returned event to stop them. The stations are
    read once when the thread starts; the first tick waits until the server answers."""
    from django.conf import settings
    from django.db import close_old_connections

    stop = threading.Event()

    def simulate() -> None:
        try:
            stations, capacities = stations_from_database()
        finally:
            close_old_connections()  # the thread reads the database once, then speaks only HTTP
        if not stations:
            if log is not None:
                log("No station has a controller key: no controllers are simulated (run `manage.py seed_demo`).")
            return
        while not stop.is_set() and not _answers(f"{base_url.rstrip('/')}/healthz"):
            stop.wait(0.5)  # the server is still starting
        ControllerSimulator(
            base_url,
            stations,
            capacities=capacities,
            token_lifetime_s=int(settings.QR_TOKEN_LIFETIME.total_seconds()),
            log=log,
        ).run(interval_s=interval_s, stop=stop)

    threading.Thread(target=simulate, name="simulated-controllers", daemon=True).start()
    return stop


def stations_from_database(codes: list[str] | None = None) -> tuple[list[SimStation], dict[str, Decimal]]:
    """The stations with a live controller key (all, or ``codes``), their bays and slots as the
    platform has them, and every battery's usable capacity: what the slot sensors would tell."""
    from apps.assets.models import Battery, BatteryLocation, Bay
    from apps.swaps.controller_auth import secret_decrypt
    from apps.swaps.models import ControllerCredential

    credentials = ControllerCredential.objects.filter(revoked_at__isnull=True).select_related("station").order_by("station__code")
    if codes:
        credentials = credentials.filter(station__code__in=[code.strip().upper() for code in codes])
    capacities = {
        code: (rated * health / HUNDRED).quantize(KWH)
        for code, rated, health in Battery.objects.values_list("code", "rated_kwh", "health_pct")
    }
    stations = []
    for credential in credentials:
        station = credential.station
        slots: dict[int, SimBattery | None] = dict.fromkeys(range(1, station.slot_count + 1))
        for battery in Battery.objects.filter(station=station, location=BatteryLocation.STATION).order_by("station_slot"):
            assert battery.station_slot is not None
            slots[battery.station_slot] = SimBattery(
                code=battery.code,
                capacity_kwh=capacities[battery.code],
                energy_kwh=battery.energy_kwh,
                temperature_c=battery.temperature_c if battery.temperature_c is not None else Decimal("25.0"),
            )
        stations.append(
            SimStation(
                code=station.code,
                key_id=credential.key_id,
                secret=secret_decrypt(credential.secret_encrypted),
                screen_bays=list(
                    Bay.objects.filter(station=station, has_screen=True).order_by("number").values_list("number", flat=True)
                ),
                slots=slots,
                slot_count=station.slot_count,
            )
        )
    return stations, capacities
