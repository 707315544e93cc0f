"""Benchmark of the live push: a queue change made through the service, until every waiting
driver's phone has its ``queue.position``, beside a bare ``group_send`` of the same payload
through the same channel layer and server, in the same run.

    .venv/bin/python bench/live.py            # --drivers 1000 --rounds 10 --gap 1.5

Creates its own PostgreSQL database (``swapnet_bench_live``: dropped first, dropped again at
the end) and uses Redis db 4 (emptied first and at the end) as channel layer and cache. It
migrates the database and adds one station with ``--drivers`` batteries in its slots and as
many verified drivers, each with their own truck and an order queued at that station, and one
single-use WebSocket ticket per driver. It starts uvicorn (``swapnet.asgi:application``, one
process, psycopg pool) on a free loopback port, and a client process that opens one
``/ws/driver/`` socket per driver (each follows the station's queue because its order waits
there). Then, in rounds, alternately:

* **service**: ``queue_call_next`` by the station's staff (one transaction; after the commit the
  live publish reads the queue and sends the queue line to the station's queue group, then the
  order's own events);
* **bare**: one ``group_send`` to the same group of the same message (the queue line as the
  publisher builds it, numbered from the same counter).

Each socket's consumer turns the queue line into that driver's ``queue.position``; the client
process stamps every message on arrival with the system-wide monotonic clock, which the bench
process also reads just before it starts the service call or the group_send. It prints p50 and
p99 of (arrival − start) over every socket and round for each kind, and the ratio of the p99s.
One unmeasured round of each comes first. Target: service p99 ≤ 2 × bare p99 (exit status 1
above it). Only loopback addresses are used;
the servers it started are stopped and the database dropped, even on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchkit import LOOPBACK, ROOT, Postgres, clean_environment, percentile

THROWAWAY = Postgres("swapnet_bench_live")
DATABASE_URL = THROWAWAY.url
REDIS_URL = "redis://127.0.0.1:6379/4"
ORIGIN = "http://localhost"


# --- The client process -----------------------------------------------------------------
async def _clients(config: dict[str, Any]) -> None:
    import websockets
    from websockets.typing import Origin

    arrivals: list[list[tuple[int, float]]] = [[] for _ in config["tickets"]]
    sockets: list[Any] = []

    async def listen(index: int, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                now = time.monotonic()
                message = json.loads(raw)
                if message["type"] == "queue.position":
                    arrivals[index].append((message["seq"], now))

    async def open_one(index: int, ticket: str) -> None:
        ws = await websockets.connect(
            f"{config['url']}?ticket={ticket}", origin=Origin(ORIGIN), max_queue=None, open_timeout=60, ping_interval=None
        )
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "snapshot", snapshot
        sockets.append(ws)
        asyncio.get_running_loop().create_task(listen(index, ws))

    tickets = config["tickets"]
    for start in range(0, len(tickets), 25):
        await asyncio.gather(*(open_one(i, tickets[i]) for i in range(start, min(start + 25, len(tickets)))))
    print(json.dumps({"ready": len(sockets)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "dump"
    await asyncio.sleep(0.5)
    print(json.dumps({"arrivals": arrivals}), flush=True)
    for ws in sockets:
        await ws.close()


def client_main() -> None:
    config = json.loads(sys.stdin.readline())
    asyncio.run(_clients(config))


# --- The bench process ------------------------------------------------------------------
def _redis_flush() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _seed(drivers: int) -> dict[str, Any]:
    from datetime import date, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from apps.accounts.models import (
        CertificationStatus,
        Membership,
        Organisation,
        OrganisationKind,
        RealNameVerification,
        Role,
        User,
    )
    from apps.accounts.personal_data import encrypt, lookup_hash
    from apps.assets.models import (
        Battery,
        BatteryLocation,
        Bay,
        PackStandard,
        Station,
        Vehicle,
        VehicleAssignment,
        VehicleSegment,
    )
    from apps.assets.tests.factories import vin_for
    from apps.live.models import LiveTicket
    from apps.live.services import _digest
    from apps.swaps.models import OrderState, QrKind, SwapOrder

    now = timezone.now()
    standard = PackStandard.objects.create(
        code="HT-282-LFP",
        name="Heavy truck 282 kWh LFP",
        segment=VehicleSegment.HEAVY_TRUCK,
        rated_kwh=Decimal("282.0"),
        nominal_voltage_v=502,
        chemistry="LFP",
        packs_per_vehicle=1,
    )
    operator = Organisation.objects.create(code="bench-operator", name="压测运营商", kind=OrganisationKind.STATION_OPERATOR)
    owner = Organisation.objects.create(code="bench-owner", name="压测电池资产", kind=OrganisationKind.BATTERY_OWNER)
    carrier = Organisation.objects.create(
        code="bench-fleet", name="压测车队", kind=OrganisationKind.CARRIER, certification_status=CertificationStatus.CERTIFIED
    )
    station = Station.objects.create(
        code="SWN-BENCH-1",
        name_zh="压测换电站",
        name_en="Bench station",
        operator=operator,
        latitude=Decimal("38.400000"),
        longitude=Decimal("116.000000"),
        tariff_zone="hebei_south",
        slot_count=drivers + 10,
        last_heartbeat_at=now,
    )
    station.pack_standards.set([standard])
    bay = Bay.objects.create(station=station, number=1, has_screen=False)
    staff = User.objects.create(phone="13600000000", display_name="压测站员")
    Membership.objects.create(user=staff, organisation=operator, role=Role.STATION_STAFF, station=station)
    Battery.objects.bulk_create(
        Battery(
            code=f"BNCPB28HBJ0001PA1{n:07d}",
            owner=owner,
            pack_standard=standard,
            chemistry="LFP",
            rated_kwh=Decimal("282.0"),
            health_pct=Decimal("97.50"),
            charge_pct=Decimal("95.00"),
            energy_kwh=Decimal("267.900"),
            location=BatteryLocation.STATION,
            station=station,
            station_slot=n + 1,
        )
        for n in range(drivers)
    )
    batteries = list(Battery.objects.filter(station=station).order_by("station_slot"))
    User.objects.bulk_create(User(phone=f"135{n:08d}", display_name=f"压测司机{n}") for n in range(drivers))
    users = list(User.objects.filter(phone__startswith="135").order_by("phone"))
    Membership.objects.bulk_create(Membership(user=user, organisation=carrier, role=Role.DRIVER) for user in users)
    verifications = []
    for n, user in enumerate(users):
        id_number = f"1101051980{n:07d}X"
        verifications.append(
            RealNameVerification(
                user=user,
                legal_name="压测",
                id_number_encrypted=encrypt(id_number),
                id_number_hash=lookup_hash(id_number),
                id_number_masked="1101**********000X",
                licence_number_encrypted=encrypt(id_number),
                licence_number_masked="1101**********000X",
                licence_class="A2",
                licence_expires_on=date(2031, 6, 30),
                status="verified",
            )
        )
    RealNameVerification.objects.bulk_create(verifications)
    Vehicle.objects.bulk_create(
        Vehicle(
            plate=f"冀J{n:05d}D",
            plate_kind="new_energy_large",
            vin=vin_for(n),
            carrier=carrier,
            pack_standard=standard,
            model_name="XCMG E700",
        )
        for n in range(drivers)
    )
    vehicles = list(Vehicle.objects.filter(carrier=carrier).order_by("plate"))
    VehicleAssignment.objects.bulk_create(VehicleAssignment(vehicle=v, driver=u) for v, u in zip(vehicles, users, strict=True))
    SwapOrder.objects.bulk_create(
        SwapOrder(
            state=OrderState.QUEUED,
            driver=user,
            carrier=carrier,
            vehicle=vehicle,
            station=station,
            bay=bay,
            qr_kind=QrKind.PRINTED,
            reserved_battery=battery,
            battery_held=True,
            quote_delivered_kwh=battery.energy_kwh,
            quote_returned_kwh=Decimal(0),
            quote_total_fen=0,
            queued_at=now + timedelta(microseconds=n),
        )
        for n, (user, vehicle, battery) in enumerate(zip(users, vehicles, batteries, strict=True))
    )
    tickets = [secrets.token_urlsafe(32) for _ in users]
    LiveTicket.objects.bulk_create(
        LiveTicket(user=user, key_hash=_digest(raw), expires_at=now + timedelta(hours=1))
        for user, raw in zip(users, tickets, strict=True)
    )
    return {"station_id": station.pk, "staff_id": staff.pk, "tickets": tickets}


def _wait_for_port(port: int, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("uvicorn exited")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
            return
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def bench(args: argparse.Namespace) -> int:
    env = clean_environment(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, SWAPNET_SIMULATE_CONTROLLERS="0")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")
    sys.path.insert(0, str(ROOT))
    processes: list[subprocess.Popen[bytes]] = []
    THROWAWAY.create()
    _redis_flush()
    try:
        import django

        django.setup()
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        seeded = _seed(args.drivers)
        print(f"seeded {args.drivers} drivers with queued orders in {time.monotonic() - started:.1f} s", flush=True)

        from apps.access import Actor
        from apps.accounts.models import User
        from apps.assets.models import Station
        from apps.live import publish, selectors, streams
        from apps.swaps.services import queue_call_next

        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "swapnet.asgi:application",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--ws-max-queue",
                "1000",
            ],
            cwd=ROOT,
            env={**env, "SWAPNET_DB_POOL": "1", "SWAPNET_DB_POOL_MAX": "8"},
        )
        processes.append(server)
        _wait_for_port(port, server)
        clients = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--client-worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        processes.append(clients)
        assert clients.stdin is not None
        assert clients.stdout is not None
        clients.stdin.write(
            (json.dumps({"url": f"ws://{LOOPBACK}:{port}/ws/driver/", "tickets": seeded["tickets"]}) + "\n").encode()
        )
        clients.stdin.flush()
        started = time.monotonic()
        ready = json.loads(clients.stdout.readline())
        print(f"{ready['ready']} sockets connected in {time.monotonic() - started:.1f} s", flush=True)

        staff = Actor.of(User.objects.get(pk=seeded["staff_id"]))
        station = Station.objects.get(pk=seeded["station_id"])
        layer = get_channel_layer()

        def bare_line_message() -> Any:
            line = selectors.station_queue_read(
                station_id=station.pk, station_code=station.code, mean_swap_minutes=station.mean_swap_minutes
            ).line()
            return publish.line_message(line)

        rounds: list[tuple[str, float, int, int]] = []  # kind, start, seq after which, last seq
        # One unmeasured round of each (first queries, first connections to Redis).
        queue_call_next(actor=staff, station=station)
        time.sleep(args.gap)
        async_to_sync(layer.group_send)(*publish._envelopes([bare_line_message()])[0])
        time.sleep(args.gap)
        for number in range(args.rounds):
            kinds = ("service", "bare") if number % 2 == 0 else ("bare", "service")
            for kind in kinds:
                if kind == "service":
                    before = streams.seq_current(streams.DRIVER)
                    start = time.monotonic()
                    queue_call_next(actor=staff, station=station)
                    rounds.append((kind, start, before, streams.seq_current(streams.DRIVER)))
                else:
                    [(group, event)] = publish._envelopes([bare_line_message()])
                    start = time.monotonic()
                    async_to_sync(layer.group_send)(group, event)
                    rounds.append((kind, start, event["seq"] - 1, event["seq"]))
                time.sleep(args.gap)
        clients.stdin.write(b"dump\n")
        clients.stdin.flush()
        arrivals = json.loads(clients.stdout.readline())["arrivals"]
        clients.wait(timeout=60)

        latencies: dict[str, list[float]] = {"service": [], "bare": []}
        everyone: dict[str, list[float]] = {"service": [], "bare": []}  # per round: until the last socket had it
        missing = {"service": 0, "bare": 0}
        for kind, start, after, last in rounds:
            this_round = []
            for received in arrivals:
                times = [at for seq, at in received if after < seq <= last]
                if times:
                    this_round.append((min(times) - start) * 1000)
                else:
                    missing[kind] += 1
            latencies[kind].extend(this_round)
            everyone[kind].append(max(this_round, default=float("nan")))
        load = os.getloadavg()
        print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.drivers} sockets, {args.rounds} rounds each")
        print("per socket: start → that socket has the message; last: start → every socket has it (median of rounds)")
        print(f"{'kind':8} {'messages':>9} {'missing':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'last ms':>8}")
        figures = {}
        for kind in ("service", "bare"):
            values = latencies[kind]
            p50, p99 = statistics.median(values), percentile(values, 0.99)
            figures[kind] = p99
            last_ms = statistics.median(everyone[kind])
            print(f"{kind:8} {len(values):9d} {missing[kind]:8d} {p50:8.1f} {p99:8.1f} {max(values):8.1f} {last_ms:8.1f}")
        ratio = figures["service"] / figures["bare"]
        print(f"service p99 / bare p99 = {ratio:.2f} (target ≤ 2)")
        return 0 if ratio <= 2 and not any(missing.values()) else 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            if process.poll() is None:
                process.kill()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        THROWAWAY.drop()
        _redis_flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drivers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between one measurement and the next")
    parser.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_worker:
        client_main()
        return 0
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
