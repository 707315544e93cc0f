"""Benchmark of station recommendation in the server process, over 1,000, 10,000 and 100,000
stations, side by side with a loop computing geopy distances to every station.

    .venv/bin/python bench/recommend.py                  # SQLite (a throwaway file)
    .venv/bin/python bench/recommend.py --postgres       # PostgreSQL on loopback

Builds a throwaway database (SQLite: a file in a temporary directory; PostgreSQL: the database
``recommend_bench``, dropped first and dropped again at the end, even on error), migrates it in
this process, and grows one synthetic network in a fixed region of the North China plain
(35-41 N, 112-119 E, about 660 x 600 km): stations serving one heavy-truck pack standard, each
with a bay, a tariff, two charged batteries (each back from a vehicle four hours ago and charged
since: a custody event and a charging interval) and one charging; 20 trucks, each carrying a
battery handed out two hours ago, of an owner with a usage rate (so every quote has an energy
split by charging history and a usage fee, as real ones do). The network grows from 1,000 to
10,000 to 100,000 stations in the same region, so it gets denser: even at 1,000 stations a truck
with 114 km of range has more reachable stations than the recommender looks at
(``RECOMMEND_MAX_CANDIDATES``), so every size does the full per-candidate work.

For each size it measures, after a warm-up:

  * recommend: ``GET /api/v1/stations/recommend`` through Django's whole stack in this process
    (``django.test.Client``: middleware, bearer-token authentication, DRF, the selectors, the
    price estimates, the log write), for random positions inside the region and one of 20
    trucks; median and p99 of ``--requests`` requests;
  * geopy loop: ``geopy.distance.geodesic`` from one position to every station, the coordinates
    already in memory (the most generous form of the naive way): the whole loop, timed in full;
    at 100,000 stations it runs once per round, the rounds interleaved with the requests.

It also prints the spatial index's build time and the cost of reading the stations' version
(``spatial.stations_version``, which a process pays at most every ``RECOMMEND_RECHECK_SECONDS``,
30 s by default, so it falls into a request only then). Targets: at 100,000 stations the median
request at least 500x faster than the geopy loop, and p99 at 100,000 at most 2x p99 at 1,000.
The exit status is 1 when a target is missed. Only loopback PostgreSQL is used.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchkit import LOOPBACK, ROOT, Postgres, loopback_only, percentile

SIZES = (1_000, 10_000, 100_000)
REGION = ((35.0, 41.0), (112.0, 119.0))
# Requests come from the inner part of the region (a margin of about 100 km to its edges).
ASK_REGION = ((36.0, 40.0), (113.2, 117.8))
TRUCKS = 20
TARGET_SPEEDUP = 500
TARGET_P99_RATIO = 2.0


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL on loopback instead of a SQLite file")
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default="recommend_bench", help="PostgreSQL database, created and dropped by the bench")
    parser.add_argument("--requests", type=int, default=600, help="measured requests per network size")
    parser.add_argument("--warmup", type=int, default=30, help="requests before measuring, per size")
    parser.add_argument("--rounds", type=int, default=3, help="rounds at 100,000 stations (one geopy loop each)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show-queries", action="store_true", help="print each query of one request, with its time")
    args = parser.parse_args()
    loopback_only(parser, args.pg_host)
    if min(args.requests, args.rounds) < 1 or args.warmup < 0:
        parser.error("need requests >= 1, rounds >= 1, warmup >= 0")
    return args


def configure_environment(args: argparse.Namespace, scratch: Path) -> None:
    for name in [name for name in os.environ if name.startswith("SWAPNET_") or name in {"DATABASE_URL", "REDIS_URL"}]:
        del os.environ[name]
    os.environ["SWAPNET_DATA_DIR"] = str(scratch)
    # One connection for the whole run, as a server with persistent connections or a pool has:
    # the bench measures the recommendation, not connecting to the database.
    os.environ["SWAPNET_DB_CONN_MAX_AGE"] = "3600"
    if args.postgres:
        os.environ["DATABASE_URL"] = database(args).url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "swapnet.settings"
    sys.path.insert(0, str(ROOT))


@dataclass
class Network:
    stations: int = 0
    coordinates: list[tuple[float, float]] | None = None


def grow(network: Network, target: int, rng: random.Random, refs: dict[str, Any]) -> None:
    """Add stations (with bays, links, tariffs and batteries) until there are ``target``."""
    from django.db import transaction

    from apps.assets.models import Battery, BatteryLocation, Bay, Station
    from apps.billing.models import ChargingInterval, StationTariff
    from apps.billing.tou import LOCAL_TIME
    from apps.swaps.models import BatteryCustodyEvent, CustodyKind

    assert network.coordinates is not None
    tariff_from = refs["tariff_from"].astimezone(LOCAL_TIME)
    link_model = Station.pack_standards.through
    chunk = 5_000
    for start in range(network.stations, target, chunk):
        numbers = range(start, min(start + chunk, target))
        points = [(rng.uniform(*REGION[0]), rng.uniform(*REGION[1])) for _ in numbers]
        with transaction.atomic():
            stations = Station.objects.bulk_create(
                Station(
                    code=f"B{number:07d}",
                    name_zh=f"基准换电站{number}",
                    name_en=f"Bench station {number}",
                    operator=refs["operators"][number % len(refs["operators"])],
                    latitude=Decimal(f"{lat:.6f}"),
                    longitude=Decimal(f"{lon:.6f}"),
                    tariff_zone="hebei_south",
                    slot_count=4,
                    last_heartbeat_at=refs["now"],
                )
                for number, (lat, lon) in zip(numbers, points, strict=True)
            )
            if any(station.pk is None for station in stations):  # SQLite before RETURNING
                by_code = dict(Station.objects.filter(code__in=[s.code for s in stations]).values_list("code", "pk"))
                for station in stations:
                    station.pk = by_code[station.code]
            link_model.objects.bulk_create(link_model(station_id=s.pk, packstandard_id=refs["standard"].pk) for s in stations)
            Bay.objects.bulk_create(Bay(station_id=s.pk, number=1) for s in stations)
            StationTariff.objects.bulk_create(
                StationTariff(
                    station_id=s.pk,
                    effective_from=tariff_from,
                    price_sharp=Decimal("1.0540"),
                    price_peak=Decimal("0.8680"),
                    price_flat=Decimal("0.6200"),
                    price_valley=Decimal("0.3100"),
                    price_deep_valley=Decimal("0.2480"),
                    service_fee_per_kwh=Decimal("0.4500"),
                )
                for s in stations
            )
            batteries: list[Battery] = []
            charged: list[tuple[Battery, int]] = []  # with their station's id
            for s in stations:
                number = int(s.code[1:])
                for slot, charge in ((1, Decimal(95)), (2, Decimal(100)), (3, Decimal(rng.randint(55, 88)))):
                    battery = Battery(
                        code=f"BNCH{number:012d}{slot:08d}",
                        owner=refs["owners"][slot % 2],
                        pack_standard=refs["standard"],
                        chemistry="LFP",
                        rated_kwh=Decimal("282.0"),
                        health_pct=Decimal("97.00"),
                        charge_pct=charge,
                        energy_kwh=(Decimal("273.540") * charge / 100).quantize(Decimal("0.001")),
                        location=BatteryLocation.STATION,
                        station_id=s.pk,
                        station_slot=slot,
                    )
                    batteries.append(battery)
                    if charge >= 90:
                        charged.append((battery, s.pk))
            Battery.objects.bulk_create(batteries)
            if any(battery.pk is None for battery in batteries):  # SQLite before RETURNING
                by_code = dict(Battery.objects.filter(code__in=[b.code for b in batteries]).values_list("code", "pk"))
                for battery in batteries:
                    battery.pk = by_code[battery.code]
            # The charged ones came back from a vehicle four hours ago and charged since.
            returned_at, charge_start = refs["now"] - timedelta(hours=4), refs["now"] - timedelta(hours=3)
            BatteryCustodyEvent.objects.bulk_create(
                BatteryCustodyEvent(
                    battery_id=battery.pk,
                    kind=CustodyKind.RETURNED,
                    at=returned_at,
                    station_id=station_id,
                    station_slot=battery.station_slot,
                    energy_kwh=Decimal("60.000"),
                )
                for battery, station_id in charged
            )
            ChargingInterval.objects.bulk_create(
                ChargingInterval(
                    battery_id=battery.pk,
                    station_id=station_id,
                    started_at=charge_start,
                    ended_at=charge_start + timedelta(minutes=50),
                    kwh=battery.energy_kwh - Decimal("60.000"),
                )
                for battery, station_id in charged
            )
        network.coordinates.extend(points)
        network.stations = numbers[-1] + 1
        print(f"\r  {network.stations:>7,} stations", end="", flush=True)
    print()


def setup_world() -> dict[str, Any]:
    """Organisations, the pack standard, calendars, trucks and their driver's bearer token."""
    import secrets

    from django.utils import timezone

    from apps.accounts.authentication import auth_token_hash
    from apps.accounts.models import AuthToken, Membership, Organisation, OrganisationKind, Role, User
    from apps.assets.models import Battery, BatteryLocation, PackStandard, Vehicle, VehicleAssignment, VehicleSegment
    from apps.billing.models import BatteryRate
    from apps.billing.services import corridor_calendars_load
    from apps.billing.tou import LOCAL_TIME
    from apps.common.identifiers import vin_check_digit
    from apps.swaps.models import BatteryCustodyEvent, CustodyKind

    def organisation(code: str, kind: str) -> Organisation:
        return Organisation.objects.create(code=code, name=code, name_en=code, kind=kind)

    corridor_calendars_load()
    standard = PackStandard.objects.create(
        code="HT-282-LFP",
        name="Heavy truck 282 kWh LFP",
        segment=VehicleSegment.HEAVY_TRUCK,
        rated_kwh=Decimal("282.0"),
        chemistry="LFP",
    )
    operators = [organisation(f"bench-operator-{n}", OrganisationKind.STATION_OPERATOR) for n in range(10)]
    owners = [organisation(f"bench-owner-{n}", OrganisationKind.BATTERY_OWNER) for n in range(2)]
    carrier = organisation("bench-carrier", OrganisationKind.CARRIER)
    organisation("bench-platform", OrganisationKind.PLATFORM)
    driver = User.objects.create_user("13900000001", secrets.token_urlsafe(16), display_name="bench driver")
    Membership.objects.create(user=driver, organisation=carrier, role=Role.DRIVER)
    token = secrets.token_urlsafe(32)
    AuthToken.objects.create(user=driver, key_hash=auth_token_hash(token), label="bench")
    plates = []
    for number in range(1, TRUCKS + 1):
        body = f"LBNCH2B4X{number:08d}"
        vehicle = Vehicle.objects.create(
            plate=f"冀J{number:05d}D",
            plate_kind="new_energy_large",
            vin=body[:8] + vin_check_digit(body) + body[9:],
            carrier=carrier,
            pack_standard=standard,
        )
        VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
        carried = Battery.objects.create(
            code=f"BNCHVEHICLE{number:013d}",
            owner=owners[0],
            pack_standard=standard,
            chemistry="LFP",
            rated_kwh=Decimal("282.0"),
            health_pct=Decimal("97.00"),
            charge_pct=Decimal("73.00"),
            energy_kwh=Decimal("200.000"),
            location=BatteryLocation.VEHICLE,
            vehicle=vehicle,
            vehicle_position=1,
        )
        # Handed out with 250 kWh two hours ago: the quote charges its owner's usage fee for 50 kWh.
        BatteryCustodyEvent.objects.create(
            battery=carried,
            kind=CustodyKind.DELIVERED,
            at=timezone.now() - timedelta(hours=2),
            vehicle=vehicle,
            vehicle_position=1,
            energy_kwh=Decimal("250.000"),
        )
        plates.append(vehicle.plate)
    for owner in owners:
        BatteryRate.objects.create(owner=owner, fee_per_kwh=Decimal("0.3000"), effective_from=timezone.now() - timedelta(days=30))
    now = timezone.now()
    return {
        "standard": standard,
        "operators": operators,
        "owners": owners,
        "token": token,
        "plates": plates,
        "now": now,
        "tariff_from": now.astimezone(LOCAL_TIME).replace(year=now.year - 1),
    }


