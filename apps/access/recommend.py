"""Who may see station recommendations (where a vehicle was, and what it was offered).

A recommendation log says where a vehicle was and when: whereabouts. The driver who asked sees
their own; the platform sees all (it trains the recommender on them). Nobody changes one: the
recommendation service writes them and the swap order fills in the outcome.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.access import Actor
from apps.recommend.models import RecommendationLog


def visible_recommendation_logs(actor: Actor) -> QuerySet[RecommendationLog]:
    if actor.platform_admin:
        return RecommendationLog.objects.all()
    if not actor.signed_in:
        return RecommendationLog.objects.none()
    return RecommendationLog.objects.filter(driver_id=actor.user_id)


def may_change_recommendation_log(actor: Actor, log: Any) -> bool:
    """Written by services only."""
    return False
