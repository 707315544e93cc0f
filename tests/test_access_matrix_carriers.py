"""The access matrix of ACCESS.md for the carrier endpoints: fleets, certification, invitations
and station staff. Each actor × this object → allowed, 403 when they see it but may not change
it, or 404 exactly like a missing object; a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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
from apps.accounts.tests.test_carrier_services import CREDIT_CODE, verify
from apps.assets.models import Station, Vehicle, VehicleAssignment
from apps.assets.tests.factories import PackStandardFactory, StationFactory, VehicleFactory, vin_for

ACTORS = [
    "anonymous",
    "driver",
    "other_carrier_driver",
    "carrier_admin",
    "other_carrier_admin",
    "operator_admin",
    "other_operator_admin",
    "staff_of_station",
    "platform_admin",
]
# Who sees this carrier's fleet (vehicles, drivers, invitations, certification).
SEES_FLEET = {"carrier_admin", "platform_admin"}
# Who sees this operator's staff list.
SEES_STAFF = {"operator_admin", "platform_admin"}


@dataclass
class World:
    carrier: Organisation
    operator: Organisation
    station: Station
    other_station: Station
    vehicle: Vehicle
    spare_driver: User  # a verified A2 driver of the carrier, not assigned: the object of driver operations
    invitation: DriverInvitation  # to other_carrier_driver's phone
    users: dict[str, User | None]


@pytest.fixture
def world(db) -> World:
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    other_operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    platform = OrganisationFactory(kind=OrganisationKind.PLATFORM)
    station = StationFactory(operator=operator)
    other_station = StationFactory(operator=other_operator)
    vehicle = VehicleFactory(carrier=carrier)
    other_vehicle = VehicleFactory(carrier=other_carrier)

    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": member(Role.DRIVER, carrier),
        "other_carrier_driver": member(Role.DRIVER, other_carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "other_operator_admin": member(Role.OPERATOR_ADMIN, other_operator),
        "staff_of_station": member(Role.STATION_STAFF, operator, station=station),
        "platform_admin": member(Role.PLATFORM_ADMIN, platform),
    }
    VehicleAssignment.objects.create(vehicle=vehicle, driver=users["driver"])
    VehicleAssignment.objects.create(vehicle=other_vehicle, driver=users["other_carrier_driver"])
    spare_driver = member(Role.DRIVER, carrier)
    verify(spare_driver, LicenceClass.A2)
    invitee = users["other_carrier_driver"]
    assert invitee is not None
    invitation = DriverInvitation.objects.create(carrier=carrier, phone=invitee.phone, invited_by=users["carrier_admin"])
    return World(carrier, operator, station, other_station, vehicle, spare_driver, invitation, users)


def client_for(world: World, actor: str) -> APIClient:
    client = APIClient()
    user = world.users[actor]
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_refused_as_anonymous(response) -> None:
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def assert_not_found(response) -> None:
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def assert_forbidden(response) -> None:
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def expect(response, actor: str, *, allowed: Collection[str], status: int, forbidden: Collection[str] = ()) -> bool:
    """Assert the matrix cell; True when the call was allowed."""
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in allowed:
        assert response.status_code == status, response.content
        return True
    elif actor in forbidden:
        assert_forbidden(response)
    else:
        assert_not_found(response)
    return False


# --- Reading a carrier's fleet ----------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("what", ["vehicles", "drivers", "certification", "invitations"])
def test_reading_the_fleet_by_actor(world: World, actor: str, what: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/carriers/{world.carrier.pk}/{what}")
    if expect(response, actor, allowed=SEES_FLEET, status=200):
        body = response.json()
        if what == "vehicles":
            assert [row["plate"] for row in body["results"]] == [world.vehicle.plate]
        elif what == "drivers":
            assert len(body["results"]) == 2
        elif what == "certification":
            assert body["status"] == "not_applied"
        else:
            assert [row["id"] for row in body["results"]] == [world.invitation.pk]


# --- Changing a carrier's fleet ---------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_adding_a_vehicle_by_actor(world: World, actor: str) -> None:
    PackStandardFactory()
    body = {"plate": "冀A99999D", "vin": vin_for(9_200_001), "pack_standard": "HT-282-LFP"}
    response = client_for(world, actor).post(f"/api/v1/carriers/{world.carrier.pk}/vehicles", body, format="json")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=201):
        assert not Vehicle.objects.filter(plate="冀A99999D").exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_inviting_a_driver_by_actor(world: World, actor: str) -> None:
    body = {"phone": "13655550000"}
    response = client_for(world, actor).post(f"/api/v1/carriers/{world.carrier.pk}/drivers", body, format="json")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=201):
        assert not DriverInvitation.objects.filter(phone="13655550000").exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_removing_a_vehicle_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).delete(f"/api/v1/carriers/{world.carrier.pk}/vehicles/{quote(world.vehicle.plate)}")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=204):
        assert Vehicle.objects.filter(pk=world.vehicle.pk).exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_removing_a_driver_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).delete(f"/api/v1/carriers/{world.carrier.pk}/drivers/{world.spare_driver.pk}")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=204):
        assert Membership.objects.filter(user=world.spare_driver, organisation=world.carrier).exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_setting_limits_by_actor(world: World, actor: str) -> None:
    body = {"limit_per_swap": {"amount_fen": 100, "currency": "CNY"}, "limit_per_day": None}
    path = f"/api/v1/carriers/{world.carrier.pk}/drivers/{world.spare_driver.pk}/limits"
    response = client_for(world, actor).put(path, body, format="json")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=200):
        assert Membership.objects.get(user=world.spare_driver).limit_per_swap_fen is None


@pytest.mark.parametrize("actor", ACTORS)
def test_revoking_an_invitation_by_actor(world: World, actor: str) -> None:
    path = f"/api/v1/carriers/{world.carrier.pk}/invitations/{world.invitation.pk}"
    response = client_for(world, actor).delete(path)
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=200):
        world.invitation.refresh_from_db()
        assert world.invitation.status == InvitationStatus.PENDING


# --- Assignments: whoever sees the vehicle; its driver sees it but may not change it ----
@pytest.mark.parametrize("actor", ACTORS)
def test_assigning_a_driver_by_actor(world: World, actor: str) -> None:
    path = f"/api/v1/vehicles/{quote(world.vehicle.plate)}/assignments"
    response = client_for(world, actor).post(path, {"driver": world.spare_driver.pk}, format="json")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"driver", "platform_admin"}, status=201):
        assert not VehicleAssignment.objects.filter(driver=world.spare_driver).exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_unassigning_a_driver_by_actor(world: World, actor: str) -> None:
    driver = world.users["driver"]
    assert driver is not None
    response = client_for(world, actor).delete(f"/api/v1/vehicles/{quote(world.vehicle.plate)}/assignments/{driver.pk}")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"driver", "platform_admin"}, status=204):
        assert VehicleAssignment.objects.filter(vehicle=world.vehicle, driver=driver).exists()


# --- Certification ----------------------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_applying_by_actor(world: World, actor: str) -> None:
    body = {"company_name": "冀运物流", "credit_code": CREDIT_CODE, "contact_name": "王经理", "contact_phone": "13800000001"}
    response = client_for(world, actor).post(f"/api/v1/carriers/{world.carrier.pk}/certification", body, format="json")
    if not expect(response, actor, allowed={"carrier_admin"}, forbidden={"platform_admin"}, status=201):
        assert not CarrierCertification.objects.exists()
        world.carrier.refresh_from_db()
        assert world.carrier.certification_status == CertificationStatus.NOT_APPLIED


@pytest.mark.parametrize("actor", ACTORS)
def test_deregistering_by_actor(world: World, actor: str) -> None:
    Organisation.objects.filter(pk=world.carrier.pk).update(certification_status=CertificationStatus.CERTIFIED)
    response = client_for(world, actor).delete(f"/api/v1/carriers/{world.carrier.pk}/certification")
    allowed = expect(response, actor, allowed={"carrier_admin", "platform_admin"}, status=200)
    world.carrier.refresh_from_db()
    expected = CertificationStatus.DEREGISTERED if allowed else CertificationStatus.CERTIFIED
    assert world.carrier.certification_status == expected


@pytest.fixture
def pending(world: World) -> CarrierCertification:
    admin = world.users["carrier_admin"]
    Organisation.objects.filter(pk=world.carrier.pk).update(certification_status=CertificationStatus.PENDING)
    return CarrierCertification.objects.create(
        organisation=world.carrier,
        company_name="冀运物流",
        credit_code=CREDIT_CODE,
        contact_name="王经理",
        contact_phone="13800000001",
        applied_by=admin,
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_certification_queue_by_actor(world: World, pending: CarrierCertification, actor: str) -> None:
    response = client_for(world, actor).get("/api/v1/certifications", {"status": "pending"})
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    listed = [row["id"] for row in response.json()["results"]]
    assert listed == ([pending.pk] if actor in SEES_FLEET else [])


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_deciding_an_application_by_actor(world: World, pending: CarrierCertification, actor: str, decision: str) -> None:
    path = f"/api/v1/certifications/{pending.pk}/{decision}"
    response = client_for(world, actor).post(path, {"reason": "不符合要求"}, format="json")
    if not expect(response, actor, allowed={"platform_admin"}, forbidden={"carrier_admin"}, status=200):
        pending.refresh_from_db()
        world.carrier.refresh_from_db()
        assert (pending.status, world.carrier.certification_status) == (CertificationStatus.PENDING,) * 2


# --- Invitations: the invited phone's holder answers; the carrier's admins see them -----
@pytest.mark.parametrize("actor", ACTORS)
def test_my_invitations_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get("/api/v1/invitations")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    listed = [row["id"] for row in response.json()["results"]]
    assert listed == ([world.invitation.pk] if actor == "other_carrier_driver" else [])


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_answering_an_invitation_by_actor(world: World, actor: str, answer: str) -> None:
    response = client_for(world, actor).post(f"/api/v1/invitations/{world.invitation.pk}/{answer}")
    allowed = expect(response, actor, allowed={"other_carrier_driver"}, forbidden={"carrier_admin", "platform_admin"}, status=200)
    world.invitation.refresh_from_db()
    joined = Membership.objects.filter(organisation=world.carrier, user=world.users["other_carrier_driver"]).exists()
    if allowed:
        assert world.invitation.status == (InvitationStatus.ACCEPTED if answer == "accept" else InvitationStatus.DECLINED)
        assert joined is (answer == "accept")
    else:
        assert (world.invitation.status, joined) == (InvitationStatus.PENDING, False)


# --- Private car owners: anyone signed in adds their own car ----------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_adding_my_own_car_by_actor(world: World, actor: str) -> None:
    PackStandardFactory()
    body = {"plate": "冀A88888D", "vin": vin_for(9_200_002), "pack_standard": "HT-282-LFP"}
    response = client_for(world, actor).post("/api/v1/me/vehicles", body, format="json")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        assert not Vehicle.objects.filter(plate="冀A88888D").exists()
        return
    assert response.status_code == 201
    user = world.users[actor]
    assert user is not None
    assert response.json()["carrier"] == f"individual-{user.pk}"
    assert world.carrier.vehicles.count() == 1  # nothing lands in anyone else's fleet


# --- Station staff ----------------------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_staff_list_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/orgs/{world.operator.pk}/staff")
    if expect(response, actor, allowed=SEES_STAFF, status=200):
        assert [row["station"] for row in response.json()["results"]] == [world.station.code]


@pytest.mark.parametrize("actor", ACTORS)
def test_adding_staff_by_actor(world: World, actor: str) -> None:
    newcomer = UserFactory()
    body = {"phone": newcomer.phone, "station_codes": [world.station.code]}
    response = client_for(world, actor).post(f"/api/v1/orgs/{world.operator.pk}/staff", body, format="json")
    if not expect(response, actor, allowed={"operator_admin"}, forbidden={"platform_admin"}, status=201):
        assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("actor", ACTORS)
def test_removing_staff_by_actor(world: World, actor: str) -> None:
    binding = Membership.objects.get(user=world.users["staff_of_station"])
    response = client_for(world, actor).delete(f"/api/v1/orgs/{world.operator.pk}/staff/{binding.pk}")
    if not expect(response, actor, allowed={"operator_admin"}, forbidden={"platform_admin"}, status=204):
        assert Membership.objects.filter(pk=binding.pk).exists()


def test_another_operators_station_is_refused_even_to_an_operator_admin(world: World) -> None:
    newcomer = UserFactory()
    body = {"phone": newcomer.phone, "station_codes": [world.other_station.code]}
    response = client_for(world, "operator_admin").post(f"/api/v1/orgs/{world.operator.pk}/staff", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "station_not_yours")
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_hidden_carrier_answers_like_a_missing_one(world: World) -> None:
    client = client_for(world, "other_carrier_admin")
    hidden = client.get(f"/api/v1/carriers/{world.carrier.pk}/vehicles")
    missing = client.get("/api/v1/carriers/999999/vehicles")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_an_operator_is_not_a_carrier(world: World) -> None:
    response = client_for(world, "platform_admin").get(f"/api/v1/carriers/{world.operator.pk}/vehicles")
    assert_not_found(response)
