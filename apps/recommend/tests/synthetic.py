"""A synthetic history of recommendations and choices, generated with a known preference.

Each recommendation offers the same few stations with random facts (ready batteries, road
distance, direction, price, wait); the driver picks the station of highest utility under the
``TRUE_WEIGHTS`` plus Gumbel noise (a logit choice). These drivers care much more about price
and distance than the documented weighted score assumes, and little about spare batteries.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

from apps.assets.models import Station, Vehicle
from apps.recommend import scoring
from apps.recommend.models import RecommendationLog, Scoring
from apps.recommend.scoring import CandidateFacts, Weights

TRUE_WEIGHTS = Weights(ready=0.3, arriving=0.0, distance=4.0, detour=0.5, price=5.0, wait=0.2)
NOISE = 0.4  # Gumbel scale: the larger, the more random the choices


def _facts(rng: random.Random, station: Station) -> CandidateFacts:
    return CandidateFacts(
        station_id=station.pk,
        code=station.code,
        name=station.name_en,
        distance_km=0.0,
        road_km=rng.uniform(2, 120),
        eta_minutes=0.0,
        ahead=rng.uniform(-1, 1),
        batteries_ready=rng.randint(1, 6),
        batteries_by_arrival=rng.randint(0, 2),
        packs_per_swap=1,
        price_fen=rng.randint(20_000, 60_000),
        queue=0,
        wait_minutes=rng.uniform(0, 40),
        open_on_arrival=True,
        online=True,
    )


def history_create(*, vehicle: Vehicle, stations: list[Station], count: int, seed: int = 7) -> list[RecommendationLog]:
    """``count`` logged recommendations of ``stations``, each with the station chosen."""
    rng = random.Random(seed)
    logs = []
    for _ in range(count):
        offered = [replace(_facts(rng, station), distance_km=0.0) for station in stations]
        ranked = scoring.rank(offered, scoring.DEFAULT_WEIGHTS)
        utilities = [
            scoring.score(item.features, TRUE_WEIGHTS) - NOISE * math.log(-math.log(rng.random() or 1e-12)) for item in ranked
        ]
        chosen = ranked[max(range(len(ranked)), key=utilities.__getitem__)]
        logs.append(
            RecommendationLog(
                vehicle=vehicle,
                latitude="38.400000",
                longitude="116.000000",
                remaining_kwh="200.000",
                kwh_per_km="1.500",
                range_km="114.5",
                candidates=[
                    {
                        "station_id": item.facts.station_id,
                        "station": item.facts.code,
                        "rank": rank,
                        "serviceable": item.serviceable,
                        "score": item.score,
                        "features": dict(zip(scoring.FEATURES, item.features, strict=True)),
                        "road_km": item.facts.road_km,
                    }
                    for rank, item in enumerate(ranked, start=1)
                ],
                top_station_id=ranked[0].facts.station_id,
                scoring=Scoring.WEIGHTED,
                chosen_station_id=chosen.facts.station_id,
                chosen_at="2026-01-01T00:00:00Z",
                chosen_rank=ranked.index(chosen) + 1,
                shown=len(ranked),
            )
        )
    return RecommendationLog.objects.bulk_create(logs)
