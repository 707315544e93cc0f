"""``manage.py simulate_controllers``: stand-in station controllers for the demo.

Run it beside the server, against its address, e.g.::

    .venv/bin/python manage.py simulate_controllers --base-url http://localhost:8000

It reads each station's controller key and slots from the database once (the demo seed makes a
key per station), then speaks only the controller HTTP API: heartbeats with the slot inventory,
fresh bay tokens for the screens, start-swap commands executed and reported with plausible BMS
readings, and charging intervals (``apps/swaps/simulator.py``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import segno
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.swaps.simulator import ControllerSimulator, TickReport, stations_from_database


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CommandError(f"not a number: {raw!r}") from None
    if value <= 0:
        raise CommandError(f"must be above 0: {raw!r}")
    return value


class Command(BaseCommand):
    help = "Simulate the demo stations' controllers over the controller HTTP API (heartbeats, bay tokens, swaps, charging)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where swapnet serves (default: %(default)s)")
        parser.add_argument("--stations", default="", help="comma-separated station codes (default: every station with a key)")
        parser.add_argument("--interval", type=_decimal, default=Decimal(5), help="seconds between ticks (default: 5)")
        parser.add_argument("--ticks", type=int, default=None, help="stop after this many ticks (default: run until stopped)")
        parser.add_argument(
            "--speed", type=_decimal, default=Decimal(1), help="charging runs this many times faster than real time"
        )
        parser.add_argument("--show", default="", help="print the QR code of one bay's screen, e.g. SWN-HHA-W:1")

    def handle(
        self,
        *args: Any,
        base_url: str,
        stations: str,
        interval: Decimal,
        ticks: int | None,
        speed: Decimal,
        show: str,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        codes = [code for code in stations.split(",") if code.strip()]
        simulated, capacities = stations_from_database(codes or None)
        if not simulated:
            raise CommandError("No station has a controller key: run `manage.py seed_demo` first (or name --stations).")
        shown = show.split(":") if show else None
        simulator = ControllerSimulator(
            base_url,
            simulated,
            capacities=capacities,
            speed=speed,
            token_lifetime_s=int(settings.QR_TOKEN_LIFETIME.total_seconds()),
            log=(lambda message: tqdm.write(message)) if verbosity else None,
        )
        self.stdout.write(f"Simulating {len(simulated)} controllers against {base_url} every {interval} s (Ctrl-C stops).")
        progress = tqdm(total=ticks, unit=" ticks", disable=verbosity == 0)
        last_token = ""

        def on_tick(result: TickReport) -> None:
            nonlocal last_token
            progress.update(1)
            progress.set_postfix(heartbeats=result.heartbeats, swaps=len(result.reports), errors=len(result.errors))
            if shown is not None:
                station = next((s for s in simulated if s.code == shown[0].upper()), None)
                token = station.tokens.get(int(shown[1])) if station and len(shown) > 1 else None
                if token is not None and token[0] != last_token:
                    last_token = token[0]
                    tqdm.write(f"{shown[0]} bay {shown[1]}: {token[0]}")
                    segno.make(token[0], error="m").terminal(compact=True)

        try:
            simulator.run(interval_s=float(interval), ticks=ticks, on_tick=on_tick)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            progress.close()
