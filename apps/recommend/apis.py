"""``GET /api/v1/stations/recommend``: the best stations for this vehicle now, explained."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import translation
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.assets.selectors import vehicle_get
from apps.common.money import money_json
from apps.common.schema import MoneySerializer, error_response
from apps.recommend import services
from apps.recommend.geometry import Point

MAX_ROUTE_POINTS = 500


def _route(value: str) -> list[Point]:
    points: list[Point] = []
    for number, part in enumerate(value.strip().strip(";").split(";"), start=1):
        try:
            lat_text, lon_text = part.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise serializers.ValidationError(f"point {number}: expected 'lat,lon'.") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise serializers.ValidationError(f"point {number}: outside the globe.")
        points.append((lat, lon))
    if len(points) > MAX_ROUTE_POINTS:
        raise serializers.ValidationError(f"at most {MAX_ROUTE_POINTS} points.")
    return points


class RecommendInput(serializers.Serializer[Any]):
    lat = serializers.DecimalField(max_digits=16, decimal_places=12, min_value=Decimal(-90), max_value=Decimal(90))
    lon = serializers.DecimalField(max_digits=16, decimal_places=12, min_value=Decimal(-180), max_value=Decimal(180))
    vehicle = serializers.CharField(max_length=20, help_text="The vehicle's plate.")
    heading = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(360),
        required=False,
        help_text="Direction of travel, degrees clockwise from north. Not with route.",
    )
    route = serializers.CharField(
        required=False, help_text="The route ahead as 'lat,lon;lat,lon;...' (2 to 500 points). Not with heading."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=settings.RECOMMEND_MAX_LIMIT)

    def validate_route(self, value: str) -> list[Point]:
        return _route(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "heading" in attrs and "route" in attrs:
            raise serializers.ValidationError({"route": ["Give a heading or a route, not both."]})
        return attrs


class StationBriefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class RankedStationSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    station = StationBriefSerializer()
    distance_km = serializers.FloatField(help_text="Geodesic (WGS84) distance.")
    road_km = serializers.FloatField(help_text="Road distance estimate: geodesic x the detour factor.")
    eta_minutes = serializers.FloatField()
    ahead = serializers.FloatField(allow_null=True, help_text="1 ahead, 0 aside, -1 behind; null without heading or route.")
    batteries_ready = serializers.IntegerField(help_text="Compatible, charged above the threshold, not reserved.")
    batteries_by_arrival = serializers.IntegerField(help_text="Compatible batteries that finish charging before arrival.")
    price_estimate = MoneySerializer(allow_null=True, help_text="The billing quote for this vehicle on arrival.")
    queue = serializers.IntegerField(help_text="Active orders plus vehicles recommended here and heading in.")
    wait_minutes = serializers.FloatField(help_text="Expected wait on arrival.")
    open = serializers.BooleanField(help_text="Open at the arrival time.")
    online = serializers.BooleanField()
    serviceable = serializers.BooleanField()
    unavailable_reasons = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField()
    factors = serializers.DictField(child=serializers.FloatField(), help_text="Each feature's contribution to the score.")
    explanation = serializers.CharField()


class NearestStationSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    distance_km = serializers.FloatField()
    road_km = serializers.FloatField()


class RecommendationSerializer(serializers.Serializer[Any]):
    recommendation_id = serializers.IntegerField(allow_null=True)
    vehicle = serializers.CharField()
    remaining_kwh = serializers.CharField()
    reserve_kwh = serializers.CharField()
    kwh_per_km = serializers.CharField()
    consumption_source = serializers.ChoiceField(choices=["settings", "history"])
    range_km = serializers.CharField()
    scoring = serializers.ChoiceField(choices=["weighted", "model"])
    model_version = serializers.CharField(allow_null=True)
    weights = serializers.DictField(child=serializers.FloatField())
    reachable = serializers.BooleanField()
    considered = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    nearest_station = NearestStationSerializer(allow_null=True)
    results = RankedStationSerializer(many=True)


def _ranked(item: services.RankedStation) -> dict[str, Any]:
    facts = item.facts
    return {
        "rank": item.rank,
        "station": {"code": facts.code, "name": facts.name},
        "distance_km": round(facts.distance_km, 2),
        "road_km": round(facts.road_km, 1),
        "eta_minutes": round(facts.eta_minutes, 1),
        "ahead": None if facts.ahead is None else round(facts.ahead, 3),
        "batteries_ready": facts.batteries_ready,
        "batteries_by_arrival": facts.batteries_by_arrival,
        "price_estimate": None if facts.price_fen is None else money_json(facts.price_fen),
        "queue": facts.queue,
        "wait_minutes": round(facts.wait_minutes, 1),
        "open": facts.open_on_arrival,
        "online": facts.online,
        "serviceable": facts.serviceable,
        "unavailable_reasons": item.unavailable_reasons,
        "score": round(item.score, 4),
        "factors": {name: round(value, 4) for name, value in item.contributions.items()},
        "explanation": item.explanation,
    }


def recommendation_json(recommendation: services.Recommendation) -> dict[str, Any]:
    state = recommendation.state
    nearest = recommendation.nearest
    return {
        "recommendation_id": recommendation.log_id,
        "vehicle": state.vehicle.plate,
        "remaining_kwh": str(state.remaining_kwh),
        "reserve_kwh": str(state.reserve_kwh),
        "kwh_per_km": str(state.kwh_per_km),
        "consumption_source": state.consumption_source,
        "range_km": str(state.range_km),
        "scoring": recommendation.scoring,
        "model_version": recommendation.model_version or None,
        "weights": recommendation.weights.as_dict(),
        "reachable": recommendation.reachable,
        "considered": recommendation.considered,
        "message": recommendation.message,
        "nearest_station": None
        if nearest is None
        else {
            "code": nearest.code,
            "name": nearest.name,
            "distance_km": round(nearest.distance_km, 2),
            "road_km": round(nearest.road_km, 1),
        },
        "results": [_ranked(item) for item in recommendation.results],
    }


class StationRecommendApi(APIView):
    @extend_schema(
        parameters=[
            RecommendInput,
            OpenApiParameter(
                "Accept-Language", str, OpenApiParameter.HEADER, required=False, description="zh-hans (default) or en."
            ),
        ],
        responses={
            200: RecommendationSerializer,
            400: error_response("`invalid`: a parameter is missing or malformed, or both heading and route are given."),
            401: error_response("`not_authenticated`."),
            404: error_response("`not_found`: no such vehicle, or not one the caller may see."),
        },
        summary="The best stations to swap at for this vehicle now, ranked and explained",
        description=(
            "Stations within the vehicle's remaining range (energy on board less a reserve, at its consumption) that "
            "serve its pack standard, ranked by a documented weighted score of batteries ready, distance, detour "
            "(with a heading or route, stations ahead are preferred), the price estimate and the expected wait; or by "
            "learned weights once a trained model beat that score. Stations that cannot swap the vehicle on arrival "
            "come last, with their reasons. When none is reachable, `reachable` is false and `nearest_station` names "
            "the nearest one. Each answer is logged to learn from drivers' choices."
        ),
    )
    def get(self, request: Request) -> Response:
        # The site's LocaleMiddleware gives every path without a language prefix the default
        # language (i18n_patterns with prefix_default_language=False), so the API reads the
        # caller's language itself: the django_language cookie, then Accept-Language.
        language = translation.get_language_from_request(request._request)
        with translation.override(language):
            response = self._recommend(request)
        response["Content-Language"] = language
        return response

    def _recommend(self, request: Request) -> Response:
        payload = RecommendInput(data=request.query_params)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        actor = Actor.of(request.user)
        vehicle = vehicle_get(actor=actor, plate=data["vehicle"])
        recommendation = services.recommendation_make(
            actor=actor,
            vehicle=vehicle,
            latitude=data["lat"],
            longitude=data["lon"],
            heading_deg=data.get("heading"),
            route=data.get("route", ()),
            limit=data.get("limit"),
        )
        return Response(recommendation_json(recommendation))
