"""Answering a recommendation request, logging it, and recording its outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.assets.models import Station, Vehicle
from apps.recommend import model_files, scoring, selectors
from apps.recommend.geometry import Point
from apps.recommend.models import RecommendationLog, Scoring
from apps.recommend.scoring import Weights
from apps.recommend.selectors import NearestStation, VehicleState

COORDINATE = Decimal("0.000001")


@dataclass(frozen=True)
class RankedStation:
    rank: int
    facts: scoring.CandidateFacts
    score: float
    contributions: dict[str, float]
    explanation: str

    @property
    def unavailable_reasons(self) -> list[str]:
        return self.facts.unavailable_reasons()


@dataclass(frozen=True)
class Recommendation:
    log_id: int | None
    state: VehicleState
    scoring: str
    model_version: str
    weights: Weights
    considered: int  # reachable stations ranked (``results`` is the first ``limit`` of them)
    results: list[RankedStation]
    nearest: NearestStation | None  # set when nothing is reachable
    message: str  # set when nothing is reachable

    @property
    def reachable(self) -> bool:
        return self.considered > 0


def recommendation_make(
    *,
    actor: Actor,
    vehicle: Vehicle,
    latitude: Decimal,
    longitude: Decimal,
    heading_deg: Decimal | None = None,
    route: Sequence[Point] = (),
    limit: int | None = None,
    now: datetime | None = None,
) -> Recommendation:
    """Rank the stations the vehicle can reach, explain each, and log what was offered.

    ``vehicle`` comes from an access-scoped selector (the caller may see it). Learned weights
    are used when a trained model beat the weighted score (``model_files.active_model``).
    """
    now = now or timezone.now()
    limit = limit or settings.RECOMMEND_DEFAULT_LIMIT
    position = (float(latitude), float(longitude))
    state = selectors.vehicle_state(vehicle=vehicle, now=now)
    search = selectors.recommendation_candidates(
        state=state, position=position, now=now, heading_deg=None if heading_deg is None else float(heading_deg), route=route
    )
    learned = model_files.active_model()
    weights = learned.weights if learned is not None else scoring.DEFAULT_WEIGHTS
    scoring_kind = Scoring.MODEL if learned is not None else Scoring.WEIGHTED
    model_version = learned.version if learned is not None else ""

    if not search.candidates:
        return Recommendation(
            log_id=None,
            state=state,
            scoring=scoring_kind,
            model_version=model_version,
            weights=weights,
            considered=0,
            results=[],
            nearest=search.nearest,
            message=_nothing_reachable(state, search.nearest),
        )

    ranked = scoring.rank(search.candidates, weights)
    log = RecommendationLog(
        vehicle=vehicle,
        driver_id=actor.user_id,
        latitude=latitude.quantize(COORDINATE),
        longitude=longitude.quantize(COORDINATE),
        heading_deg=None if heading_deg is None else heading_deg.quantize(Decimal("0.1")),
        route=[[round(lat, 6), round(lon, 6)] for lat, lon in route],
        remaining_kwh=state.remaining_kwh,
        vehicle_batteries=[battery.code for battery in state.batteries],
        kwh_per_km=state.kwh_per_km,
        range_km=state.range_km,
        candidates=[_logged(position, item) for position, item in enumerate(ranked, start=1)],
        top_station_id=ranked[0].facts.station_id,
        scoring=scoring_kind,
        model_version=model_version,
        shown=min(limit, len(ranked)),
    )
    _log_insert(log)
    results = [
        RankedStation(
            rank=position,
            facts=item.facts,
            score=item.score,
            contributions=item.contributions,
            explanation=scoring.explanation(item.facts),
        )
        for position, item in enumerate(ranked[:limit], start=1)
    ]
    return Recommendation(
        log_id=log.pk,
        state=state,
        scoring=scoring_kind,
        model_version=model_version,
        weights=weights,
        considered=len(ranked),
        results=results,
        nearest=None,
        message="",
    )


def _log_insert(log: RecommendationLog) -> None:
    """Insert the log. On PostgreSQL, outside any caller's transaction, it commits without waiting
    for the WAL flush (``synchronous_commit`` off for this one transaction): the answer does not
    wait on the disk, and a crash of the database can lose the last moments of logs, never
    corrupt them. A log is history for learning and queue estimates, not money."""
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if asynchronous:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        log.save(force_insert=True)


def _logged(rank: int, item: scoring.Scored) -> dict[str, object]:
    facts = item.facts
    return {
        "station_id": facts.station_id,
        "station": facts.code,
        "rank": rank,
        "serviceable": facts.serviceable,
        "score": round(item.score, 6),
        "features": {name: round(value, 6) for name, value in zip(scoring.FEATURES, item.features, strict=True)},
        "road_km": round(facts.road_km, 3),
        "batteries_ready": facts.batteries_ready,
        "batteries_by_arrival": facts.batteries_by_arrival,
        "price_fen": facts.price_fen,
        "wait_minutes": round(facts.wait_minutes, 1),
        "queue": facts.queue,
        "ahead": None if facts.ahead is None else round(facts.ahead, 3),
        "open_on_arrival": facts.open_on_arrival,
        "online": facts.online,
    }


def _nothing_reachable(state: VehicleState, nearest: NearestStation | None) -> str:
    if nearest is None:
        return _("No station serves this vehicle's pack standard.")
    message = _(
        "No station is within this vehicle's range of %(range)s km. "
        "The nearest is %(station)s (%(code)s), about %(km)d km by road."
    )
    return message % {"range": state.range_km, "station": nearest.name, "code": nearest.code, "km": round(nearest.road_km)}


def recommendation_outcome_record(
    *, vehicle: Vehicle, station: Station, at: datetime, driver_id: int | None = None
) -> RecommendationLog | None:
    """Record where the vehicle actually swapped: the scan calls it once its swap order is
    committed (``apps.swaps.services.scan``).

    The vehicle's latest recommendation (to ``driver_id``, when given) within
    ``RECOMMEND_OUTCOME_WINDOW`` before ``at`` gets
    the station, the time and the station's rank in it (None when it was not among the
    candidates). Nothing happens when there is none, or when the latest already has an outcome
    (an earlier order answered it). Safe to call twice and concurrently: the update is
    conditional, so one order labels a recommendation once. Returns the log it labelled.
    """
    logs = RecommendationLog.objects.filter(
        vehicle=vehicle, created_at__lte=at, created_at__gt=at - settings.RECOMMEND_OUTCOME_WINDOW
    )
    if driver_id is not None:
        logs = logs.filter(driver_id=driver_id)
    latest = logs.order_by("-created_at", "-pk").only("pk", "candidates", "chosen_station_id").first()
    if latest is None or latest.chosen_station_id is not None:
        return None
    rank = next((int(entry["rank"]) for entry in latest.candidates if entry.get("station_id") == station.pk), None)
    updated = RecommendationLog.objects.filter(pk=latest.pk, chosen_station__isnull=True).update(
        chosen_station=station, chosen_at=at, chosen_rank=rank, updated_at=timezone.now()
    )
    if not updated:
        return None
    return RecommendationLog.objects.get(pk=latest.pk)
