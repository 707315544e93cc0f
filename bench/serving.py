"""Benchmark of the serving path: the same Django project under gunicorn (WSGI) and uvicorn (ASGI).

    .venv/bin/python bench/serving.py

Creates a fresh PostgreSQL database (dropped first, dropped again at the end), migrates it and
seeds the demo corridor, then starts on free loopback ports

  * gunicorn swapnet.wsgi with 2 sync workers,
  * uvicorn swapnet.asgi:application, one process, and
  * the same, two processes accepting on one socket (as many processes as gunicorn),

and loads each in turn with a fixed number of concurrent HTTP/1.1 keep-alive clients (gunicorn's
sync workers close the connection after each response, so against gunicorn each request
connects anew) for a fixed time, in rounds that interleave the servers:
``GET /healthz`` (the baseline: one ``SELECT 1``, a channel-layer round trip, a broker check)
and ``GET /api/v1/stations`` signed in as a demo driver (session, memberships, stations with
stock counts). It prints requests/s, p50 and p99 latency per server and endpoint, and the
ratio of gunicorn to each uvicorn. Every server it started is stopped and the database dropped,
even on error. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg
from benchkit import LOOPBACK, ROOT, Postgres, clean_environment, manage, tail

DRIVER_PHONE = "13800000041"  # a demo driver (apps/demo/services.py)
ENDPOINTS = ["/healthz", "/api/v1/stations"]

SESSION_SNIPPET = f"""
from django.conf import settings
from django.test import Client
from apps.accounts.models import User
client = Client()
client.force_login(User.objects.get(phone="{DRIVER_PHONE}"))
print(settings.SESSION_COOKIE_NAME + "=" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


@dataclass(frozen=True)
class Options:
    pg_host: str
    pg_port: int
    pg_user: str
    database: str
    redis_url: str
    db_pool: bool
    clients: int
    processes: int
    warmup: float
    duration: float
    rounds: int


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: Callable[[int], list[str]]  # the command, given the listening socket's file descriptor
    copies: int = 1  # processes started with this command, all accepting on the one socket


@dataclass
class Server:
    name: str
    port: int
    listener: socket.socket
    processes: list[subprocess.Popen[bytes]]
    log: Path

    def exited(self) -> subprocess.Popen[bytes] | None:
        return next((process for process in self.processes if process.poll() is not None), None)


@dataclass(frozen=True)
class Result:
    server: str
    endpoint: str
    requests: int
    errors: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # CPU time of the server's processes per request (NaN where /proc is missing)
    database_cpu_ms: float  # CPU time of the PostgreSQL backends serving them, per request


class BenchError(Exception):
    pass


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default="swapnet_bench", help="created and dropped by the bench")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="channel layer, broker and cache of the servers; '' for the in-memory layer and eager tasks",
    )
    parser.add_argument("--no-db-pool", dest="db_pool", action="store_false", help="a new connection per request")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--processes", type=int, default=2, help="client processes the connections are spread over")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before measuring, every round")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per server and endpoint, in all")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the measured time is split into")
    args = parser.parse_args()
    for host in (args.pg_host, *([args.redis_url.split("//")[-1].split(":")[0]] if args.redis_url else [])):
        if host not in {LOOPBACK, "localhost"}:
            parser.error(f"{host}: the bench only talks to loopback addresses")
    if args.clients < 1 or args.processes < 1 or args.processes > args.clients:
        parser.error("need clients >= processes >= 1")
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("need rounds >= 1, duration > 0 and warmup >= 0")
    return Options(
        pg_host=args.pg_host,
        pg_port=args.pg_port,
        pg_user=args.pg_user,
        database=args.database,
        redis_url=args.redis_url,
        db_pool=args.db_pool,
        clients=args.clients,
        processes=args.processes,
        warmup=args.warmup,
        duration=args.duration,
        rounds=args.rounds,
    )


# --- Database -------------------------------------------------------------------------------
def database(options: Options) -> Postgres:
    return Postgres(options.database, host=options.pg_host, port=options.pg_port, user=options.pg_user)


def server_environment(options: Options) -> dict[str, str]:
    return clean_environment(
        DATABASE_URL=database(options).url,
        REDIS_URL=options.redis_url,
        SWAPNET_DB_POOL="1" if options.db_pool else "0",
        SWAPNET_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )


