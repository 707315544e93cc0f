"""Benchmark of scan-to-swap under load: ``POST /api/v1/swaps/scan`` beside a plain authenticated
``GET /api/v1/stations/{code}``, in the same run, against gunicorn over loopback.

    .venv/bin/python bench/scan.py

Creates its own PostgreSQL database (``swapnet_bench_scan``: dropped first, dropped again at the
end), migrates it, seeds the demo corridor, and adds what a load of scans needs (``SETUP``):
a certified fleet with money per client (a hold locks its payer's wallet: one shared wallet would
make the clients queue for it), verified drivers each with their own truck (carrying a battery
handed out earlier), bearer tokens, and each station filled with charged batteries. Then it
starts gunicorn (sync workers) on a free loopback port and, in rounds, loads it with
``--clients`` concurrent clients (keep-alive threads spread over ``--processes`` processes):

* **baseline**: every client repeats ``GET /api/v1/stations/{code}`` with its bearer token;
* **scan**: every client scans a fresh bay token (minted as the bay's screen would show it) with
  the next of its drivers and trucks, so each scan is a new order with its own battery, quote
  and hold (a driver or truck has one active order at a time). Between rounds the bench cancels
  the queued orders straight in the database, so their batteries are free again (their holds
  stay: the fleet's wallet is large).

It prints requests/s, p50 and p99 latency per endpoint, and the ratios the targets are about:
scan throughput ≥ 40 % of the baseline's, scan p99 ≤ 3 × the baseline's. Only loopback addresses
are used; every server it started is stopped and the database dropped, even on error.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from benchkit import LOOPBACK, ROOT, Postgres, clean_environment, loopback_only, manage, tail

# Run by ``manage.py shell`` in the bench database; prints one JSON line: the clients' drivers.
SETUP = """
import json, secrets
from datetime import date, timedelta
from decimal import Decimal
from django.utils import timezone
from apps.accounts.authentication import auth_token_hash
from apps.accounts.models import AuthToken, CertificationStatus, Membership, Organisation, OrganisationKind
from apps.accounts.models import RealNameVerification, Role, User
from apps.accounts.personal_data import encrypt, lookup_hash
from apps.assets.models import Battery, BatteryLocation, Bay, Station, Vehicle, VehicleAssignment
from apps.common.identifiers import vin_check_digit
from apps.ledger import services as ledger
from apps.swaps.models import BatteryCustodyEvent

CLIENTS, PER_CLIENT, SLOTS = {clients}, {per_client}, {slots}
now = timezone.now()
# One certified fleet per client, each with its own wallet (holds lock the payer's wallet).
fleets = []
for client in range(CLIENTS):
    fleet, _ = Organisation.objects.get_or_create(code=f"bench-fleet-{{client}}", defaults=dict(
        name=f"压测车队{{client}}", kind=OrganisationKind.CARRIER, certification_status=CertificationStatus.CERTIFIED))
    ledger.wallet_top_up(external_id=f"bench-top-up-{{client}}", payer=fleet, amount_fen=10**10)
    fleets.append(fleet)
owner = Organisation.objects.get(code="north-battery-bank")
stations = list(Station.objects.order_by("km_from_start", "code"))
batteries = []
for index, station in enumerate(stations):
    standard = station.pack_standards.get()
    Station.objects.filter(pk=station.pk).update(slot_count=SLOTS, last_heartbeat_at=now)
    Battery.objects.filter(station=station).update(charge_pct=Decimal("95.00"), temperature_c=Decimal("25.0"))
    taken = set(Battery.objects.filter(station=station).values_list("station_slot", flat=True))
    energy = (standard.rated_kwh * Decimal("0.912")).quantize(Decimal("0.001"))
    for slot in range(1, SLOTS + 1):
        if slot in taken:
            continue
        batteries.append(Battery(
            code=f"BNCPB{{index:02d}}STK{{slot:04d}}R3F{{index * 1000 + slot:07d}}", owner=owner, pack_standard=standard,
            chemistry="LFP", rated_kwh=standard.rated_kwh, health_pct=Decimal("96.00"), charge_pct=Decimal("95.00"),
            energy_kwh=energy, location=BatteryLocation.STATION, station=station, station_slot=slot,
            temperature_c=Decimal("25.0")))
