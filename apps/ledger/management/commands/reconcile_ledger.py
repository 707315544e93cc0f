"""Recompute every ledger balance from its entries and report any drift.

    python manage.py reconcile_ledger

Checks, in one consistent snapshot of the database:
- every account's stored balance equals the sum of its entries, and is not below its floor;
- every journal transaction has two or more entries summing to zero per currency;
- all balances together sum to zero per currency.

Prints what differs and exits with status 1 if anything does, 0 otherwise.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from tqdm import tqdm

from apps.ledger.models import Account, Entry, JournalTransaction

SHOWN = 20  # drift lines printed per kind; the count covers all


class Command(BaseCommand):
    help = "Recompute every ledger balance from its entries; report drift and exit 1 on any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                # One snapshot for every query below, however long they take, while postings go on.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            problems = self._accounts(progress=not options["no_progress"]) + self._transactions()
        if problems:
            for line in problems[:SHOWN]:
                self.stdout.write(line)
            if len(problems) > SHOWN:
                self.stdout.write(f"... and {len(problems) - SHOWN} more")
            raise CommandError(f"ledger drift: {len(problems)} problem(s) found", returncode=1)
        self.stdout.write(self.style.SUCCESS("ledger reconciled: no drift"))

    def _accounts(self, *, progress: bool) -> list[str]:
        sums = dict(Entry.objects.order_by().values_list("account_id").annotate(total=Sum("amount_fen")))
        per_currency: dict[str, int] = {}
        problems = []
        columns = ("pk", "organisation_id", "purpose", "currency", "balance_fen", "floor_fen")
        accounts = Account.objects.order_by("pk").values_list(*columns)
        for pk, organisation, purpose, currency, balance, floor in tqdm(
            accounts.iterator(chunk_size=2_000), total=accounts.count(), desc="accounts", unit="acct", disable=not progress
        ):
            recomputed = int(sums.get(pk, 0))
            per_currency[currency] = per_currency.get(currency, 0) + balance
            if balance != recomputed:
                problems.append(
                    f"account {pk} (organisation {organisation}, {purpose}): stored {balance} fen, "
                    f"entries sum to {recomputed} fen, drift {balance - recomputed:+d}"
                )
            if floor is not None and balance < floor:
                problems.append(
                    f"account {pk} (organisation {organisation}, {purpose}): {balance} fen is below its floor {floor}"
                )
        for currency, total in sorted(per_currency.items()):
            if total != 0:
                problems.append(f"all {currency} balances sum to {total:+d} fen, not 0")
        return problems

    def _transactions(self) -> list[str]:
        unbalanced = (
            Entry.objects.order_by()
            .values("journal_transaction_id", "account__currency")
            .annotate(total=Sum("amount_fen"))
            .exclude(total=0)
        )
        problems = [
            f"journal transaction {row['journal_transaction_id']}: {row['account__currency']} entries sum to {row['total']:+d}"
            for row in unbalanced
        ]
        short = (
            JournalTransaction.objects.order_by()
            .annotate(entry_count=Count("entries"))
            .filter(Q(entry_count__lt=2))
            .values_list("pk", "entry_count")
        )
        problems += [f"journal transaction {pk}: {count} entries" for pk, count in short]
        return problems
