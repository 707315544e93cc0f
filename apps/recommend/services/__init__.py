"""Writes of the recommender: answering (and logging) a recommendation, recording where the
driver then swapped, and training the learned weights."""

from apps.recommend.services.recommendations import (
    RankedStation,
    Recommendation,
    recommendation_make,
    recommendation_outcome_record,
)
from apps.recommend.services.training import HitRates, TrainingReport, recommender_train

__all__ = [
    "HitRates",
    "RankedStation",
    "Recommendation",
    "TrainingReport",
    "recommendation_make",
    "recommendation_outcome_record",
    "recommender_train",
]
