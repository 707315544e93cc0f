"""``manage.py seed_demo``: load the demo corridor (idempotent) and print the demo accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from apps.accounts.models import Role
from apps.demo import services


class Command(BaseCommand):
    help = "Load the Huanghua–Yuanping demo corridor: stations, batteries, parties, trucks and demo accounts."

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        def progress(items: Iterator[Any], total: int, label: str) -> Iterator[Any]:
            return iter(tqdm(items, total=total, desc=f"{label:>15}", unit="", leave=True, disable=verbosity == 0))

        report = services.corridor_seed(progress=progress)
        if report.total_created:
            made = ", ".join(f"{number} {what}" for what, number in report.created.items() if number)
            self.stdout.write(self.style.SUCCESS(f"Demo corridor loaded: {made}."))
        else:
            self.stdout.write("Demo corridor already loaded; nothing changed.")
        if verbosity:
            self._print_accounts()

    def _print_accounts(self) -> None:
        self.stdout.write(f"\nDemo accounts (password for all: {services.DEMO_PASSWORD})")
        roles = dict(Role.choices)
        for account in services.demo_accounts():
            where = account.station or account.organisation
            self.stdout.write(f"  {account.phone}  {roles[account.role]!s:<20} {account.display_name}  [{where}]")