Battery.objects.bulk_create(batteries)
clients, users = [], []
for client in range(CLIENTS):
    station = stations[client % len(stations)]
    drivers = []
    for n in range(PER_CLIENT):
        number = client * PER_CLIENT + n
        users.append(User(phone=f"137{{number:08d}}", display_name=f"压测司机{{number}}"))
        drivers.append({{"token": secrets.token_urlsafe(32), "plate": f"冀A{{number:05d}}D", "number": number}})
    bay = Bay.objects.get(station=station, number=1)
    clients.append({{"station": station.code, "bay": bay.pk, "drivers": drivers}})
User.objects.bulk_create(users)
users = {{u.phone: u for u in User.objects.filter(phone__startswith="137")}}
memberships, verifications, vehicles, auth = [], [], [], []
for fleet, client in zip(fleets, clients):
    standard = Station.objects.get(code=client["station"]).pack_standards.get()
    for driver in client["drivers"]:
        user = users[f"137{{driver['number']:08d}}"]
        memberships.append(Membership(user=user, organisation=fleet, role=Role.DRIVER))
        id_number = f"1101051980{{driver['number']:07d}}X"
        verifications.append(RealNameVerification(
            user=user, legal_name="压测", id_number_encrypted=encrypt(id_number), id_number_hash=lookup_hash(id_number),
            id_number_masked="1101**********000X", licence_number_encrypted=encrypt(id_number),
            licence_number_masked="1101**********000X", licence_class="A2", licence_expires_on=date(2031, 6, 30),
            status="verified"))
        body = f"LBNCH2B4X{{driver['number']:08d}}"
        vin = body[:8] + vin_check_digit(body) + body[9:]
        vehicles.append(Vehicle(
            plate=driver["plate"], plate_kind="new_energy_large", vin=vin, carrier=fleet, pack_standard=standard))
        auth.append(AuthToken(user=user, key_hash=auth_token_hash(driver["token"]), label="bench"))
Membership.objects.bulk_create(memberships)
RealNameVerification.objects.bulk_create(verifications)
Vehicle.objects.bulk_create(vehicles)
AuthToken.objects.bulk_create(auth)
vehicles = {{v.plate: v for v in Vehicle.objects.filter(carrier__in=fleets).select_related("pack_standard")}}
assignments, carried = [], []
for client in clients:
    for driver in client["drivers"]:
        vehicle = vehicles[driver["plate"]]
        number = driver["number"]
        assignments.append(VehicleAssignment(vehicle=vehicle, driver=users[f"137{{number:08d}}"]))
        carried.append(Battery(
            code=f"BNCPBVV{{number:06d}}R3F{{number:07d}}", owner=owner, pack_standard=vehicle.pack_standard,
            chemistry="LFP", rated_kwh=vehicle.pack_standard.rated_kwh, health_pct=Decimal("95.00"),
            charge_pct=Decimal("22.00"), energy_kwh=Decimal("60.000"), location=BatteryLocation.VEHICLE, vehicle=vehicle,
            vehicle_position=1))
VehicleAssignment.objects.bulk_create(assignments)
Battery.objects.bulk_create(carried)
BatteryCustodyEvent.objects.bulk_create([
    BatteryCustodyEvent(battery=b, kind="delivered", at=now - timedelta(days=1), vehicle_id=b.vehicle_id,
                        vehicle_position=1, energy_kwh=Decimal("250.000"))
    for b in Battery.objects.filter(vehicle__carrier__in=fleets)])
