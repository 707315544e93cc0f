"""The carrier API once per operation: wiring, shapes and error codes over HTTP. Who may call
what is the access matrix's (tests/test_access_matrix_carriers.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import (
    CarrierCertification,
    CertificationStatus,
    DriverInvitation,
    InvitationStatus,
    LicenceClass,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from apps.accounts.tests.factories import OrganisationFactory, UserFactory, member
from apps.accounts.tests.test_carrier_services import (
    CAR_STANDARD,
    CREDIT_CODE,
    PLATE,
    VIN,
    car_standard,
    new_station,
    new_vehicle,
    verify,
)
from apps.assets.models import Vehicle, VehicleAssignment
from apps.assets.tests.factories import PackStandardFactory

pytestmark = pytest.mark.django_db

APPLICATION = {
    "company_name": "冀运物流有限公司",
    "credit_code": CREDIT_CODE,
    "contact_name": "王经理",
    "contact_phone": "13800000001",
}


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def carrier() -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def admin(carrier: Organisation) -> APIClient:
    return client_of(member(Role.CARRIER_ADMIN, carrier))


@pytest.fixture
def platform() -> APIClient:
    return client_of(member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)))


# --- Certification ----------------------------------------------------------------------
def test_certification_of_a_carrier_that_never_applied(carrier: Organisation, admin: APIClient) -> None:
    response = admin.get(f"/api/v1/carriers/{carrier.pk}/certification")
    assert response.status_code == 200
    assert response.json() == {"carrier": carrier.pk, "status": "not_applied", "may_swap": False, "application": None}


def test_apply_approve_and_deregister_over_http(carrier: Organisation, admin: APIClient, platform: APIClient) -> None:
    applied = admin.post(f"/api/v1/carriers/{carrier.pk}/certification", APPLICATION, format="json")
    assert applied.status_code == 201
    application = applied.json()
    assert {key: application[key] for key in ("carrier", "carrier_code", "status", "credit_code", "reason", "reviewed_at")} == {
        "carrier": carrier.pk,
        "carrier_code": carrier.code,
        "status": "pending",
        "credit_code": CREDIT_CODE,
        "reason": "",
        "reviewed_at": None,
    }

    queue = platform.get("/api/v1/certifications", {"status": "pending"})
    assert [row["id"] for row in queue.json()["results"]] == [application["id"]]

    approved = platform.post(f"/api/v1/certifications/{application['id']}/approve")
    assert approved.status_code == 200
    assert approved.json()["status"] == "certified"
    state = admin.get(f"/api/v1/carriers/{carrier.pk}/certification").json()
    assert (state["status"], state["may_swap"], state["application"]["id"]) == ("certified", True, application["id"])
    assert platform.get("/api/v1/certifications", {"status": "pending"}).json()["count"] == 0

    left = admin.delete(f"/api/v1/carriers/{carrier.pk}/certification")
    assert left.status_code == 200
    assert (left.json()["status"], left.json()["may_swap"]) == ("deregistered", False)


def test_apply_with_a_bad_credit_code(carrier: Organisation, admin: APIClient) -> None:
    bad = {**APPLICATION, "credit_code": CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")}
    response = admin.post(f"/api/v1/carriers/{carrier.pk}/certification", bad, format="json")
    assert response.status_code == 400
    assert error_code(response) == "credit_code_invalid"
    assert CarrierCertification.objects.count() == 0


def test_apply_twice_conflicts(carrier: Organisation, admin: APIClient) -> None:
    admin.post(f"/api/v1/carriers/{carrier.pk}/certification", APPLICATION, format="json")
    again = admin.post(f"/api/v1/carriers/{carrier.pk}/certification", APPLICATION, format="json")
    assert (again.status_code, error_code(again)) == (409, "certification_pending")


def test_apply_without_a_field_names_it(carrier: Organisation, admin: APIClient) -> None:
    response = admin.post(f"/api/v1/carriers/{carrier.pk}/certification", {"company_name": "x"}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert set(response.json()["error"]["fields"]) == {"credit_code", "contact_name", "contact_phone"}


def test_reject_needs_a_reason_over_http(carrier: Organisation, admin: APIClient, platform: APIClient) -> None:
    application = admin.post(f"/api/v1/carriers/{carrier.pk}/certification", APPLICATION, format="json").json()
    blank = platform.post(f"/api/v1/certifications/{application['id']}/reject", {}, format="json")
    assert (blank.status_code, error_code(blank)) == (400, "reason_required")
    rejected = platform.post(f"/api/v1/certifications/{application['id']}/reject", {"reason": "执照过期"}, format="json")
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "执照过期")
    again = platform.post(f"/api/v1/certifications/{application['id']}/approve")
    assert (again.status_code, error_code(again)) == (409, "certification_not_pending")


def test_certification_queue_refuses_an_unknown_status(platform: APIClient) -> None:
    response = platform.get("/api/v1/certifications", {"status": "maybe"})
    assert (response.status_code, error_code(response)) == (400, "invalid_filter")


# --- Vehicles ---------------------------------------------------------------------------
def test_add_list_and_remove_a_vehicle(carrier: Organisation, admin: APIClient) -> None:
    PackStandardFactory()
    body = {"plate": "冀a12345d", "vin": VIN, "pack_standard": "HT-282-LFP", "model_name": "XCMG E700"}
    added = admin.post(f"/api/v1/carriers/{carrier.pk}/vehicles", body, format="json")
    assert added.status_code == 201
    assert added.json() == {
        "plate": PLATE,
        "plate_kind": "new_energy_large",
        "vin": VIN,
        "carrier": carrier.code,
        "pack_standard": "HT-282-LFP",
        "model_name": "XCMG E700",
        "batteries": [],
        "drivers": [],
    }
    listed = admin.get(f"/api/v1/carriers/{carrier.pk}/vehicles").json()
    assert (listed["count"], listed["results"][0]["plate"]) == (1, PLATE)

    duplicate = admin.post(f"/api/v1/carriers/{carrier.pk}/vehicles", body, format="json")
    assert (duplicate.status_code, error_code(duplicate)) == (409, "plate_in_use")

    removed = admin.delete(f"/api/v1/carriers/{carrier.pk}/vehicles/{quote(PLATE)}")
    assert removed.status_code == 204
    assert Vehicle.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("plate", "12345", "plate_invalid"), ("vin", "SHORT", "vin_invalid"), ("pack_standard", "NOPE", "pack_standard_unknown")],
)
def test_add_vehicle_refusals_carry_their_codes(
    carrier: Organisation, admin: APIClient, field: str, value: str, code: str
) -> None:
    PackStandardFactory()
    body = {"plate": PLATE, "vin": VIN, "pack_standard": "HT-282-LFP", field: value}
    response = admin.post(f"/api/v1/carriers/{carrier.pk}/vehicles", body, format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert Vehicle.objects.count() == 0


def test_removing_a_vehicle_of_another_carrier_answers_not_found(carrier: Organisation, admin: APIClient) -> None:
    theirs = new_vehicle()
    response = admin.delete(f"/api/v1/carriers/{carrier.pk}/vehicles/{quote(theirs.plate)}")
    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert Vehicle.objects.filter(pk=theirs.pk).exists()


# --- Drivers, invitations and limits ----------------------------------------------------
def test_invite_accept_list_limit_and_remove_a_driver(carrier: Organisation, admin: APIClient) -> None:
    invitee = UserFactory(phone="13912345678", display_name="张三")
    invited = admin.post(f"/api/v1/carriers/{carrier.pk}/drivers", {"phone": "+86 139 1234 5678"}, format="json")
    assert invited.status_code == 201
    invitation = invited.json()
    assert (invitation["phone"], invitation["status"], invitation["carrier"]) == (
        "13912345678",
        "pending",
        {"id": carrier.pk, "name": carrier.name},
    )
    assert [row["id"] for row in admin.get(f"/api/v1/carriers/{carrier.pk}/invitations").json()["results"]] == [invitation["id"]]

    driver_client = client_of(invitee)
    mine = driver_client.get("/api/v1/invitations").json()
    assert [row["id"] for row in mine["results"]] == [invitation["id"]]
    accepted = driver_client.post(f"/api/v1/invitations/{invitation['id']}/accept")
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")

    verify(invitee, LicenceClass.A2)
    limits = {"limit_per_swap": {"amount_fen": 80000, "currency": "CNY"}, "limit_per_day": None}
    limited = admin.put(f"/api/v1/carriers/{carrier.pk}/drivers/{invitee.pk}/limits", limits, format="json")
    assert limited.status_code == 200
    row = limited.json()
    assert (row["limit_per_swap"], row["limit_per_day"]) == ({"amount_fen": 80000, "currency": "CNY"}, None)

    drivers = admin.get(f"/api/v1/carriers/{carrier.pk}/drivers").json()["results"]
    assert len(drivers) == 1
    assert {key: drivers[0][key] for key in ("user_id", "display_name", "phone", "limit_per_swap", "vehicles")} == {
        "user_id": invitee.pk,
        "display_name": "张三",
        "phone": "13912345678",
        "limit_per_swap": {"amount_fen": 80000, "currency": "CNY"},
        "vehicles": [],
    }
    verification = drivers[0]["verification"]
    assert (verification["status"], verification["licence_class"]) == ("verified", "A2")
    assert verification["id_number_masked"].count("*") == 10

    removed = admin.delete(f"/api/v1/carriers/{carrier.pk}/drivers/{invitee.pk}")
    assert removed.status_code == 204
    assert not Membership.objects.filter(user=invitee, organisation=carrier).exists()
    gone = admin.delete(f"/api/v1/carriers/{carrier.pk}/drivers/{invitee.pk}")
    assert (gone.status_code, error_code(gone)) == (404, "not_found")


@pytest.mark.parametrize(
    ("limit", "status", "code"),
    [
        ({"amount_fen": -1, "currency": "CNY"}, 400, "limit_invalid"),
        ({"amount_fen": 12.5, "currency": "CNY"}, 400, "limit_invalid"),
        ({"amount_fen": "100", "currency": "CNY"}, 400, "limit_invalid"),
        ({"amount_fen": 100, "currency": "USD"}, 400, "invalid"),
    ],
)
def test_limit_refusals(carrier: Organisation, admin: APIClient, limit: dict, status: int, code: str) -> None:
    driver = member(Role.DRIVER, carrier)
    response = admin.put(
        f"/api/v1/carriers/{carrier.pk}/drivers/{driver.pk}/limits",
        {"limit_per_swap": limit, "limit_per_day": None},
        format="json",
    )
    assert (response.status_code, error_code(response)) == (status, code)
    assert Membership.objects.get(user=driver).limit_per_swap_fen is None


def test_decline_and_revoke_over_http(carrier: Organisation, admin: APIClient) -> None:
    invitee = UserFactory(phone="13912345678")
    first = admin.post(f"/api/v1/carriers/{carrier.pk}/drivers", {"phone": invitee.phone}, format="json").json()
    declined = client_of(invitee).post(f"/api/v1/invitations/{first['id']}/decline")
    assert (declined.status_code, declined.json()["status"]) == (200, "declined")

    second = admin.post(f"/api/v1/carriers/{carrier.pk}/drivers", {"phone": invitee.phone}, format="json").json()
    revoked = admin.delete(f"/api/v1/carriers/{carrier.pk}/invitations/{second['id']}")
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    late = client_of(invitee).post(f"/api/v1/invitations/{second['id']}/accept")
    assert (late.status_code, error_code(late)) == (409, "invitation_not_pending")
    assert set(DriverInvitation.objects.values_list("status", flat=True)) == {InvitationStatus.DECLINED, InvitationStatus.REVOKED}


def test_invite_an_existing_driver_conflicts(carrier: Organisation, admin: APIClient) -> None:
    driver = member(Role.DRIVER, carrier)
    response = admin.post(f"/api/v1/carriers/{carrier.pk}/drivers", {"phone": driver.phone}, format="json")
    assert (response.status_code, error_code(response)) == (409, "already_member")


# --- Assignments ------------------------------------------------------------------------
def test_assign_and_unassign_over_http(carrier: Organisation, admin: APIClient) -> None:
    truck = new_vehicle(carrier=carrier)
    driver = member(Role.DRIVER, carrier, display_name="赵六")
    verify(driver, LicenceClass.A2)
    assigned = admin.post(f"/api/v1/vehicles/{quote(truck.plate)}/assignments", {"driver": driver.pk}, format="json")
    assert assigned.status_code == 201
    assert assigned.json()["drivers"] == [{"user_id": driver.pk, "display_name": "赵六"}]
    # The assets app's vehicle detail still answers on its own path.
    assert admin.get(f"/api/v1/vehicles/{quote(truck.plate)}").json()["plate"] == truck.plate

    removed = admin.delete(f"/api/v1/vehicles/{quote(truck.plate)}/assignments/{driver.pk}")
    assert removed.status_code == 204
    assert not VehicleAssignment.objects.exists()
    again = admin.delete(f"/api/v1/vehicles/{quote(truck.plate)}/assignments/{driver.pk}")
    assert (again.status_code, error_code(again)) == (404, "not_found")


@pytest.mark.parametrize(("licence", "code"), [(None, "driver_not_verified"), (LicenceClass.C1, "licence_class_insufficient")])
def test_assign_refusals_over_http(carrier: Organisation, admin: APIClient, licence: str | None, code: str) -> None:
    truck = new_vehicle(carrier=carrier)
    driver = member(Role.DRIVER, carrier)
    if licence:
        verify(driver, licence)
    response = admin.post(f"/api/v1/vehicles/{quote(truck.plate)}/assignments", {"driver": driver.pk}, format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert not VehicleAssignment.objects.exists()


def test_assign_someone_outside_the_fleet(carrier: Organisation, admin: APIClient) -> None:
    truck = new_vehicle(carrier=carrier)
    outsider = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    for user_id in (outsider.pk, 999_999):
        response = admin.post(f"/api/v1/vehicles/{quote(truck.plate)}/assignments", {"driver": user_id}, format="json")
        assert (response.status_code, error_code(response)) == (400, "not_a_driver_of_carrier")
    assert not VehicleAssignment.objects.exists()


# --- Private car owners -----------------------------------------------------------------
def test_private_owner_adds_their_car(db) -> None:
    car_standard()
    owner = UserFactory()
    response = client_of(owner).post(
        "/api/v1/me/vehicles", {"plate": "冀AD12345", "vin": VIN, "pack_standard": CAR_STANDARD}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["plate"], body["carrier"], body["drivers"]) == (
        "冀AD12345",
        f"individual-{owner.pk}",
        [{"user_id": owner.pk, "display_name": owner.display_name}],
    )
    individual = Organisation.objects.get(code=f"individual-{owner.pk}")
    assert individual.certification_status == CertificationStatus.NOT_APPLIED
    # They administer their carrier of one like any carrier.
    fleet = client_of(owner).get(f"/api/v1/carriers/{individual.pk}/vehicles").json()
    assert [row["plate"] for row in fleet["results"]] == ["冀AD12345"]


# --- Station staff ----------------------------------------------------------------------
def test_add_list_and_remove_staff(db) -> None:
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    operator_admin = client_of(member(Role.OPERATOR_ADMIN, operator))
    north, south = new_station(operator=operator), new_station(operator=operator)
    staff = UserFactory(phone="13700000001", display_name="钱七")

    added = operator_admin.post(
        f"/api/v1/orgs/{operator.pk}/staff", {"phone": staff.phone, "station_codes": [north.code, south.code]}, format="json"
    )
    assert added.status_code == 201
    assert [(row["user_id"], row["station"]) for row in added.json()] == [(staff.pk, north.code), (staff.pk, south.code)]

    listed = operator_admin.get(f"/api/v1/orgs/{operator.pk}/staff").json()
    assert [(row["display_name"], row["station"]) for row in listed["results"]] == [("钱七", north.code), ("钱七", south.code)]

    first = added.json()[0]["id"]
    assert operator_admin.delete(f"/api/v1/orgs/{operator.pk}/staff/{first}").status_code == 204
    assert list(Membership.objects.filter(user=staff).values_list("station__code", flat=True)) == [south.code]


def test_staff_refusals_over_http(db) -> None:
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    operator_admin = client_of(member(Role.OPERATOR_ADMIN, operator))
    foreign = new_station()
    staff = UserFactory()
    not_ours = operator_admin.post(
        f"/api/v1/orgs/{operator.pk}/staff", {"phone": staff.phone, "station_codes": [foreign.code]}, format="json"
    )
    assert (not_ours.status_code, error_code(not_ours)) == (400, "station_not_yours")
    own = new_station(operator=operator)
    unknown = operator_admin.post(
        f"/api/v1/orgs/{operator.pk}/staff", {"phone": "13700000009", "station_codes": [own.code]}, format="json"
    )
    assert (unknown.status_code, error_code(unknown)) == (404, "user_not_found")
    assert not Membership.objects.filter(role=Role.STATION_STAFF).exists()


# --- Schema -----------------------------------------------------------------------------
def test_schema_lists_the_carrier_paths(client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/carriers/{carrier_id}/certification",
        "/api/v1/certifications",
        "/api/v1/certifications/{certification_id}/approve",
        "/api/v1/certifications/{certification_id}/reject",
        "/api/v1/carriers/{carrier_id}/vehicles",
        "/api/v1/carriers/{carrier_id}/vehicles/{plate}",
        "/api/v1/carriers/{carrier_id}/drivers",
        "/api/v1/carriers/{carrier_id}/drivers/{user_id}",
        "/api/v1/carriers/{carrier_id}/drivers/{user_id}/limits",
        "/api/v1/carriers/{carrier_id}/invitations",
        "/api/v1/carriers/{carrier_id}/invitations/{invitation_id}",
        "/api/v1/vehicles/{plate}/assignments",
        "/api/v1/vehicles/{plate}/assignments/{user_id}",
        "/api/v1/invitations",
        "/api/v1/invitations/{invitation_id}/accept",
        "/api/v1/invitations/{invitation_id}/decline",
        "/api/v1/me/vehicles",
        "/api/v1/orgs/{organisation_id}/staff",
        "/api/v1/orgs/{organisation_id}/staff/{membership_id}",
    } <= set(paths)
    assert set(paths["/api/v1/carriers/{carrier_id}/certification"]) == {"get", "post", "delete"}
