"""Benchmark of billing on PostgreSQL: pricing a bill from 96 charging intervals, against the whole
completion request that bills the swap, measured in the same run.

    .venv/bin/python bench/billing.py             # --orders 60 --warmup 5 --repeat 25

Creates a throwaway database (``swapnet_bench_billing``: dropped first, dropped again at the end,
even on error), migrates it with ``manage.py migrate``, points Django in this process at it, and
builds one station (the test world of ``apps/swaps/tests/factories.py``: an operator with a
tariff and a contract, a battery owner with a usage rate, a certified carrier with money, a
verified driver and their truck, a controller key) whose charged batteries each carry 96 charging
intervals of 15 minutes over the day before (so that every bill's energy is split over the
periods of a whole day, the most work a day's charging gives pricing).

For each order (``--warmup`` first, unmeasured): the driver scans, staff call and confirm it
(untimed), then, in this order:

  * pricing: ``apps.billing.pricing.price_bill`` on the order's inputs (the 96 intervals, the
    calendar, the tariff, the returned battery's trip and rate, two commission contracts), read
    once beforehand: the pure function alone, ``--repeat`` times, the median kept;
  * pricing with its reads: ``apps.swaps.services.billing.swap_price``, which reads those inputs
    from the database (custody, usage rate, charging, calendar, tariff, contracts) and prices;
  * the request: the station controller's signed report
    ``POST /api/v1/station-control/{code}/swaps/{id}/report`` through Django's test client
    (the whole stack in this process: middleware, the controller's signature, DRF, the completion
    transaction with its locks, the bill's lines, the ledger's clearing, the batteries' moves).

Target: the median pricing at most 5 % of the request's median. Exit status 1 when missed.
Only a loopback PostgreSQL is used.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from benchkit import LOOPBACK, ROOT, Postgres, clean_environment, loopback_only, manage, percentile

TARGET_SHARE = 0.05
INTERVALS = 96


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default="swapnet_bench_billing", help="created and dropped by the bench")
    parser.add_argument("--orders", type=int, default=60, help="measured completions")
    parser.add_argument("--warmup", type=int, default=5, help="completions before measuring")
    parser.add_argument("--repeat", type=int, default=25, help="pricings per order (the median is kept)")
    args = parser.parse_args()
    loopback_only(parser, args.pg_host)
    if min(args.orders, args.repeat) < 1 or args.warmup < 0:
        parser.error("--orders and --repeat must be at least 1")
    return args


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f}"


def run(options: argparse.Namespace, database_url: str) -> float:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from apps.access import Actor
    from apps.assets.models import Station
    from apps.billing import pricing
    from apps.billing import selectors as billing_selectors
    from apps.billing.models import ChargingInterval
    from apps.ledger.selectors import commission_terms_for
    from apps.ledger.services import platform_organisation
    from apps.swaps import selectors as swap_selectors
    from apps.swaps.models import OrderState
    from apps.swaps.services import queue_call_next, swap_confirm
    from apps.swaps.services.billing import swap_price
    from apps.swaps.tests.factories import reading_for, report_body, scanned, swap_world

    total = options.orders + options.warmup
    world = swap_world(stock=total, wallet_fen=10**10)
    now = timezone.now()
    ChargingInterval.objects.filter(battery__in=world.stock).delete()
    first = now - timedelta(hours=24, minutes=10)
    ChargingInterval.objects.bulk_create(
        ChargingInterval(
            battery=battery,
            station=world.station,
            started_at=first + timedelta(minutes=15 * n),
            ended_at=first + timedelta(minutes=15 * (n + 1)),
            kwh=Decimal("2.500"),
        )
        for battery in world.stock
        for n in range(INTERVALS)
    )
    staff = Actor.of(world.users["staff"])
    controller = world.controller()

    def bill_input(order: Any, reading: Any) -> pricing.BillInput:
        """What ``swap_price`` gives ``price_bill`` for this report, read beforehand."""
        station, at = order.station, reading.started_at
        delivered, returned = order.reserved_battery, order.expected_return_battery
        left_at, handed_out = swap_selectors.custody_marks(delivered=delivered, returned=returned)
        platform_org = platform_organisation()
        owner = returned.owner
        return pricing.BillInput(
            delivered_kwh=reading.delivered_kwh,
            returned_kwh=reading.returned_kwh,
            swap_at=at,
            intervals=billing_selectors.charging_since(battery=delivered, since=left_at, until=at),
            calendar=billing_selectors.calendar_for_zone(zone=station.tariff_zone),
            prices=billing_selectors.station_prices(station=station, at=at),
            operator=str(station.operator_id),
            platform=str(platform_org.pk),
            returned_battery=pricing.ReturnedBattery(
                code=returned.code,
                owner=str(owner.pk),
                trip_kwh=max(handed_out - reading.returned_kwh, Decimal(0)),
                rate=swap_selectors.battery_rate(battery=returned, at=at),
            ),
            commissions={
                str(org.pk): terms
                for org in (station.operator, owner)
                if (terms := commission_terms_for(organisation=org, at=at)) is not None
            },
        )

    pricings: list[float] = []
    with_reads: list[float] = []
    requests: list[float] = []
    request_queries: list[int] = []
    periods_seen: set[str] = set()
    for number in range(total):
        Station.objects.filter(pk=world.station.pk).update(last_heartbeat_at=timezone.now())
        order = scanned(world)
        queue_call_next(actor=staff, station=world.station)
        swap_confirm(actor=staff, order=order)
        reading = reading_for(order)
        inputs = bill_input(order, reading)
        assert len(inputs.intervals) == INTERVALS, len(inputs.intervals)
        times = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            bill = pricing.price_bill(inputs)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        priced = swap_price(
            station=order.station,
            at=reading.started_at,
            delivered=order.reserved_battery,
            delivered_kwh=reading.delivered_kwh,
            returned=order.expected_return_battery,
            returned_kwh=reading.returned_kwh,
        )
        read_and_price = time.perf_counter() - started
        assert priced.bill == bill
        path = f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report"
        body = report_body(reading)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = controller.post(path, body)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content
        assert response.json()["outcome"] == "completed", response.json()
        order.refresh_from_db()
        assert order.state == OrderState.COMPLETED
        assert order.bill_total_fen == bill.total_fen
        if number >= options.warmup:
            pricings.append(statistics.median(times))
            with_reads.append(read_and_price)
            requests.append(elapsed)
            request_queries.append(len(queries))
            periods_seen |= {period.value for period, _kwh in bill.split}
    connection.close()

    pricing_median, request_median = statistics.median(pricings), statistics.median(requests)
    share = pricing_median / request_median
    load = os.getloadavg()[0]
    print(
        f"billing bench: PostgreSQL {database(options).server_version()} on {LOOPBACK}, {os.cpu_count()} CPUs "
        f"(nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, load average {load:.2f}; "
        f"{options.orders} completions after {options.warmup} warm-up, {INTERVALS} charging intervals each "
        f"(periods in the split: {', '.join(sorted(periods_seen))})"
    )
    print("                                          median ms    p99 ms")
    print(f"  price_bill (pure, 96 intervals)          {ms(pricing_median)}  {ms(percentile(pricings, 0.99))}")
    print(f"  swap_price (reads + pricing)             {ms(statistics.median(with_reads))}  {ms(percentile(with_reads, 0.99))}")
    print(f"  completion request (controller report)   {ms(request_median)}  {ms(percentile(requests, 0.99))}")
    print(f"  statements per completion request: {statistics.median(request_queries):.0f}")
    print(f"  pricing / request median: {share:.2%}  (target <= {TARGET_SHARE:.0%})")
    print(f"  pricing with its reads / request median: {statistics.median(with_reads) / request_median:.2%}")
    return share


def database(options: argparse.Namespace) -> Postgres:
    return Postgres(options.database, host=options.pg_host, port=options.pg_port, user=options.pg_user)


def main() -> int:
    options = parse_options()
    throwaway = database(options)
    database_url = throwaway.url
    try:
        throwaway.create()
        manage(clean_environment(DATABASE_URL=database_url, SWAPNET_LOG_LEVEL="WARNING"), "migrate", "--noinput", "--skip-checks")
        share = run(options, database_url)
    finally:
        throwaway.drop()
    return 0 if share <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