print(json.dumps({{"clients": clients}}))
"""


@dataclass(frozen=True)
class Options:
    pg_host: str
    pg_port: int
    pg_user: str
    database: str
    clients: int
    processes: int
    workers: int
    per_client: int
    slots: int
    duration: float
    rounds: int
    warmup: float


@dataclass(frozen=True)
class Result:
    endpoint: str
    requests: int
    errors: int
    per_second: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float  # gunicorn's CPU time per request
    database_cpu_ms: float  # the bench database's PostgreSQL backends' CPU time per request


class BenchError(Exception):
    pass


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default="swapnet_bench_scan", help="created and dropped by the bench")
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients")
    parser.add_argument("--processes", type=int, default=4, help="client processes the clients are spread over")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers (2 x cores + 1)")
    parser.add_argument(
        "--per-client", type=int, default=40, help="drivers (and trucks) per client: scans per client per round, at most"
    )
    parser.add_argument("--slots", type=int, default=80, help="battery slots per station, all filled with charged batteries")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds measured per endpoint, in all")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the measured time is split into")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before measuring, every round")
    args = parser.parse_args()
    loopback_only(parser, args.pg_host)
    if args.clients < 1 or args.processes < 1 or args.processes > args.clients:
        parser.error("need clients >= processes >= 1")
    return Options(
        pg_host=args.pg_host,
        pg_port=args.pg_port,
        pg_user=args.pg_user,
        database=args.database,
        clients=args.clients,
        processes=args.processes,
        workers=args.workers,
        per_client=args.per_client,
        slots=args.slots,
        duration=args.duration,
        rounds=args.rounds,
        warmup=args.warmup,
    )


# --- Database and server --------------------------------------------------------------------
def database(options: Options) -> Postgres:
    return Postgres(options.database, host=options.pg_host, port=options.pg_port, user=options.pg_user)


def environment(options: Options) -> dict[str, str]:
    return clean_environment(
        DATABASE_URL=database(options).url,
        SWAPNET_DB_POOL="1",
        SWAPNET_DB_POOL_MAX="4",
        SWAPNET_LOG_LEVEL="WARNING",
        # No controller heartbeats during the bench: the stations stay online for it.
        SWAPNET_STATION_OFFLINE_AFTER_S="86400",
        SWAPNET_QR_TOKEN_LIFETIME_S="3600",  # noqa: S106 - a lifetime in seconds, not a password
        DJANGO_SETTINGS_MODULE="swapnet.settings",
        PYTHONUNBUFFERED="1",
    )


def reset_orders(options: Options) -> int:
    """Cancel the bench's queued orders in the database: their batteries and drivers are free again."""
    with psycopg.connect(
        host=options.pg_host, port=options.pg_port, user=options.pg_user, dbname=options.database, autocommit=True
    ) as conn:
        cursor = conn.execute(
            "UPDATE swaps_swaporder SET state = 'cancelled', battery_held = false, cancelled_at = now() "
            "WHERE state IN ('requested', 'queued')"
        )
        return cursor.rowcount


@dataclass
class Server:
    port: int
    listener: socket.socket
    process: subprocess.Popen[bytes]
    log: Path


def start_server(options: Options, env: dict[str, str], log: Path) -> Server:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "swapnet.wsgi",
        "--workers",
        str(options.workers),
        "--worker-class",
        "sync",
        "--bind",
        f"fd://{listener.fileno()}",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
            start_new_session=True,
        )
    return Server(listener.getsockname()[1], listener, process, log)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"gunicorn exited with {server.process.returncode}:\n{tail(server.log)}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=5)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {timeout:.0f} s:\n{tail(server.log)}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)
    server.listener.close()


# --- Load -----------------------------------------------------------------------------------
_minter: Any = None


def _client_setup(env: dict[str, str]) -> None:
    """Each client process loads Django's settings once, to mint bay tokens as the server would."""
    global _minter
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from apps.swaps import qr

    _minter = qr.screen_token_issue


def _ready(_index: int) -> bool:
    """Make sure every client process has started (and set Django up) before the first round."""
    time.sleep(0.5)
    return _minter is not None


