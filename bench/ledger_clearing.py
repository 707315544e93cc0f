"""Benchmark of ledger clearing on PostgreSQL: orders cleared per second in one process, against a
bare single-row insert loop measured in the same run.

    .venv/bin/python bench/ledger_clearing.py

Creates a throwaway database (``swapnet_bench_ledger``: dropped first, dropped again at the end,
even on error), migrates it with ``manage.py migrate`` (``DATABASE_URL`` pointing at it), then
points Django in this process at it and measures, in interleaved rounds:

  * bare:  one ``INSERT`` of one row into a one-table scratch table per statement, in autocommit
           (one statement and one commit per row) through Django's cursor: the floor of any write;
  * clear: ``order_clear`` of one order: capture of its hold and the balanced clearing transaction
           to the station operator, the battery owner and the platform, with commission (one
           database transaction: locks, two journal transactions, six entries, balances, the hold,
           and the deferred balance checks at commit). The hold is placed beforehand, untimed;
  * order: ``hold_place`` then ``order_clear``, as one swap order does it (two database transactions).

It prints each rate (the median of the rounds), the queries per clearing, and the ratio of
clearings to bare inserts (each round measures both back to back; the median of the rounds'
ratios is reported). The target is at least 15 %; the exit status is 1 below it.
Only a loopback PostgreSQL is used.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

from benchkit import LOOPBACK, ROOT, Postgres, clean_environment, loopback_only, manage

TARGET_RATIO = 0.15


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pg-host", default=LOOPBACK)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--database", default="swapnet_bench_ledger", help="created and dropped by the bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inserts", type=int, default=2_000, help="bare inserts per round")
    parser.add_argument("--orders", type=int, default=400, help="orders cleared per round")
    parser.add_argument("--payers", type=int, default=20, help="carriers the orders are spread over")
    args = parser.parse_args()
    loopback_only(parser, args.pg_host)
    if min(args.rounds, args.inserts, args.orders, args.payers) < 1:
        parser.error("every count must be at least 1")
    return args


def rate(count: int, step: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for index in range(count):
        step(index)
    return count / (time.perf_counter() - started)


def run(options: argparse.Namespace, database_url: str) -> float:
    # Django in this process, on the bench database (imported only now: settings read the URL).
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import Organisation, OrganisationKind
    from apps.ledger import services
    from apps.ledger.models import Hold

    def organisation(code: str, kind: str) -> Organisation:
        return Organisation.objects.create(code=code, name=code, kind=kind)

    platform_org = organisation("bench-platform", OrganisationKind.PLATFORM)
    operator = organisation("bench-operator", OrganisationKind.STATION_OPERATOR)
    owner = organisation("bench-owner", OrganisationKind.BATTERY_OWNER)
    payers = [organisation(f"bench-carrier-{n}", OrganisationKind.CARRIER) for n in range(options.payers)]
    for payer in payers:
        services.wallet_top_up(external_id=f"bench-top-up-{payer.pk}", payer=payer, amount_fen=10**12)
    # A bill of 3,740 fen: operator 3,200 and owner 540 gross, commission 160 + 27 to the platform.
    shares = {operator: 3_040, owner: 513, platform_org: 187}
    commissions = {operator: 160, owner: 27}
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_bare (id bigserial PRIMARY KEY, n bigint NOT NULL, created_at timestamptz NOT NULL)")

    serial = iter(range(10**9))

    def bare(index: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_bare (n, created_at) VALUES (%s, now())", [index])

    def place() -> tuple[Organisation, Hold]:
        number = next(serial)
        payer = payers[number % len(payers)]
        return payer, services.hold_place(external_id=f"order-{number}:hold", payer=payer, amount_fen=5_000)

    def clear(payer: Organisation, hold: Hold, number: int) -> None:
        services.order_clear(
            external_id=f"order-{number}:clear", payer=payer, bill_shares=shares, hold=hold, commissions=commissions
        )

    def order(index: int) -> None:
        payer, hold = place()
        clear(payer, hold, next(serial))

    # Warm up every path (plans, caches), and count the queries of one clearing.
    rate(200, bare)
    rate(50, order)
    payer, hold = place()
    with CaptureQueriesContext(connection) as queries:
        clear(payer, hold, next(serial))
    clear_queries = len(queries)

    bare_rates, clear_rates, order_rates = [], [], []
    for _round in range(options.rounds):
        placed = [place() for _ in range(options.orders)]  # untimed: clear measures the clearing alone

        def clear_placed(index: int, placed: list[tuple[Organisation, Hold]] = placed) -> None:
            clear(*placed[index], next(serial))

        # Back to back in each round, so that the ratio of the two compares like with like even
        # when the machine's load drifts between rounds.
        bare_rates.append(rate(options.inserts, bare))
        clear_rates.append(rate(options.orders, clear_placed))
        order_rates.append(rate(options.orders // 2, order))
    connection.close()

    bare_rate, clear_rate, order_rate = (statistics.median(r) for r in (bare_rates, clear_rates, order_rates))
    ratios = [c / b for c, b in zip(clear_rates, bare_rates, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"ledger clearing bench: PostgreSQL {database(options).server_version()} on {LOOPBACK}, {os.cpu_count()} CPUs "
        f"(nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, {options.rounds} rounds"
    )
    print(
        f"  bare single-row insert (autocommit)  {bare_rate:8.0f} rows/s    rounds: {', '.join(f'{r:.0f}' for r in bare_rates)}"
    )
    print(
        f"  order_clear (capture + clearing)     {clear_rate:8.0f} orders/s  rounds: {', '.join(f'{r:.0f}' for r in clear_rates)}"
    )
    print(
        f"  hold_place + order_clear             {order_rate:8.0f} orders/s  rounds: {', '.join(f'{r:.0f}' for r in order_rates)}"
    )
    print(f"  statements per order_clear: {clear_queries} (BEGIN and COMMIT included)")
    print(f"  ratio order_clear / bare insert, median of the rounds' ratios: {ratio:.1%}  (target >= {TARGET_RATIO:.0%})")
    print(f"    rounds: {', '.join(f'{r:.1%}' for r in ratios)}")
    return ratio


def database(options: argparse.Namespace) -> Postgres:
    return Postgres(options.database, host=options.pg_host, port=options.pg_port, user=options.pg_user)


def main() -> int:
    options = parse_options()
    throwaway = database(options)
    database_url = throwaway.url
    try:
        throwaway.create()
        manage(clean_environment(DATABASE_URL=database_url, SWAPNET_LOG_LEVEL="WARNING"), "migrate", "--noinput", "--skip-checks")
        ratio = run(options, database_url)
    finally:
        throwaway.drop()
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
