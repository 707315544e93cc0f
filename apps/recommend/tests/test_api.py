"""``GET /api/v1/stations/recommend``: wiring, input checks, languages, and which scoring it uses.
Who may ask for which vehicle is in ``tests/test_access_matrix_recommend.py``."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.assets.tests.factories import StationFactory
from apps.recommend import scoring, services
from apps.recommend.models import RecommendationLog, Scoring
from apps.recommend.tests.factories import BASE, driver_of, north, south, station_at, vehicle_carrying
from apps.recommend.tests.synthetic import history_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/stations/recommend"


@pytest.fixture
def vehicle():
    return vehicle_carrying()


@pytest.fixture
def client(vehicle) -> APIClient:
    api = APIClient()
    api.force_authenticate(driver_of(vehicle))
    return api


def ask(client: APIClient, vehicle, **params):
    return client.get(URL, {"lat": BASE[0], "lon": BASE[1], "vehicle": vehicle.plate, **params})


def test_ranked_stations_with_their_facts_and_explanations(client, vehicle) -> None:
    near = station_at(*north(10), ready=3)
    far = station_at(*south(40), ready=1)
    response = ask(client, vehicle)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reachable"] is True
    assert body["vehicle"] == vehicle.plate
    assert (body["remaining_kwh"], body["reserve_kwh"], body["kwh_per_km"], body["range_km"]) == (
        "200.000",
        "28.200",
        "1.5",
        "114.5",
    )
    assert body["consumption_source"] == "settings"
    assert [result["station"]["code"] for result in body["results"]] == [near.code, far.code]
    first = body["results"][0]
    assert first["rank"] == 1
    assert first["distance_km"] == pytest.approx(10, abs=0.05)
    assert first["road_km"] == pytest.approx(12, abs=0.1)
    assert first["batteries_ready"] == 3
    assert first["price_estimate"] == {"amount_fen": 6000, "currency": "CNY"}  # 60 kWh at 1.00
    assert (first["open"], first["online"], first["serviceable"], first["unavailable_reasons"]) == (True, True, True, [])
    assert first["ahead"] is None
    assert set(first["factors"]) == set(scoring.FEATURES)
    assert first["score"] == pytest.approx(sum(first["factors"].values()), abs=1e-3)
    assert first["explanation"] == "3 块电池就绪 · 12 公里 · 预计 ¥60.00 · 无需排队"
    assert RecommendationLog.objects.get().pk == body["recommendation_id"]


def test_explanations_in_english_when_the_request_asks_for_it(client, vehicle) -> None:
    station_at(*north(10), ready=3)
    params = {"lat": BASE[0], "lon": BASE[1], "vehicle": vehicle.plate, "heading": "0"}
    chinese = client.get(URL, params)
    english = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert (chinese.headers["Content-Language"], english.headers["Content-Language"]) == ("zh-hans", "en")
    assert chinese.json()["results"][0]["explanation"] == "3 块电池就绪 · 前方 12 公里 · 预计 ¥60.00 · 无需排队"
    assert english.json()["results"][0]["explanation"] == "3 batteries ready · 12 km ahead · ¥60.00 est. · no wait"
    assert english.json()["results"][0]["station"]["name"] == StationFactory._meta.model.objects.get().name_en


def test_limit(client, vehicle) -> None:
    for km in (5, 10, 15):
        station_at(*north(km))
    body = ask(client, vehicle, limit=2).json()
    assert len(body["results"]) == 2
    assert body["considered"] == 3


def test_nothing_reachable_names_the_nearest_station(client) -> None:
    empty_truck = vehicle_carrying("30.000")
    driver_client = APIClient()
    driver_client.force_authenticate(driver_of(empty_truck))
    nearest = station_at(*north(50))
    body = ask(driver_client, empty_truck).json()
    assert body["reachable"] is False
    assert body["results"] == []
    assert body["recommendation_id"] is None
    assert body["nearest_station"]["code"] == nearest.code
    assert body["nearest_station"]["distance_km"] == pytest.approx(50, abs=0.2)
    assert nearest.code in body["message"]


def test_without_a_trained_model_the_weighted_score_is_used(client, vehicle) -> None:
    station_at(*north(10))
    body = ask(client, vehicle).json()
    assert (body["scoring"], body["model_version"]) == ("weighted", None)
    assert body["weights"] == scoring.DEFAULT_WEIGHTS.as_dict()


def test_a_trained_model_that_beats_the_weighted_score_is_used(client, vehicle) -> None:
    history_create(vehicle=vehicle_carrying(), stations=[StationFactory() for _ in range(6)], count=600)
    report = services.recommender_train()
    assert report.better
    station_at(*north(10))
    body = ask(client, vehicle).json()
    assert (body["scoring"], body["model_version"]) == ("model", "v0001")
    assert body["weights"] == pytest.approx(report.weights)
    log = RecommendationLog.objects.get(pk=body["recommendation_id"])
    assert (log.scoring, log.model_version) == (Scoring.MODEL, "v0001")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"heading": "90", "route": "38.4,116.0;38.0,116.0"}, "route"),
        ({"route": "38.4;116.0"}, "route"),
        ({"route": "95,116;38,116"}, "route"),
        ({"heading": "400"}, "heading"),
        ({"lat": "91"}, "lat"),
        ({"limit": "0"}, "limit"),
        ({"limit": "21"}, "limit"),
    ],
)
def test_invalid_input_is_refused_and_logs_nothing(client, vehicle, params, field: str) -> None:
    station_at(*north(10))
    response = ask(client, vehicle, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert field in body["error"]["fields"]
    assert not RecommendationLog.objects.exists()


def test_missing_parameters_are_refused(client) -> None:
    response = client.get(URL)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"lat", "lon", "vehicle"}


def test_an_unknown_plate_is_not_found(client) -> None:
    response = client.get(URL, {"lat": BASE[0], "lon": BASE[1], "vehicle": "冀J99999D"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_route_prefers_stations_ahead(client, vehicle) -> None:
    behind, ahead = station_at(*north(18)), station_at(*south(20))
    route = ";".join(f"{lat},{lon}" for lat, lon in [BASE, south(60)])
    body = ask(client, vehicle, route=route).json()
    assert [result["station"]["code"] for result in body["results"]] == [ahead.code, behind.code]
    assert body["results"][0]["ahead"] == pytest.approx(1.0, abs=0.01)


def test_the_endpoint_is_in_the_api_schema(client) -> None:
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/stations/recommend"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"lat", "lon", "vehicle", "heading", "route", "limit"}
