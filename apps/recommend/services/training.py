"""Training the recommender's factor weights from drivers' choices (scikit-learn).

The history is every logged recommendation whose outcome is known (``chosen_station``), with
the features each candidate had when it was offered. The model is a conditional-logit choice
model fitted as a pairwise logistic regression (no intercept): for each choice, the chosen
station's features minus each other candidate's are a positive example, and the negation a
negative one. Its coefficients are a utility weight per feature, the same six as the weighted
score's, so a learned model changes only the weights (``scoring.Weights``), never the rules.

The newest ``held_out`` share of choices (20 %) is kept out of training; on it, the model's
ranking and the documented weighted score's are compared by top-1 and top-3 hit rate (the
chosen station ranked first, or among the first three), by the same ranking rule as the API.
The model is ``better`` when its (top-1, top-3) beats the weighted score's, top-1 first. Every
fitted model is saved as a new version (``model_files``); the API uses it only if ``better``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone
from sklearn.linear_model import LogisticRegression

from apps.recommend import model_files, scoring
from apps.recommend.models import RecommendationLog

Progress = Callable[[Iterator[Any], int, str], Iterator[Any]]
HELD_OUT = 0.2
REGULARISATION_C = 1.0


@dataclass(frozen=True)
class HitRates:
    top1: float
    top3: float

    def as_dict(self) -> dict[str, float]:
        return {"top1": round(self.top1, 4), "top3": round(self.top3, 4)}


@dataclass(frozen=True)
class TrainingReport:
    trained: bool
    choices: int  # logged choices of a station that was among the candidates
    outside: int  # logged choices of a station that was not (no ranking could have found it)
    reason: str = ""  # why no model was trained
    train_size: int = 0
    test_size: int = 0
    model: HitRates | None = None
    weighted: HitRates | None = None
    better: bool = False
    version: str = ""
    path: str = ""
    weights: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "trained": self.trained,
            "reason": self.reason,
            "choices": self.choices,
            "outside": self.outside,
            "train_size": self.train_size,
            "test_size": self.test_size,
            "model": None if self.model is None else self.model.as_dict(),
            "weighted": None if self.weighted is None else self.weighted.as_dict(),
            "better": self.better,
            "version": self.version,
            "path": self.path,
            "weights": self.weights,
        }


@dataclass(frozen=True)
class _Choice:
    candidates: list[scoring.LoggedCandidate]
    chosen: int  # the station id


def _identity(items: Iterator[Any], total: int, label: str) -> Iterator[Any]:
    return items


def recommender_train(
    *, min_choices: int | None = None, progress: Progress | None = None, now: datetime | None = None
) -> TrainingReport:
    """Fit, evaluate and save a new model version when there are enough choices."""
    progress = progress or _identity
    min_choices = settings.RECOMMEND_MIN_TRAINING_CHOICES if min_choices is None else min_choices
    logs = RecommendationLog.objects.filter(chosen_station__isnull=False).order_by("created_at", "pk")
    total = logs.count()
    choices: list[_Choice] = []
    outside = 0
    for candidates, chosen in progress(
        logs.values_list("candidates", "chosen_station_id").iterator(chunk_size=2000), total, "choices"
    ):
        entries = [scoring.logged(entry) for entry in candidates]
        if any(entry.key == chosen for entry in entries):
            choices.append(_Choice(entries, chosen))
        else:
            outside += 1
    if len(choices) < max(min_choices, 2):
        return TrainingReport(trained=False, choices=len(choices), outside=outside, reason="not_enough_history")

    test_size = max(1, round(len(choices) * HELD_OUT))
    train, test = choices[:-test_size], choices[-test_size:]
    features, labels = _pairs(progress(iter(train), len(train), "pairs"))
    if len(labels) == 0:
        return TrainingReport(trained=False, choices=len(choices), outside=outside, reason="no_alternatives")
    estimator = LogisticRegression(fit_intercept=False, C=REGULARISATION_C, max_iter=1000)
    estimator.fit(features, labels)
    learned = scoring.Weights.of([float(value) for value in estimator.coef_[0]])

    model_rates = _hit_rates(progress(iter(test), len(test), "held-out (model)"), learned)
    weighted_rates = _hit_rates(progress(iter(test), len(test), "held-out (weighted)"), scoring.DEFAULT_WEIGHTS)
    better = (model_rates.top1, model_rates.top3) > (weighted_rates.top1, weighted_rates.top3)
    trained_at = (now or timezone.now()).astimezone(UTC)
    version, path = model_files.model_save(
        estimator=estimator,
        metadata={
            "trained_at": trained_at.isoformat(),
            "model": "pairwise logistic regression (conditional logit), scikit-learn LogisticRegression",
            "features": list(scoring.FEATURES),
            "weights": learned.as_dict(),
            "default_weights": scoring.DEFAULT_WEIGHTS.as_dict(),
            "choices": len(choices),
            "outside": outside,
            "train_size": len(train),
            "test_size": len(test),
            "held_out": "the newest choices",
            "model_hit_rates": model_rates.as_dict(),
            "weighted_hit_rates": weighted_rates.as_dict(),
            "better": better,
        },
    )
    return TrainingReport(
        trained=True,
        choices=len(choices),
        outside=outside,
        train_size=len(train),
        test_size=len(test),
        model=model_rates,
        weighted=weighted_rates,
        better=better,
        version=version,
        path=str(path),
        weights=learned.as_dict(),
    )


def _pairs(choices: Iterator[_Choice]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rows: list[np.ndarray[Any, Any]] = []
    for choice in choices:
        chosen = next(entry for entry in choice.candidates if entry.key == choice.chosen)
        for other in choice.candidates:
            if other.key != choice.chosen:
                rows.append(np.subtract(chosen.features, other.features))
    if not rows:
        return np.empty((0, len(scoring.FEATURES))), np.empty(0)
    differences = np.array(rows, dtype=np.float64)
    features = np.vstack([differences, -differences])
    labels = np.concatenate([np.ones(len(rows)), np.zeros(len(rows))])
    return features, labels


def _hit_rates(choices: Iterator[_Choice], weights: scoring.Weights) -> HitRates:
    top1 = top3 = count = 0
    for choice in choices:
        order = scoring.rank_logged(choice.candidates, weights)
        count += 1
        top1 += order[0] == choice.chosen
        top3 += choice.chosen in order[:3]
    return HitRates(top1 / count, top3 / count) if count else HitRates(0.0, 0.0)
