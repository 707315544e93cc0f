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


@pytest.mark.parametrize("page_size", ["0", "101", "ten", "", "-1", "2.5"])
def test_a_page_size_out_of_range_is_refused_not_replaced(driver_client: APIClient, page_size: str) -> None:
    StationFactory.create_batch(3)
    response = driver_client.get("/api/v1/stations", {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "page_size_invalid"
    assert list(response.json()["error"]["fields"]) == ["page_size"]


def test_a_page_size_in_range_is_taken(driver_client: APIClient) -> None:
    StationFactory.create_batch(3)
    assert len(driver_client.get("/api/v1/stations", {"page_size": "2"}).json()["results"]) == 2
    assert len(driver_client.get("/api/v1/stations", {"page_size": "100"}).json()["results"]) == 3


@pytest.mark.parametrize("parameter", ["status", "pack_standard", "tariff_zone", "q"])
def test_an_empty_filter_is_refused_not_read_as_absent(driver_client: APIClient, parameter: str) -> None:
    StationFactory()
    response = driver_client.get("/api/v1/stations", {parameter: ""})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [parameter]


def test_the_api_takes_only_json_bodies() -> None:
    from apps.accounts.models import User

    response = APIClient().post("/api/v1/auth/register", {"phone": "13900000001", "password": "correct horse battery"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not User.objects.filter(phone="13900000001").exists()


def test_an_error_of_an_svg_endpoint_is_json() -> None:
    operator = member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR))
    client = APIClient()
    client.force_authenticate(operator)
    response = client.get("/api/v1/stations/SWN-NOPE/bay-codes.svg", {"format": "svg"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_every_operation_documents_the_shared_errors_and_idempotency_keys(client) -> None:
    from apps.common.schema import COMMON_ERRORS, IDEMPOTENCY_KEY_SCHEMA

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    methods = {"get", "post", "put", "delete"}
    operations = [op for ops in schema["paths"].values() for method, op in ops.items() if method in methods]
    assert len(operations) > 50
    for operation in operations:
        assert set(COMMON_ERRORS) <= set(operation["responses"]), operation["operationId"]
    keyed = [
        parameter
        for operation in operations
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    ]
    assert keyed
    assert all(parameter["schema"] == IDEMPOTENCY_KEY_SCHEMA for parameter in keyed)
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
