"""Periodic retraining of the recommender (``CELERY_BEAT_SCHEDULE["recommend-retrain"]``, daily).

Idempotent enough for ``acks_late``: a redelivered run trains one more version from the same
history, and the API keeps following ``current.json``.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.recommend import services


@shared_task
def retrain_recommender() -> dict[str, Any]:
    """Fit the factor weights from drivers' choices; returns the training report."""
    return services.recommender_train().summary()
