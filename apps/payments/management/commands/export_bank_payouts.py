"""Write the payouts awaiting a bank transfer as CSV (and mark them exported)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.payments import services


class Command(BaseCommand):
    help = "Export the payouts awaiting a bank transfer as CSV, to stdout or --output; marks them exported."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, help="write the CSV to this file instead of stdout")
        parser.add_argument("--include-exported", action="store_true", help="also list payouts exported before")

    def handle(self, *args: Any, **options: Any) -> None:
        text = services.payouts_bank_export(include_exported=options["include_exported"])
        if options["output"]:
            options["output"].write_text(text, encoding="utf-8")
            self.stderr.write(f"{len(text.splitlines()) - 1} payout(s) written to {options['output']}")
        else:
            self.stdout.write(text, ending="")
