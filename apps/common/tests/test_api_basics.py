"""The error shape, pagination, the schema and /healthz."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER)))
    return client


def test_unknown_api_path_answers_in_the_error_shape(client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such resource.", "fields": {}}}


def test_missing_station_answers_not_found(driver_client: APIClient) -> None:
    response = driver_client.get("/api/v1/stations/SWN-NOPE")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_invalid_filter_answers_with_the_field(driver_client: APIClient) -> None:
    response = driver_client.get("/api/v1/stations", {"online": "perhaps"})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["online"]


def test_unknown_status_filter_has_a_stable_code(driver_client: APIClient) -> None:
    response = driver_client.get("/api/v1/stations", {"status": "exploded"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_filter"


def test_station_list_is_paginated(driver_client: APIClient) -> None:
    StationFactory.create_batch(25)
    first = driver_client.get("/api/v1/stations").json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    second = driver_client.get(first["next"]).json()
    assert len(second["results"]) == 5
    assert second["next"] is None


def test_station_filters(driver_client: APIClient, settings) -> None:
    from django.utils import timezone

    online = StationFactory(tariff_zone="shanxi", last_heartbeat_at=timezone.now())
    offline = StationFactory(tariff_zone="hebei_south", last_heartbeat_at=timezone.now() - settings.STATION_OFFLINE_AFTER * 2)

    def codes(**params: str) -> set[str]:
        return {row["code"] for row in driver_client.get("/api/v1/stations", params).json()["results"]}

    assert codes(online="true") == {online.code}
    assert codes(online="false") == {offline.code}
    assert codes(tariff_zone="shanxi") == {online.code}
    assert codes(q=offline.name_en) == {offline.code}


def test_openapi_schema_lists_the_v1_paths(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/stations", "/api/v1/stations/{code}", "/api/v1/batteries", "/api/v1/vehicles", "/api/v1/orgs"} <= set(paths)


def test_api_docs_page_uses_no_cdn(client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn." not in page
    assert "/static/drf_spectacular_sidecar/" in page


def test_healthz_checks_database_channel_layer_and_broker(client, settings) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["channel_layer"] == "ok"
    assert checks["broker"] == ("eager" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")


def test_healthz_reports_a_failing_dependency_with_503(client, monkeypatch) -> None:
    from apps.common import health

    def broken() -> str:
        raise ConnectionError("down")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "channel_layer": "ok", "broker": "error: ConnectionError"},
    }