@dataclass
class SizeResult:
    stations: int
    latencies: list[float]
    service: list[float]
    index_build_s: float
    version_read_s: float
    queries: int
    considered: float
    geopy_loops: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


def measure(network: Network, refs: dict[str, Any], args: argparse.Namespace, rng: random.Random) -> SizeResult:
    from django.db import connection
    from django.test import Client
    from geopy.distance import geodesic

    from apps.recommend import apis, selectors, spatial

    client = Client(HTTP_AUTHORIZATION=f"Bearer {refs['token']}")
    # The service alone (selectors, scoring, estimates, the log write) inside each request.
    service_times: list[float] = []
    service = apis.services.recommendation_make

    def timed_service(**kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return service(**kwargs)
        finally:
            service_times.append(time.perf_counter() - started)

    apis.services.recommendation_make = timed_service

    def ask() -> tuple[float, dict[str, Any]]:
        params = {
            "lat": f"{rng.uniform(*ASK_REGION[0]):.6f}",
            "lon": f"{rng.uniform(*ASK_REGION[1]):.6f}",
            "vehicle": rng.choice(refs["plates"]),
        }
        started = time.perf_counter()
        response = client.get("/api/v1/stations/recommend", params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"recommend answered {response.status_code}: {response.content[:500]!r}")
        return elapsed, response.json()

    def geopy_loop() -> float:
        assert network.coordinates is not None
        origin = (rng.uniform(*ASK_REGION[0]), rng.uniform(*ASK_REGION[1]))
        started = time.perf_counter()
        distances = [geodesic(origin, point).km for point in network.coordinates]
        elapsed = time.perf_counter() - started
        assert len(distances) == network.stations
        return elapsed

    started = time.perf_counter()
    spatial.stations_version()
    version_read = time.perf_counter() - started
    selectors.caches_forget()
    started = time.perf_counter()
    spatial.station_index()
    index_build = time.perf_counter() - started

    for _ in range(args.warmup):
        ask()
    queries: list[tuple[float, str]] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(timed):
        ask()
    if args.show_queries:
        for seconds, sql in queries:
            print(f"    {seconds * 1000:8.2f} ms  {sql[:160]}")
    rounds = args.rounds if network.stations >= SIZES[-1] else 1
    latencies: list[float] = []
    considered: list[int] = []
    loops: list[float] = []
    service_times.clear()
    for round_number in range(rounds):
        loops.append(geopy_loop())
        share = args.requests // rounds + (round_number < args.requests % rounds)
        for _ in range(share):
            elapsed, body = ask()
            latencies.append(elapsed)
            considered.append(body["considered"])
    apis.services.recommendation_make = service
    return SizeResult(
        stations=network.stations,
        latencies=latencies,
        service=service_times[:],
        index_build_s=index_build,
        version_read_s=version_read,
        queries=len(queries),
        considered=statistics.mean(considered),
        geopy_loops=loops,
    )


def report(results: list[SizeResult], args: argparse.Namespace) -> bool:
    from django.conf import settings

    print()
    print(
        f"{'stations':>9} {'request median ms':>18} {'p99 ms':>7} {'service median ms':>18} {'p99 ms':>7} {'queries':>8} "
        f"{'considered':>10} {'geopy loop s':>13} {'speed-up':>9} {'index build s':>14} {'version read ms':>16}"
    )
    for result in results:
        loop = statistics.median(result.geopy_loops)
        print(
            f"{result.stations:>9,} {result.median * 1000:>18.2f} {result.p99 * 1000:>7.2f} "
            f"{statistics.median(result.service) * 1000:>18.2f} {percentile(result.service, 0.99) * 1000:>7.2f} "
            f"{result.queries:>8} {result.considered:>10.1f} {loop:>13.3f} {loop / result.median:>8.0f}x "
            f"{result.index_build_s:>14.3f} {result.version_read_s * 1000:>16.2f}"
        )
    smallest, largest = results[0], results[-1]
    speedup = statistics.median(largest.geopy_loops) / largest.median
    p99_ratio = largest.p99 / smallest.p99
    database = "PostgreSQL (loopback)" if args.postgres else "SQLite (a file)"
    print()
    print(
        f"{args.requests} measured requests per size after {args.warmup} warm-up; {database}; "
        f"at {largest.stations:,} stations {len(largest.geopy_loops)} rounds, each one full geopy loop "
        f"(loop times {', '.join(f'{loop:.2f}' for loop in largest.geopy_loops)} s) then its share of the requests; "
        f"RECOMMEND_MAX_CANDIDATES {settings.RECOMMEND_MAX_CANDIDATES}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    ok_speed = speedup >= TARGET_SPEEDUP
    ok_p99 = p99_ratio <= TARGET_P99_RATIO
    print(
        f"Target 1: at {largest.stations:,} stations the median request is {speedup:,.0f}x faster than the geopy loop "
        f"(target >= {TARGET_SPEEDUP}x): {'met' if ok_speed else 'MISSED'}"
    )
    print(
        f"Target 2: p99 at {largest.stations:,} is {p99_ratio:.2f}x p99 at {smallest.stations:,} "
        f"(target <= {TARGET_P99_RATIO:g}x): {'met' if ok_p99 else 'MISSED'}"
    )
    return ok_speed and ok_p99


def database(args: argparse.Namespace) -> Postgres:
    return Postgres(args.database, host=args.pg_host, port=args.pg_port, user=args.pg_user)


def main() -> int:
    args = parse_options()
    throwaway = database(args)
    busy = os.getloadavg()[0]
    print(f"Load average before the run: {busy:.2f} (1 min)", flush=True)
    if busy >= 1.0:
        print("Warning: the machine is already busy; the figures will be noisy.", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="swapnet-bench-recommend-") as scratch:
        configure_environment(args, Path(scratch))
        if args.postgres:
            throwaway.create()
        try:
            import django

            django.setup()
            from django.conf import settings
            from django.core.management import call_command
            from django.db import connection

            print(f"Migrating {connection.vendor} ...", flush=True)
            call_command("migrate", verbosity=0, interactive=False)
            # Stations stay online for the whole run (their heartbeats are not simulated).
            settings.STATION_OFFLINE_AFTER = timedelta(days=1)
            rng = random.Random(args.seed)
            refs = setup_world()
            network = Network(coordinates=[])
            results = []
            for size in SIZES:
                print(f"Growing the network to {size:,} stations ...", flush=True)
                grow(network, size, rng, refs)
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("ANALYZE")
                print(f"Measuring at {size:,} stations ...", flush=True)
                results.append(measure(network, refs, args, rng))
            ok = report(results, args)
        finally:
            if args.postgres:
                from django.db import connections

                connections.close_all()
                throwaway.drop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
