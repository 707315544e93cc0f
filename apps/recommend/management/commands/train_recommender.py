"""``manage.py train_recommender``: fit the recommender's factor weights from drivers' choices,
save a new model version and print its hit rates against the weighted score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from apps.recommend import services


class Command(BaseCommand):
    help = "Train the station recommender from logged choices; compare it with the weighted score on held-out choices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-choices", type=int, default=None, help="train only from this many choices on (default: the setting)"
        )

    def handle(self, *args: Any, verbosity: int = 1, min_choices: int | None = None, **options: Any) -> None:
        def progress(items: Iterator[Any], total: int, label: str) -> Iterator[Any]:
            return iter(tqdm(items, total=total, desc=f"{label:>20}", unit="", leave=True, disable=verbosity == 0))

        report = services.recommender_train(min_choices=min_choices, progress=progress)
        if not report.trained:
            self.stdout.write(
                f"No model trained ({report.reason}): {report.choices} usable choices, {report.outside} outside the candidates."
            )
            return
        assert report.model is not None
        assert report.weighted is not None
        self.stdout.write(
            f"Model {report.version}: trained on {report.train_size} choices, tested on {report.test_size} held out "
            f"({report.outside} choices outside the candidates left out).\n"
            f"  {'':<16}{'top-1':>8}{'top-3':>8}\n"
            f"  {'learned weights':<16}{report.model.top1:>8.1%}{report.model.top3:>8.1%}\n"
            f"  {'weighted score':<16}{report.weighted.top1:>8.1%}{report.weighted.top3:>8.1%}\n"
            f"  weights: {', '.join(f'{name} {value:.3f}' for name, value in report.weights.items())}\n"
            f"  saved: {report.path}"
        )
        if report.better:
            self.stdout.write(self.style.SUCCESS("The learned weights beat the weighted score: the API uses them."))
        else:
            self.stdout.write("The weighted score is as good or better: the API keeps using it.")
