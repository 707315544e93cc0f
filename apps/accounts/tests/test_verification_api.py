"""The verification API: each operation once for wiring and error shape, and the access matrix
(ACCESS.md: driver profile and verification) for every object endpoint, with nothing changed on
refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import Actor
from apps.accounts.models import AuthToken, Membership, OrganisationKind, RealNameVerification, Role, User, VerificationStatus
from apps.accounts.services import verification as services
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import VehicleAssignment
from apps.assets.tests.factories import StationFactory, VehicleFactory
from apps.common.identifiers import id_check_character
from apps.common.models import AuditEvent

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
MASKED = "1101**********002X"
PASSWORD = "correct horse battery"  # the factories' password


def id_number(region: str = "110105", born: str = "19491231", sequence: str = "002") -> str:
    first17 = f"{region}{born}{sequence}"
    return first17 + id_check_character(first17)


def submission(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": "张三",
        "id_number": ID_NUMBER,
        "licence_number": ID_NUMBER,
        "licence_class": "A2",
        "licence_expires_on": (timezone.localdate() + timedelta(days=2000)).isoformat(),
    }
    body.update(changes)
    return body


def client_of(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def submitted(user: User, number: str = ID_NUMBER) -> RealNameVerification:
    return services.verification_submit(
        user=user,
        legal_name="张三",
        id_number=number,
        licence_number=number,
        licence_class="A2",
        licence_expires_on=timezone.localdate() + timedelta(days=2000),
    )


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def snapshot() -> tuple[list[tuple[Any, ...]], int]:
    rows = list(
        RealNameVerification.objects.order_by("pk").values_list("pk", "status", "reason", "reviewed_by_id", "reviewed_at")
    )
    return rows, AuditEvent.objects.count()


@pytest.fixture
def carrier():
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def driver(carrier) -> User:
    return member(Role.DRIVER, carrier)


@pytest.fixture
def platform_admin() -> User:
    return member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM))


# --- The driver's own ----------------------------------------------------------------------
def test_submitting_answers_201_pending_with_masked_numbers(driver: User) -> None:
    response = client_of(driver).post(
        "/api/v1/drivers/me/verification", submission(id_number="11010519491231002x"), format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["legal_name"] == "张三"
    assert body["id_number_masked"] == MASKED
    assert body["licence_number_masked"] == MASKED
    assert body["licence_class"] == "A2"
    assert body["user_id"] == driver.pk
    assert ID_NUMBER not in response.content.decode()
    assert "encrypted" not in response.content.decode()
    assert RealNameVerification.objects.get().status == VerificationStatus.PENDING


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"id_number": "11010519491231003X"}, 400, "id_number_invalid"),
        ({"id_number": "110105491231002"}, 400, "id_number_legacy"),
        ({"licence_class": "D"}, 400, "licence_class_invalid"),
        ({"licence_expires_on": "2001-01-01"}, 400, "licence_expired"),
        ({"licence_expires_on": "not a date"}, 400, "invalid"),
        ({"legal_name": ""}, 400, "invalid"),
    ],
)
def test_an_invalid_submission_answers_its_code_and_changes_nothing(
    driver: User, changes: dict[str, Any], status: int, code: str
) -> None:
    response = client_of(driver).post("/api/v1/drivers/me/verification", submission(**changes), format="json")

    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert RealNameVerification.objects.count() == 0


def test_submitting_twice_answers_409_verification_pending(driver: User) -> None:
    submitted(driver)
    before = snapshot()
    response = client_of(driver).post(
        "/api/v1/drivers/me/verification", submission(id_number=id_number(sequence="003")), format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "verification_pending"
    assert snapshot() == before


def test_a_verified_driver_submitting_answers_409_already_verified(driver: User, platform_admin: User) -> None:
    client_of(platform_admin).post(f"/api/v1/verifications/{submitted(driver).pk}/approve")
    response = client_of(driver).post(
        "/api/v1/drivers/me/verification", submission(id_number=id_number(sequence="003")), format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "already_verified"


def test_an_id_number_of_another_account_answers_409_id_number_in_use(driver: User, carrier) -> None:
    submitted(member(Role.DRIVER, carrier))
    before = snapshot()

    response = client_of(driver).post("/api/v1/drivers/me/verification", submission(), format="json")

    assert response.status_code == 409
    assert error_of(response)["code"] == "id_number_in_use"
    assert list(error_of(response)["fields"]) == ["id_number"]
    assert snapshot() == before


def test_the_profile_before_any_submission(driver: User, carrier) -> None:
    vehicle = VehicleFactory(carrier=carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)

    response = client_of(driver).get("/api/v1/drivers/me")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["id"] == driver.pk
    assert body["phone"] == driver.phone
    assert body["verification_status"] == "unverified"
    assert body["verification"] is None
    assert [(m["organisation_code"], m["role"]) for m in body["memberships"]] == [(carrier.code, "driver")]
    assert [(v["plate"], v["carrier_code"]) for v in body["vehicles"]] == [(vehicle.plate, carrier.code)]


def test_the_profile_shows_the_current_submission_masked(driver: User) -> None:
    submitted(driver)
    body = client_of(driver).get("/api/v1/drivers/me").json()
    assert body["verification_status"] == "pending"
    assert body["verification"]["id_number_masked"] == MASKED
    assert body["verification"]["licence_class"] == "A2"
    assert ID_NUMBER not in str(body)


def test_the_export_is_a_json_download_with_masked_numbers(driver: User) -> None:
    submitted(driver)

    response = client_of(driver).get("/api/v1/drivers/me/export")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["profile"]["phone"] == driver.phone
    assert [v["id_number_masked"] for v in body["verifications"]] == [MASKED]
    assert ID_NUMBER not in response.content.decode()


def test_deleting_the_account_needs_the_password(driver: User) -> None:
    for body in ({"password": "wrong password"}, {}):
        response = client_of(driver).delete("/api/v1/drivers/me", body, format="json")
        assert response.status_code == 400
        assert error_of(response)["code"] in ("password_incorrect", "invalid")
        assert list(error_of(response)["fields"]) == ["password"]
    driver.refresh_from_db()
    assert driver.is_active
    assert driver.deleted_at is None
    assert Membership.objects.filter(user=driver).exists()


def test_deleting_the_account_signs_it_out_everywhere(driver: User) -> None:
    token = AuthToken.objects.create(user=driver, key_hash="c" * 64)
    client = APIClient()
    assert client.login(username=driver.phone, password=PASSWORD)
    submitted(driver)

    response = client.delete("/api/v1/drivers/me", {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    driver.refresh_from_db()
    assert driver.phone == f"deleted-{driver.pk}"
    assert not driver.is_active
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/drivers/me").status_code in (401, 403)
    assert not APIClient().login(username=driver.phone, password=PASSWORD)
    assert RealNameVerification.objects.get(user=driver).id_number_masked == MASKED


# --- The review queue ----------------------------------------------------------------------
def test_the_review_queue_lists_pending_submissions_oldest_first(platform_admin: User, carrier) -> None:
    drivers = [member(Role.DRIVER, carrier) for _ in range(4)]
    rows = [submitted(user, id_number(sequence=f"{n:03d}")) for n, user in enumerate(drivers)]
    # Creation order is not queue order: the last one submitted is made the oldest.
    for age, row in enumerate(rows[:3]):
        RealNameVerification.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=age + 1))
    services.verification_reject(actor=Actor.of(platform_admin), verification=rows[3], reason="模糊")

    response = client_of(platform_admin).get("/api/v1/verifications", {"status": "pending", "page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [rows[2].pk, rows[1].pk]
    assert body["next"] is not None
    assert all(row["id_number_masked"].startswith("1101**") for row in body["results"])
    assert [row["id"] for row in client_of(platform_admin).get(body["next"]).json()["results"]] == [rows[0].pk]


def test_an_unknown_status_filter_is_refused(platform_admin: User) -> None:
    response = client_of(platform_admin).get("/api/v1/verifications", {"status": "maybe"})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["status"]


def test_approving_a_decided_submission_answers_409(driver: User, platform_admin: User) -> None:
    verification = submitted(driver)
    client = client_of(platform_admin)
    assert client.post(f"/api/v1/verifications/{verification.pk}/reject", {"reason": "模糊"}, format="json").status_code == 200
    before = snapshot()

    response = client.post(f"/api/v1/verifications/{verification.pk}/approve")

    assert response.status_code == 409
    assert error_of(response)["code"] == "verification_not_pending"
    assert snapshot() == before


def test_rejecting_without_a_reason_answers_reason_required(driver: User, platform_admin: User) -> None:
    verification = submitted(driver)
    before = snapshot()
    for body in ({}, {"reason": "  "}):
        response = client_of(platform_admin).post(f"/api/v1/verifications/{verification.pk}/reject", body, format="json")
        assert response.status_code == 400
        assert error_of(response)["code"] == "reason_required"
    assert snapshot() == before


def test_a_missing_verification_answers_not_found(platform_admin: User) -> None:
    response = client_of(platform_admin).get("/api/v1/verifications/999999")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- The access matrix -----------------------------------------------------------------------
ACTORS = [
    "anonymous",
    "driver",
    "other_carrier_driver",
    "carrier_admin",
    "other_carrier_admin",
    "operator_admin",
    "station_staff",
    "platform_admin",
]
SEES_DETAILS = {"driver", "platform_admin"}
SEES_SUMMARY = {"carrier_admin"}
REVIEWS = {"platform_admin"}


@dataclass
class World:
    verification: RealNameVerification
    users: dict[str, User | None]


@pytest.fixture
def world(carrier, driver: User, platform_admin: User) -> World:
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    station = StationFactory(operator=operator)
    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": driver,
        "other_carrier_driver": member(Role.DRIVER, other_carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "station_staff": member(Role.STATION_STAFF, operator, station=station),
        "platform_admin": platform_admin,
    }
    return World(verification=submitted(driver), users=users)


def assert_refused_as_anonymous(response: Any) -> None:
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("actor", ACTORS)
def test_verification_detail_by_actor(world: World, actor: str) -> None:
    response = client_of(world.users[actor]).get(f"/api/v1/verifications/{world.verification.pk}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in SEES_DETAILS | SEES_SUMMARY:
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["legal_name"], body["id_number_masked"], body["status"]) == (
            world.verification.pk,
            "张三",
            MASKED,
            "pending",
        )
        if actor in SEES_DETAILS:
            assert body["licence_class"] == "A2"
            assert body["licence_number_masked"] == MASKED
        else:
            assert {name for name, value in body.items() if value is not None} == {
                "id",
                "user_id",
                "legal_name",
                "id_number_masked",
                "status",
            }
        assert ID_NUMBER not in response.content.decode()
    else:
        assert_not_found(response)


@pytest.mark.parametrize("actor", ACTORS)
def test_verification_list_by_actor(world: World, actor: str) -> None:
    response = client_of(world.users[actor]).get("/api/v1/verifications")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    assert response.status_code == 200
    listed = [row["id"] for row in response.json()["results"]]
    assert listed == ([world.verification.pk] if actor in SEES_DETAILS | SEES_SUMMARY else [])


@pytest.mark.parametrize("operation", ["approve", "reject"])
@pytest.mark.parametrize("actor", ACTORS)
def test_reviewing_by_actor(world: World, actor: str, operation: str) -> None:
    before = snapshot()
    url = f"/api/v1/verifications/{world.verification.pk}/{operation}"

    response = client_of(world.users[actor]).post(url, {"reason": "照片模糊"}, format="json")

    world.verification.refresh_from_db()
    if actor in REVIEWS:
        assert response.status_code == 200
        expected = VerificationStatus.VERIFIED if operation == "approve" else VerificationStatus.REJECTED
        assert response.json()["status"] == expected
        assert world.verification.status == expected
        assert world.verification.reviewed_by == world.users[actor]
        assert world.verification.reviewed_at is not None
        return
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in SEES_DETAILS | SEES_SUMMARY:
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"
    else:
        assert_not_found(response)
    assert snapshot() == before


@pytest.mark.parametrize("actor", ACTORS)
def test_revealing_by_actor(world: World, actor: str) -> None:
    before = snapshot()

    response = client_of(world.users[actor]).post(f"/api/v1/verifications/{world.verification.pk}/reveal")

    if actor == "platform_admin":
        assert response.status_code == 200
        assert response.json() == {"id": world.verification.pk, "id_number": ID_NUMBER}
        assert response["Cache-Control"] == "no-store"
        event = AuditEvent.objects.get()
        assert (event.actor, event.action, event.subject_id) == (
            world.users[actor],
            "id_number.reveal",
            str(world.verification.pk),
        )
        return
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    else:
        # Even the driver and their carrier's admin: the reveal is the platform's only.
        assert_not_found(response)
    assert ID_NUMBER not in response.content.decode()
    assert snapshot() == before
    assert AuditEvent.objects.count() == 0


def test_each_reveal_is_audited_once(world: World) -> None:
    client = client_of(world.users["platform_admin"])
    for _ in range(3):
        assert client.post(f"/api/v1/verifications/{world.verification.pk}/reveal").status_code == 200
    assert AuditEvent.objects.filter(action="id_number.reveal").count() == 3


def test_a_carrier_admin_no_longer_sees_a_driver_who_left_the_fleet(world: World) -> None:
    Membership.objects.filter(user=world.users["driver"]).delete()
    response = client_of(world.users["carrier_admin"]).get(f"/api/v1/verifications/{world.verification.pk}")
    assert_not_found(response)