# --- Servers --------------------------------------------------------------------------------
def listening_socket() -> socket.socket:
    """A listening socket on a free loopback port, handed to the server processes as a file descriptor."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    return listener


def gunicorn(workers: int) -> Callable[[int], list[str]]:
    def command(fd: int) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "swapnet.wsgi", "--workers", str(workers), "--worker-class", "sync",
                "--bind", f"fd://{fd}", "--log-level", "warning"]  # fmt: skip

    return command


def uvicorn(fd: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "swapnet.asgi:application", "--fd", str(fd), "--lifespan", "off",
            "--log-level", "warning", "--no-access-log"]  # fmt: skip


# The first is the one the others are compared with. Two uvicorn processes on one socket use
# as many processes as gunicorn's two workers, which separates the cost of ASGI from the number
# of processes. (They are two servers rather than ``uvicorn --workers 2`` because a uvicorn
# worker process imports the application inside its event loop, where swapnet's start-up
# database probe is refused.)
SERVERS = [
    ServerSpec("gunicorn (WSGI, 2 sync workers)", gunicorn(2)),
    ServerSpec("uvicorn (ASGI, 1 process)", uvicorn),
    ServerSpec("uvicorn (ASGI, 2 processes)", uvicorn, copies=2),
]


def start_server(spec: ServerSpec, env: dict[str, str], log: Path) -> Server:
    listener = listening_socket()
    server = Server(spec.name, listener.getsockname()[1], listener, [], log)
    with log.open("wb") as handle:
        for _ in range(spec.copies):
            server.processes.append(
                subprocess.Popen(
                    spec.command(listener.fileno()),
                    cwd=ROOT,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    start_new_session=True,
                )
            )
    return server


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (process := server.exited()) is not None:
            raise BenchError(f"{server.name} exited with {process.returncode}:\n{tail(server.log)}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=5)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                body = response.read()
                if response.status == 200:
                    return
                raise BenchError(f"{server.name}: /healthz answered {response.status}: {body.decode()[:300]}")
            finally:
                conn.close()
        time.sleep(0.2)
    raise BenchError(f"{server.name} did not answer within {timeout:.0f} s:\n{tail(server.log)}")


def stop_server(server: Server) -> None:
    for process in server.processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in server.processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    server.listener.close()


# --- Load -----------------------------------------------------------------------------------
def load_process(
    port: int, path: str, cookie: str, threads: int, start_at: float, warmup: float, duration: float
) -> tuple[list[float], int]:
    """Run ``threads`` keep-alive clients against one endpoint; return measured latencies (ms) and errors."""
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    headers = {"Cookie": cookie, "Accept": "application/json"} if cookie else {"Accept": "application/json"}

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        while time.time() < start_at:
            time.sleep(0.001)
        while True:
            began_at = time.time()
            if began_at >= stop_at:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            elapsed_ms = (time.perf_counter() - started) * 1000
            if began_at >= measure_from:
                if ok:
                    latencies[index].append(elapsed_ms)
                else:
                    errors[index] += 1
        conn.close()

    workers = [threading.Thread(target=client, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [value for values in latencies for value in values], sum(errors)


@dataclass
class Samples:
    """What the rounds measured for one server and endpoint."""

    latencies: list[float]
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    database_cpu_seconds: float = 0.0


def process_cpu_seconds(pids: set[int] | None = None, sessions: set[int] | None = None) -> dict[int, float]:
    """User + system CPU seconds of the given processes, or of every process in the given
    sessions, read from /proc (Linux; empty elsewhere)."""
    found: dict[int, float] = {}
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(stat.parent.name)
            if pids is not None and pid not in pids:
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if sessions is not None and int(fields[3]) not in sessions:  # field 6, the session id
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks_per_second  # fields 14 and 15, utime and stime
    return found


def server_cpu(server: Server) -> dict[int, float]:
    return process_cpu_seconds(sessions={process.pid for process in server.processes})


def database_cpu(options: Options) -> dict[int, float]:
    """CPU of the PostgreSQL backends connected to the bench database (the servers' pools)."""
    with database(options).admin() as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (options.database,)).fetchall()
    return process_cpu_seconds(pids={int(str(row[0])) for row in rows})


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings; NaN where /proc cannot be read."""
    if not Path("/proc/self/stat").exists():
        return math.nan
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def load_round(pool: ProcessPoolExecutor, server: Server, path: str, cookie: str, seconds: float, options: Options) -> Samples:
    """One round: every client warms up, then measures for ``seconds``."""
    start_at = time.time() + 0.5  # every client process starts at the same moment
    shares = [options.clients // options.processes + (i < options.clients % options.processes) for i in range(options.processes)]
    futures = [
        pool.submit(load_process, server.port, path, cookie, threads, start_at, options.warmup, seconds) for threads in shares
    ]
    sleep_until(start_at + options.warmup)
    server_before, database_before = server_cpu(server), database_cpu(options)
    sleep_until(start_at + options.warmup + seconds)
    samples = Samples(
        latencies=[],
        seconds=seconds,
        cpu_seconds=cpu_spent(server_before, server_cpu(server)),
        database_cpu_seconds=cpu_spent(database_before, database_cpu(options)),
    )
    for future in futures:
        values, failed = future.result()
        samples.latencies.extend(values)
        samples.errors += failed
    return samples


def summarise(server: str, path: str, samples: Samples) -> Result:
    if len(samples.latencies) < 2:
        raise BenchError(f"{server} {path}: {len(samples.latencies)} successful requests, {samples.errors} errors")
    cuts = statistics.quantiles(samples.latencies, n=100, method="inclusive")
    return Result(
        server=server,
        endpoint=path,
        requests=len(samples.latencies),
        errors=samples.errors,
        per_second=len(samples.latencies) / samples.seconds,
        p50_ms=cuts[49],
        p99_ms=cuts[98],
        cpu_ms=1000 * samples.cpu_seconds / len(samples.latencies),
        database_cpu_ms=1000 * samples.database_cpu_seconds / len(samples.latencies),
    )


def check_endpoint(server: Server, path: str, cookie: str) -> None:
    conn = http.client.HTTPConnection(LOOPBACK, server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
    finally:
        conn.close()
    if response.status != 200 or (path.startswith("/api/") and '"count":10' not in body):
        raise BenchError(f"{server.name} {path}: expected 200 with the 10 demo stations, got {response.status}: {body[:300]}")


# --- Report ---------------------------------------------------------------------------------
def report(results: list[Result], options: Options) -> None:
    print()
    print(
        f"{options.clients} keep-alive clients in {options.processes} processes, "
        f"{options.duration:g} s measured per row in {options.rounds} rounds (each after {options.warmup:g} s warm-up); "
        f"{os.cpu_count()} CPUs shared by clients, "
        f"servers, PostgreSQL{' and Redis' if options.redis_url else ''}; "
        f"database connections {'from a psycopg pool' if options.db_pool else 'opened per request'}"
    )
    columns = (
        f"{'server':<31} | {'endpoint':<16} | {'requests':>8} | {'req/s':>5} | {'p50 ms':>6} | {'p99 ms':>6} | "
        f"{'server CPU ms/req':>17} | {'db CPU ms/req':>13} | {'errors':>6}"
    )
    header = f"| {columns} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for r in results:
        print(
            f"| {r.server:<31} | {r.endpoint:<16} | {r.requests:>8} | {r.per_second:>5.0f} | "
            f"{r.p50_ms:>6.1f} | {r.p99_ms:>6.1f} | {r.cpu_ms:>17.2f} | {r.database_cpu_ms:>13.2f} | {r.errors:>6} |"
        )
    print()
    for path in ENDPOINTS:
        base, *others = [r for r in results if r.endpoint == path]
        for other in others:
            print(
                f"{path}: {base.server} serves {base.per_second / other.per_second:.1f}x the requests per second of "
                f"{other.server}, which spends {other.cpu_ms / base.cpu_ms:.1f}x the server CPU per request"
            )


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so the ``finally`` blocks stop the servers."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(options: Options) -> list[Result]:
    env = server_environment(options)
    servers: list[Server] = []
    busy = os.getloadavg()[0]
    print(f"Load average before the run: {busy:.2f} (1 min); creating database {options.database} ...", flush=True)
    if busy >= 1.0:
        print("Warning: the machine is already busy; the figures will be low and noisy.", file=sys.stderr, flush=True)
    database(options).create()
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--verbosity", "0")
        cookie = manage(env, "shell", "-c", SESSION_SNIPPET).strip().splitlines()[-1]
        with tempfile.TemporaryDirectory(prefix="swapnet-bench-") as logs:
            try:
                for index, spec in enumerate(SERVERS):
                    servers.append(start_server(spec, env, Path(logs) / f"server-{index}.log"))
                for server in servers:
                    wait_ready(server)
                    for path in ENDPOINTS:
                        check_endpoint(server, path, cookie)
                # Rounds interleave the servers, so a passing disturbance on a shared machine
                # does not fall on one server only.
                samples = {(server.name, path): Samples(latencies=[]) for path in ENDPOINTS for server in servers}
                seconds = options.duration / options.rounds
                with ProcessPoolExecutor(max_workers=options.processes) as pool:
                    for round_number in range(1, options.rounds + 1):
                        for path in ENDPOINTS:
                            for server in servers:
                                measured = load_round(
                                    pool, server, path, cookie if path.startswith("/api/") else "", seconds, options
                                )
                                print(
                                    f"Round {round_number}/{options.rounds}: {server.name} {path}: "
                                    f"{len(measured.latencies) / seconds:.0f} req/s; load average {os.getloadavg()[0]:.2f}",
                                    flush=True,
                                )
                                total = samples[(server.name, path)]
                                total.latencies.extend(measured.latencies)
                                total.errors += measured.errors
                                total.seconds += measured.seconds
                                total.cpu_seconds += measured.cpu_seconds
                                total.database_cpu_seconds += measured.database_cpu_seconds
                                if server.exited() is not None:
                                    raise BenchError(f"{server.name} died under load:\n{tail(server.log)}")
                results = [summarise(name, path, total) for (name, path), total in samples.items()]
                return results
            finally:
                for server in servers:
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
