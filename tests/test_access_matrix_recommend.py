"""The access matrix of ``GET /api/v1/stations/recommend``: who may ask for which vehicle.

A recommendation is for a vehicle the caller may see (``access.visible_vehicles``): its assigned
driver, its carrier's admins, the platform. Anyone else gets 404, exactly as for a plate that
does not exist, and nothing is logged; without signing in, 401.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import Vehicle
from apps.recommend import selectors
from apps.recommend.models import RecommendationLog
from apps.recommend.tests.factories import BASE, driver_of, north, station_at, vehicle_carrying

ACTORS = [
    "anonymous",
    "driver",
    "other_carrier_driver",
    "unassigned_driver_of_the_carrier",
    "carrier_admin",
    "other_carrier_admin",
    "staff_of_station",
    "operator_admin",
    "battery_owner",
    "platform_admin",
]
ALLOWED = {"driver", "carrier_admin", "platform_admin"}


@pytest.fixture(autouse=True)
def _fresh_index(settings, tmp_path):
    settings.RECOMMEND_RECHECK_SECONDS = 0
    settings.RECOMMEND_MODEL_DIR = tmp_path / "models"
    selectors.caches_forget()
    yield
    selectors.caches_forget()


@pytest.fixture
def world(db) -> tuple[Vehicle, dict[str, User | None]]:
    station = station_at(*north(10))
    vehicle = vehicle_carrying()
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": driver_of(vehicle),
        "other_carrier_driver": driver_of(vehicle_carrying(carrier=other_carrier)),
        "unassigned_driver_of_the_carrier": member(Role.DRIVER, vehicle.carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, vehicle.carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff_of_station": member(Role.STATION_STAFF, station.operator, station=station),
        "operator_admin": member(Role.OPERATOR_ADMIN, station.operator),
        "battery_owner": member(Role.OWNER_ADMIN, vehicle.batteries.get().owner),
        "platform_admin": member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)),
    }
    return vehicle, users


@pytest.mark.parametrize("actor", ACTORS)
def test_recommendation_for_a_vehicle_by_actor(world, actor: str) -> None:
    vehicle, users = world
    client = APIClient()
    user = users[actor]
    if user is not None:
        client.force_authenticate(user)
    response = client.get("/api/v1/stations/recommend", {"lat": BASE[0], "lon": BASE[1], "vehicle": vehicle.plate})
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    elif actor in ALLOWED:
        assert response.status_code == 200
        assert response.json()["vehicle"] == vehicle.plate
        assert RecommendationLog.objects.get().driver == user
        return
    else:
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"], "fields": {}}}
        missing = client.get("/api/v1/stations/recommend", {"lat": BASE[0], "lon": BASE[1], "vehicle": "冀J99999D"})
        assert missing.json() == response.json()  # not theirs and missing look the same
    assert not RecommendationLog.objects.exists()