def load_process(
    port: int, endpoint: str, clients: list[dict[str, Any]], start_at: float, warmup: float, duration: float
) -> tuple[list[float], int, int]:
    """Run one keep-alive client per entry of ``clients``; return measured latencies (ms), errors
    and clients that ran out of drivers."""
    from datetime import UTC, datetime

    measure_from, stop_at = start_at + warmup, start_at + warmup + duration
    latencies: list[list[float]] = [[] for _ in clients]
    errors = [0] * len(clients)
    exhausted = [0] * len(clients)

    def client(index: int) -> None:
        spec = clients[index]
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
        drivers = iter(spec["drivers"])
        viewer = spec["drivers"][0]["token"]
        while time.time() < start_at:
            time.sleep(0.001)
        while (began := time.time()) < stop_at:
            if endpoint == "scan":
                driver = next(drivers, None)
                if driver is None:
                    exhausted[index] = 1
                    break
                token = _minter(bay_id=spec["bay"], now=datetime.now(tz=UTC)).token
                body = json.dumps({"qr": token, "plate": driver["plate"]}).encode()
                method, path, auth, expected = "POST", "/api/v1/swaps/scan", driver["token"], 201
            else:
                body, method, path, auth, expected = None, "GET", f"/api/v1/stations/{spec['station']}", viewer, 200
            headers = {"Authorization": f"Bearer {auth}", "Accept": "application/json", "Content-Type": "application/json"}
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == expected
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            if began >= measure_from:
                if ok:
                    latencies[index].append(elapsed)
                else:
                    errors[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [v for values in latencies for v in values], sum(errors), sum(exhausted)


@dataclass
class Samples:
    latencies: list[float]
    errors: int = 0
    seconds: float = 0.0
    exhausted: int = 0
    server_cpu: float = 0.0
    database_cpu: float = 0.0


def cpu_seconds(*, session: int, database: str) -> tuple[float, float]:
    """User + system CPU time of gunicorn's processes (its session) and of the PostgreSQL backends
    serving ``database``, from /proc (Linux; NaN elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return math.nan, math.nan
    server = postgres = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            if int(fields[3]) == session:
                server += ticks
            elif f" {database} " in (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace") + " ":
                postgres += ticks
    tick = os.sysconf("SC_CLK_TCK")
    return server / tick, postgres / tick


def load_round(
    pool: ProcessPoolExecutor, server: Server, endpoint: str, clients: list[dict[str, Any]], seconds: float, options: Options
) -> Samples:
    start_at = time.time() + 0.5
    shares = [clients[i :: options.processes] for i in range(options.processes)]
    futures = [pool.submit(load_process, server.port, endpoint, share, start_at, options.warmup, seconds) for share in shares]
    time.sleep(max(0.0, start_at + options.warmup - time.time()))
    server_before, database_before = cpu_seconds(session=server.process.pid, database=options.database)
    samples = Samples(latencies=[], seconds=seconds)
    for future in futures:
        values, failed, exhausted = future.result()
        samples.latencies.extend(values)
        samples.errors += failed
        samples.exhausted += exhausted
    server_after, database_after = cpu_seconds(session=server.process.pid, database=options.database)
    samples.server_cpu, samples.database_cpu = server_after - server_before, database_after - database_before
    return samples


def summarise(endpoint: str, samples: Samples) -> Result:
    if len(samples.latencies) < 2:
        raise BenchError(f"{endpoint}: {len(samples.latencies)} successful requests, {samples.errors} errors")
    cuts = statistics.quantiles(samples.latencies, n=100, method="inclusive")
    count = len(samples.latencies)
    return Result(
        endpoint,
        count,
        samples.errors,
        count / samples.seconds,
        cuts[49],
        cuts[98],
        1000 * samples.server_cpu / count,
        1000 * samples.database_cpu / count,
    )


def report(results: dict[str, Result], options: Options) -> None:
    print()
    print(
        f"gunicorn, {options.workers} sync workers; {options.clients} keep-alive clients in {options.processes} processes; "
        f"{options.duration:g} s measured per endpoint in {options.rounds} rounds (each after {options.warmup:g} s warm-up); "
        f"{os.cpu_count()} CPUs shared by clients, server and PostgreSQL"
    )
    header = (
        f"| {'endpoint':<28} | {'requests':>8} | {'req/s':>6} | {'p50 ms':>7} | {'p99 ms':>7} | {'server CPU ms/req':>17} | "
        f"{'PostgreSQL CPU ms/req':>21} | {'errors':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|")
    names = {"baseline": "GET /api/v1/stations/{code}", "scan": "POST /api/v1/swaps/scan"}
    for key, r in results.items():
        print(
            f"| {names[key]:<28} | {r.requests:>8} | {r.per_second:>6.1f} | {r.p50_ms:>7.1f} | {r.p99_ms:>7.1f} | "
            f"{r.server_cpu_ms:>17.2f} | {r.database_cpu_ms:>21.2f} | {r.errors:>6} |"
        )
    base, scan = results["baseline"], results["scan"]
    ratio = scan.per_second / base.per_second
    p99 = scan.p99_ms / base.p99_ms
    print()
    print(f"scan throughput = {ratio:.0%} of the baseline's (target >= 40 %): {'met' if ratio >= 0.40 else 'NOT met'}")
    print(f"scan p99 = {p99:.2f} x the baseline's (target <= 3 x): {'met' if p99 <= 3 else 'NOT met'}")


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(options: Options) -> dict[str, Result]:
    env = environment(options)
    print(f"Load average before the run: {os.getloadavg()[0]:.2f} (1 min); creating database {options.database} ...", flush=True)
    database(options).create()
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--verbosity", "0")
        setup = SETUP.format(clients=options.clients, per_client=options.per_client, slots=options.slots)
        clients = json.loads(manage(env, "shell", "-c", setup).strip().splitlines()[-1])["clients"]
        print(f"Set up {options.clients} clients x {options.per_client} drivers; starting gunicorn ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="swapnet-bench-scan-") as logs:
            server = start_server(options, env, Path(logs) / "gunicorn.log")
            try:
                wait_ready(server)
                totals = {"baseline": Samples(latencies=[]), "scan": Samples(latencies=[])}
                seconds = options.duration / options.rounds
                with ProcessPoolExecutor(max_workers=options.processes, initializer=_client_setup, initargs=(env,)) as pool:
                    if not all(pool.map(_ready, range(options.processes))):
                        raise BenchError("a client process could not load Django's settings")
                    # A round that is not measured: gunicorn's workers import, connect and warm their caches.
                    for endpoint in ("baseline", "scan"):
                        load_round(pool, server, endpoint, clients, 3.0, options)
                    reset_orders(options)
                    for number in range(1, options.rounds + 1):
                        for endpoint in ("baseline", "scan"):
                            measured = load_round(pool, server, endpoint, clients, seconds, options)
                            reset = reset_orders(options) if endpoint == "scan" else 0
                            print(
                                f"Round {number}/{options.rounds}: {endpoint}: {len(measured.latencies) / seconds:.1f} req/s, "
                                f"{measured.errors} errors{f', {reset} orders reset' if reset else ''}; "
                                f"load average {os.getloadavg()[0]:.2f}",
                                flush=True,
                            )
                            if measured.exhausted:
                                raise BenchError(f"{measured.exhausted} clients ran out of drivers: raise --per-client")
                            total = totals[endpoint]
                            total.latencies.extend(measured.latencies)
                            total.errors += measured.errors
                            total.seconds += measured.seconds
                            total.server_cpu += measured.server_cpu
                            total.database_cpu += measured.database_cpu
                            if server.process.poll() is not None:
                                raise BenchError(f"gunicorn died under load:\n{tail(server.log)}")
                return {endpoint: summarise(endpoint, total) for endpoint, total in totals.items()}
            finally:
                stop_server(server)
    finally:
        database(options).drop()
        print(f"Dropped database {options.database}.", flush=True)


def main() -> int:
    options = parse_options()
    with terminate_on_sigterm():
        try:
            results = run(options)
        except (BenchError, RuntimeError, psycopg.Error) as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    report(results, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
