"""Carrier services against the database: each happy path, and each refusal with nothing changed."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import (
    CarrierCertification,
    CertificationStatus,
    DriverInvitation,
    InvitationStatus,
    LicenceClass,
    Membership,
    Organisation,
    OrganisationKind,
    RealNameVerification,
    Role,
    User,
    VerificationStatus,
)
from apps.accounts.personal_data import encrypt, lookup_hash
from apps.accounts.selectors.carriers import carrier_may_swap
from apps.accounts.services import carriers as services
from apps.accounts.tests.factories import OrganisationFactory, UserFactory, member
from apps.assets.models import BatteryLocation, Station, Vehicle, VehicleAssignment, VehicleSegment
from apps.assets.tests.factories import BatteryFactory, PackStandardFactory, StationFactory, VehicleFactory, vin_for
from apps.common.errors import ApplicationError
from apps.common.identifiers import id_check_character, uscc_check_character
from apps.common.models import AuditEvent

pytestmark = pytest.mark.django_db

CREDIT_CODE = "91130100MA0CXXXX0" + uscc_check_character("91130100MA0CXXXX0")
# The same code with its check character changed: the single typo the check catches.
BAD_CREDIT_CODE = CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")
PLATE = "冀A12345D"
VIN = vin_for(9_000_001)
CAR_STANDARD = "CAR-75-LFP"


# --- Helpers shared with the API and matrix tests ---------------------------------------
def verify(user: User, licence_class: str = LicenceClass.A2, *, expires_on: date | None = None) -> RealNameVerification:
    """A verified real-name submission for ``user`` (as the platform's review would leave it)."""
    first17 = f"13010219800101{user.pk % 1000:03d}"
    id_number = first17 + id_check_character(first17)
    return RealNameVerification.objects.create(
        user=user,
        legal_name=f"司机{user.pk}",
        id_number_encrypted=encrypt(id_number),
        id_number_hash=lookup_hash(id_number),
        id_number_masked=f"{id_number[:4]}**********{id_number[-4:]}",
        licence_number_encrypted=encrypt(id_number),
        licence_number_masked=f"{id_number[:4]}****",
        licence_class=licence_class,
        licence_expires_on=expires_on or date(2040, 1, 1),
        status=VerificationStatus.VERIFIED,
        reviewed_at=timezone.now(),
    )


def new_vehicle(**fields: object) -> Vehicle:
    """A vehicle from the factory, typed as the model it makes."""
    return VehicleFactory(**fields)


def new_station(**fields: object) -> Station:
    return StationFactory(**fields)


def car_standard():
    return PackStandardFactory(
        code=CAR_STANDARD, name="Car 75 kWh", segment=VehicleSegment.CAR, rated_kwh=Decimal("75.0"), nominal_voltage_v=400
    )


def apply(actor_user: User, carrier: Organisation) -> CarrierCertification:
    return services.certification_apply(
        actor=Actor.of(actor_user),
        carrier=carrier,
        company_name="冀运物流有限公司",
        credit_code=CREDIT_CODE,
        contact_name="王经理",
        contact_phone="13800000001",
    )


def refused(code: str, call, *args, status: int | None = None, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    if status is not None:
        assert caught.value.status_code == status
    return caught.value


@pytest.fixture
def carrier() -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def admin(carrier: Organisation) -> User:
    return member(Role.CARRIER_ADMIN, carrier)


@pytest.fixture
def platform_admin() -> User:
    return member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM))


@pytest.fixture
def other_admin() -> User:
    return member(Role.CARRIER_ADMIN, OrganisationFactory(kind=OrganisationKind.CARRIER))


def status_of(organisation: Organisation) -> str:
    organisation.refresh_from_db()
    return organisation.certification_status


# --- Certification ----------------------------------------------------------------------
def test_apply_makes_the_application_and_the_carrier_pending(carrier: Organisation, admin: User) -> None:
    certification = services.certification_apply(
        actor=Actor.of(admin),
        carrier=carrier,
        company_name="  冀运物流有限公司 ",
        credit_code=CREDIT_CODE.lower(),
        contact_name="王经理",
        contact_phone="+86 138-0000-0001",
    )
    assert (certification.status, certification.credit_code, certification.contact_phone) == (
        CertificationStatus.PENDING,
        CREDIT_CODE,
        "13800000001",
    )
    assert certification.company_name == "冀运物流有限公司"
    assert certification.applied_by == admin
    assert status_of(carrier) == CertificationStatus.PENDING
    assert carrier_may_swap(carrier=carrier) is False


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("credit_code", BAD_CREDIT_CODE, "credit_code_invalid"),
        ("contact_phone", "12345", "phone_invalid"),
        ("company_name", "  ", "invalid"),
        ("contact_name", "", "invalid"),
    ],
)
def test_apply_refuses_bad_details_and_changes_nothing(
    carrier: Organisation, admin: User, field: str, value: str, code: str
) -> None:
    details = {
        "company_name": "冀运物流有限公司",
        "credit_code": CREDIT_CODE,
        "contact_name": "王经理",
        "contact_phone": "13800000001",
        field: value,
    }
    refused(code, services.certification_apply, actor=Actor.of(admin), carrier=carrier, status=400, **details)
    assert CarrierCertification.objects.count() == 0
    assert status_of(carrier) == CertificationStatus.NOT_APPLIED


def test_apply_while_pending_is_refused(carrier: Organisation, admin: User) -> None:
    apply(admin, carrier)
    refused("certification_pending", apply, admin, carrier, status=409)
    assert CarrierCertification.objects.count() == 1


def test_apply_when_certified_is_refused(carrier: Organisation, admin: User, platform_admin: User) -> None:
    services.certification_approve(actor=Actor.of(platform_admin), certification=apply(admin, carrier))
    refused("already_certified", apply, admin, carrier, status=409)
    assert CarrierCertification.objects.count() == 1
    assert status_of(carrier) == CertificationStatus.CERTIFIED


@pytest.mark.parametrize("who", ["other_admin", "driver", "platform_admin"])
def test_only_the_carriers_admin_applies(carrier: Organisation, other_admin: User, platform_admin: User, who: str) -> None:
    user = {"other_admin": other_admin, "driver": member(Role.DRIVER, carrier), "platform_admin": platform_admin}[who]
    refused("permission_denied", apply, user, carrier, status=403)
    assert CarrierCertification.objects.count() == 0
    assert status_of(carrier) == CertificationStatus.NOT_APPLIED


def test_certification_flow_apply_approve_swap_deregister_keeps_history(
    carrier: Organisation, admin: User, platform_admin: User
) -> None:
    driver = member(Role.DRIVER, carrier)
    vehicle = new_vehicle(carrier=carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)

    certification = apply(admin, carrier)
    assert carrier_may_swap(carrier=carrier) is False
    approved = services.certification_approve(actor=Actor.of(platform_admin), certification=certification)
    assert approved.status == CertificationStatus.CERTIFIED
    assert approved.reviewed_by == platform_admin
    assert approved.reviewed_at is not None
    assert status_of(carrier) == CertificationStatus.CERTIFIED
    assert carrier_may_swap(carrier=carrier) is True

    services.carrier_deregister(actor=Actor.of(admin), carrier=carrier)
    assert carrier_may_swap(carrier=carrier) is False
    assert status_of(carrier) == CertificationStatus.DEREGISTERED
    certification.refresh_from_db()
    assert certification.status == CertificationStatus.DEREGISTERED
    assert certification.reviewed_by == platform_admin  # the approval stays on record
    # Fleet and people stay.
    assert list(Vehicle.objects.filter(carrier=carrier)) == [vehicle]
    assert VehicleAssignment.objects.filter(vehicle=vehicle, driver=driver).exists()
    assert set(Membership.objects.filter(organisation=carrier).values_list("user_id", flat=True)) == {admin.pk, driver.pk}
    event = AuditEvent.objects.get(action="carrier.deregister")
    assert (event.actor, event.subject_id, event.detail) == (admin, str(carrier.pk), {"previous": "certified"})


def test_carrier_may_swap_reads_the_database_not_the_object(carrier: Organisation, admin: User, platform_admin: User) -> None:
    services.certification_approve(actor=Actor.of(platform_admin), certification=apply(admin, carrier))
    stale = Organisation.objects.get(pk=carrier.pk)
    services.carrier_deregister(actor=Actor.of(platform_admin), carrier=carrier)
    assert stale.certification_status == CertificationStatus.CERTIFIED
    assert carrier_may_swap(carrier=stale) is False


def test_carrier_may_swap_is_false_for_an_operator() -> None:
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR, certification_status=CertificationStatus.CERTIFIED)
    assert carrier_may_swap(carrier=operator) is False


def test_approve_twice_is_refused(carrier: Organisation, admin: User, platform_admin: User) -> None:
    certification = apply(admin, carrier)
    services.certification_approve(actor=Actor.of(platform_admin), certification=certification)
    refused(
        "certification_not_pending", services.certification_approve, actor=Actor.of(platform_admin), certification=certification
    )


def test_carrier_admin_cannot_approve_their_own_application(carrier: Organisation, admin: User) -> None:
    certification = apply(admin, carrier)
    refused("permission_denied", services.certification_approve, actor=Actor.of(admin), certification=certification, status=403)
    certification.refresh_from_db()
    assert certification.status == CertificationStatus.PENDING
    assert status_of(carrier) == CertificationStatus.PENDING


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(carrier: Organisation, admin: User, platform_admin: User, reason: str) -> None:
    certification = apply(admin, carrier)
    refused(
        "reason_required",
        services.certification_reject,
        actor=Actor.of(platform_admin),
        certification=certification,
        reason=reason,
        status=400,
    )
    certification.refresh_from_db()
    assert (certification.status, certification.reason, certification.reviewed_at) == (CertificationStatus.PENDING, "", None)
    assert status_of(carrier) == CertificationStatus.PENDING


def test_reject_records_the_reason_and_the_carrier_may_apply_again(
    carrier: Organisation, admin: User, platform_admin: User
) -> None:
    certification = apply(admin, carrier)
    rejected = services.certification_reject(
        actor=Actor.of(platform_admin), certification=certification, reason=" 营业执照照片不清晰 "
    )
    assert (rejected.status, rejected.reason, rejected.reviewed_by) == (
        CertificationStatus.REJECTED,
        "营业执照照片不清晰",
        platform_admin,
    )
    assert status_of(carrier) == CertificationStatus.REJECTED
    assert carrier_may_swap(carrier=carrier) is False
    again = apply(admin, carrier)
    assert again.status == CertificationStatus.PENDING
    assert CarrierCertification.objects.filter(organisation=carrier).count() == 2


def test_reject_after_approval_is_refused(carrier: Organisation, admin: User, platform_admin: User) -> None:
    certification = apply(admin, carrier)
    services.certification_approve(actor=Actor.of(platform_admin), certification=certification)
    refused(
        "certification_not_pending",
        services.certification_reject,
        actor=Actor.of(platform_admin),
        certification=certification,
        reason="late",
        status=409,
    )
    assert status_of(carrier) == CertificationStatus.CERTIFIED


def test_deregister_withdraws_a_pending_application(carrier: Organisation, admin: User, platform_admin: User) -> None:
    certification = apply(admin, carrier)
    services.carrier_deregister(actor=Actor.of(admin), carrier=carrier)
    certification.refresh_from_db()
    assert certification.status == CertificationStatus.DEREGISTERED
    refused(
        "certification_not_pending", services.certification_approve, actor=Actor.of(platform_admin), certification=certification
    )
    assert status_of(carrier) == CertificationStatus.DEREGISTERED


def test_deregister_twice_changes_nothing(carrier: Organisation, admin: User) -> None:
    services.carrier_deregister(actor=Actor.of(admin), carrier=carrier)
    services.carrier_deregister(actor=Actor.of(admin), carrier=carrier)
    assert status_of(carrier) == CertificationStatus.DEREGISTERED
    assert AuditEvent.objects.filter(action="carrier.deregister").count() == 1


def test_deregistered_carrier_may_apply_again(carrier: Organisation, admin: User, platform_admin: User) -> None:
    services.certification_approve(actor=Actor.of(platform_admin), certification=apply(admin, carrier))
    services.carrier_deregister(actor=Actor.of(platform_admin), carrier=carrier)
    apply(admin, carrier)
    assert status_of(carrier) == CertificationStatus.PENDING


@pytest.mark.parametrize("who", ["other_admin", "driver"])
def test_deregister_by_others_is_refused(carrier: Organisation, admin: User, platform_admin: User, other_admin, who: str) -> None:
    services.certification_approve(actor=Actor.of(platform_admin), certification=apply(admin, carrier))
    user = other_admin if who == "other_admin" else member(Role.DRIVER, carrier)
    refused("permission_denied", services.carrier_deregister, actor=Actor.of(user), carrier=carrier, status=403)
    assert status_of(carrier) == CertificationStatus.CERTIFIED
    assert carrier_may_swap(carrier=carrier) is True


# --- Invitations ------------------------------------------------------------------------
def test_invite_by_phone_before_certification(carrier: Organisation, admin: User) -> None:
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone="+86 139 1234 5678")
    assert (invitation.phone, invitation.status, invitation.invited_by) == ("13912345678", InvitationStatus.PENDING, admin)
    assert status_of(carrier) == CertificationStatus.NOT_APPLIED


def test_inviting_twice_answers_the_same_pending_invitation(carrier: Organisation, admin: User) -> None:
    first = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone="13912345678")
    second = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone="139-1234-5678")
    assert first.pk == second.pk
    assert DriverInvitation.objects.count() == 1


def test_invite_refuses_a_bad_phone(carrier: Organisation, admin: User) -> None:
    refused("phone_invalid", services.driver_invite, actor=Actor.of(admin), carrier=carrier, phone="0311-1234567", status=400)
    assert DriverInvitation.objects.count() == 0


def test_invite_refuses_someone_already_driving_for_the_carrier(carrier: Organisation, admin: User) -> None:
    driver = member(Role.DRIVER, carrier)
    refused("already_member", services.driver_invite, actor=Actor.of(admin), carrier=carrier, phone=driver.phone, status=409)
    assert DriverInvitation.objects.count() == 0


@pytest.mark.parametrize("who", ["other_admin", "driver", "platform_admin"])
def test_only_the_carriers_admin_invites(carrier: Organisation, other_admin: User, platform_admin: User, who: str) -> None:
    user = {"other_admin": other_admin, "driver": member(Role.DRIVER, carrier), "platform_admin": platform_admin}[who]
    refused("permission_denied", services.driver_invite, actor=Actor.of(user), carrier=carrier, phone="13912345678", status=403)
    assert DriverInvitation.objects.count() == 0


def test_accept_makes_the_invitee_a_driver(carrier: Organisation, admin: User) -> None:
    invitee = UserFactory(phone="13912345678")
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone)
    membership = services.invitation_accept(user=invitee, invitation=invitation)
    assert (membership.user, membership.organisation, membership.role) == (invitee, carrier, Role.DRIVER)
    assert (membership.limit_per_swap_fen, membership.limit_per_day_fen) == (None, None)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.responded_at is not None


def test_accept_by_someone_else_is_refused(carrier: Organisation, admin: User) -> None:
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone="13912345678")
    refused("permission_denied", services.invitation_accept, user=UserFactory(), invitation=invitation, status=403)
    refused("permission_denied", services.invitation_accept, user=admin, invitation=invitation, status=403)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert not Membership.objects.filter(organisation=carrier, role=Role.DRIVER).exists()


def test_accept_twice_is_refused(carrier: Organisation, admin: User) -> None:
    invitee = UserFactory(phone="13912345678")
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone)
    services.invitation_accept(user=invitee, invitation=invitation)
    refused("invitation_not_pending", services.invitation_accept, user=invitee, invitation=invitation, status=409)
    assert Membership.objects.filter(organisation=carrier, role=Role.DRIVER).count() == 1


def test_decline_leaves_no_membership(carrier: Organisation, admin: User) -> None:
    invitee = UserFactory(phone="13912345678")
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone)
    declined = services.invitation_decline(user=invitee, invitation=invitation)
    assert declined.status == InvitationStatus.DECLINED
    assert not Membership.objects.filter(user=invitee).exists()
    refused("invitation_not_pending", services.invitation_accept, user=invitee, invitation=invitation)
    assert not Membership.objects.filter(user=invitee).exists()
    # Declined is answered: the carrier may invite the number again.
    assert services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone).pk != invitation.pk


def test_revoked_invitation_cannot_be_accepted(carrier: Organisation, admin: User) -> None:
    invitee = UserFactory(phone="13912345678")
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone)
    assert services.invitation_revoke(actor=Actor.of(admin), invitation=invitation).status == InvitationStatus.REVOKED
    refused("invitation_not_pending", services.invitation_accept, user=invitee, invitation=invitation, status=409)
    assert not Membership.objects.filter(user=invitee).exists()


def test_revoke_by_another_carrier_is_refused(carrier: Organisation, admin: User, other_admin: User) -> None:
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone="13912345678")
    refused("permission_denied", services.invitation_revoke, actor=Actor.of(other_admin), invitation=invitation, status=403)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


# --- Drivers: removal and limits --------------------------------------------------------
def test_driver_remove_deletes_the_membership_and_this_carriers_assignments_only(carrier: Organisation, admin: User) -> None:
    driver = member(Role.DRIVER, carrier)
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    Membership.objects.create(user=driver, organisation=other_carrier, role=Role.DRIVER)
    ours, theirs = new_vehicle(carrier=carrier), new_vehicle(carrier=other_carrier)
    VehicleAssignment.objects.create(vehicle=ours, driver=driver)
    VehicleAssignment.objects.create(vehicle=theirs, driver=driver)

    services.driver_remove(actor=Actor.of(admin), carrier=carrier, driver=driver)

    assert not Membership.objects.filter(user=driver, organisation=carrier).exists()
    assert Membership.objects.filter(user=driver, organisation=other_carrier, role=Role.DRIVER).exists()
    assert list(VehicleAssignment.objects.filter(driver=driver).values_list("vehicle_id", flat=True)) == [theirs.pk]
    assert AuditEvent.objects.get(action="carrier.driver_remove").detail == {"driver_id": driver.pk, "unassigned": [ours.plate]}


def test_driver_remove_of_someone_not_driving_for_the_carrier_is_refused(carrier: Organisation, admin: User) -> None:
    outsider = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    refused("not_a_driver_of_carrier", services.driver_remove, actor=Actor.of(admin), carrier=carrier, driver=outsider)
    refused("not_a_driver_of_carrier", services.driver_remove, actor=Actor.of(admin), carrier=carrier, driver=admin)
    assert Membership.objects.filter(user=outsider).count() == 1
    assert Membership.objects.filter(user=admin, role=Role.CARRIER_ADMIN).exists()


def test_driver_remove_by_another_carrier_is_refused(carrier: Organisation, other_admin: User) -> None:
    driver = member(Role.DRIVER, carrier)
    refused("permission_denied", services.driver_remove, actor=Actor.of(other_admin), carrier=carrier, driver=driver, status=403)
    assert Membership.objects.filter(user=driver, organisation=carrier).exists()


def test_limits_are_set_and_cleared(carrier: Organisation, admin: User) -> None:
    driver = member(Role.DRIVER, carrier)
    membership = services.driver_limits_set(
        actor=Actor.of(admin), carrier=carrier, driver=driver, per_swap_fen=80_000, per_day_fen=0
    )
    assert (membership.limit_per_swap_fen, membership.limit_per_day_fen) == (80_000, 0)
    services.driver_limits_set(actor=Actor.of(admin), carrier=carrier, driver=driver, per_swap_fen=None, per_day_fen=None)
    membership.refresh_from_db()
    assert (membership.limit_per_swap_fen, membership.limit_per_day_fen) == (None, None)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "100", 2**63])
def test_limits_must_be_whole_fen_zero_or_more(carrier: Organisation, admin: User, bad) -> None:
    driver = member(Role.DRIVER, carrier)
    services.driver_limits_set(actor=Actor.of(admin), carrier=carrier, driver=driver, per_swap_fen=500, per_day_fen=5000)
    for per_swap, per_day in ((bad, 5000), (500, bad)):
        refused(
            "limit_invalid",
            services.driver_limits_set,
            actor=Actor.of(admin),
            carrier=carrier,
            driver=driver,
            per_swap_fen=per_swap,
            per_day_fen=per_day,
            status=400,
        )
    membership = Membership.objects.get(user=driver, organisation=carrier)
    assert (membership.limit_per_swap_fen, membership.limit_per_day_fen) == (500, 5000)


def test_limits_for_someone_not_driving_for_the_carrier_are_refused(carrier: Organisation, admin: User) -> None:
    outsider = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    refused(
        "not_a_driver_of_carrier",
        services.driver_limits_set,
        actor=Actor.of(admin),
        carrier=carrier,
        driver=outsider,
        per_swap_fen=1,
        per_day_fen=1,
    )
    assert Membership.objects.get(user=outsider).limit_per_swap_fen is None


def test_limits_by_another_carrier_are_refused(carrier: Organisation, other_admin: User) -> None:
    driver = member(Role.DRIVER, carrier)
    refused(
        "permission_denied",
        services.driver_limits_set,
        actor=Actor.of(other_admin),
        carrier=carrier,
        driver=driver,
        per_swap_fen=1,
        per_day_fen=1,
        status=403,
    )
    assert Membership.objects.get(user=driver).limit_per_swap_fen is None


# --- Vehicles ---------------------------------------------------------------------------
def add(admin: User, carrier: Organisation, **overrides: str) -> Vehicle:
    PackStandardFactory()  # HT-282-LFP, the heavy-truck standard
    values = {"plate": PLATE, "vin": VIN, "pack_standard_code": "HT-282-LFP", "model_name": "XCMG E700", **overrides}
    return services.vehicle_add(actor=Actor.of(admin), carrier=carrier, **values)


def test_vehicle_add_normalises_plate_and_vin_before_certification(carrier: Organisation, admin: User) -> None:
    vehicle = add(admin, carrier, plate=" 冀ａ-12345d ", vin=VIN.lower(), pack_standard_code="ht-282-lfp")
    assert (vehicle.plate, vehicle.plate_kind, vehicle.vin, vehicle.carrier) == (PLATE, "new_energy_large", VIN, carrier)
    assert vehicle.pack_standard.code == "HT-282-LFP"
    assert status_of(carrier) == CertificationStatus.NOT_APPLIED


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"plate": "ABC123"}, "plate_invalid"),
        ({"vin": "LZZ5BLSJ0P000001"}, "vin_invalid"),
        ({"vin": VIN[:8] + ("0" if VIN[8] != "0" else "1") + VIN[9:]}, "vin_check_digit"),
        ({"pack_standard_code": "NO-SUCH"}, "pack_standard_unknown"),
    ],
)
def test_vehicle_add_refuses_bad_details(carrier: Organisation, admin: User, overrides: dict[str, str], code: str) -> None:
    PackStandardFactory()
    refused(code, add, admin, carrier, status=400, **overrides)
    assert Vehicle.objects.count() == 0


def test_vehicle_add_refuses_a_plate_or_vin_registered_anywhere(carrier: Organisation, admin: User) -> None:
    elsewhere = new_vehicle(plate=PLATE, vin=vin_for(9_000_002))
    refused("plate_in_use", add, admin, carrier, status=409)
    refused("vin_in_use", add, admin, carrier, plate="冀A54321D", vin=elsewhere.vin, status=409)
    assert list(Vehicle.objects.all()) == [elsewhere]


@pytest.mark.parametrize("who", ["other_admin", "driver", "platform_admin"])
def test_only_the_carriers_admin_adds_vehicles(carrier: Organisation, other_admin: User, platform_admin: User, who: str) -> None:
    user = {"other_admin": other_admin, "driver": member(Role.DRIVER, carrier), "platform_admin": platform_admin}[who]
    refused("permission_denied", add, user, carrier, status=403)
    assert Vehicle.objects.count() == 0


def test_vehicle_remove_deletes_it_with_its_assignments(carrier: Organisation, admin: User) -> None:
    vehicle = add(admin, carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=member(Role.DRIVER, carrier))
    services.vehicle_remove(actor=Actor.of(admin), vehicle=vehicle)
    assert Vehicle.objects.count() == 0
    assert VehicleAssignment.objects.count() == 0
    event = AuditEvent.objects.get(action="carrier.vehicle_remove")
    assert event.detail == {"plate": PLATE, "vin": VIN, "carrier_id": carrier.pk}


def test_vehicle_remove_refuses_while_it_carries_a_network_battery(carrier: Organisation, admin: User) -> None:
    vehicle = add(admin, carrier)
    battery = BatteryFactory(
        location=BatteryLocation.VEHICLE, station=None, station_slot=None, vehicle=vehicle, vehicle_position=1
    )
    refused("vehicle_has_battery", services.vehicle_remove, actor=Actor.of(admin), vehicle=vehicle, status=409)
    battery.refresh_from_db()
    assert battery.vehicle == vehicle
    assert Vehicle.objects.filter(pk=vehicle.pk).exists()


def test_vehicle_remove_by_its_driver_is_refused(carrier: Organisation, admin: User) -> None:
    vehicle = add(admin, carrier)
    driver = member(Role.DRIVER, carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
    refused("permission_denied", services.vehicle_remove, actor=Actor.of(driver), vehicle=vehicle, status=403)
    assert Vehicle.objects.filter(pk=vehicle.pk).exists()


# --- Assignments ------------------------------------------------------------------------
@pytest.fixture
def truck(carrier: Organisation) -> Vehicle:
    return new_vehicle(carrier=carrier)


def test_assign_a_verified_a2_driver_to_a_heavy_truck(carrier: Organisation, admin: User, truck: Vehicle) -> None:
    driver = member(Role.DRIVER, carrier)
    verify(driver, LicenceClass.A2)
    assignment = services.vehicle_assign(actor=Actor.of(admin), vehicle=truck, driver=driver)
    assert (assignment.vehicle, assignment.driver) == (truck, driver)
    again = services.vehicle_assign(actor=Actor.of(admin), vehicle=truck, driver=driver)
    assert again.pk == assignment.pk
    assert VehicleAssignment.objects.count() == 1


def test_assign_refuses_an_unverified_driver(carrier: Organisation, admin: User, truck: Vehicle) -> None:
    driver = member(Role.DRIVER, carrier)
    refused("driver_not_verified", services.vehicle_assign, actor=Actor.of(admin), vehicle=truck, driver=driver, status=400)
    pending = verify(driver)
    RealNameVerification.objects.filter(pk=pending.pk).update(status=VerificationStatus.PENDING)
    refused("driver_not_verified", services.vehicle_assign, actor=Actor.of(admin), vehicle=truck, driver=driver)
    assert VehicleAssignment.objects.count() == 0


@pytest.mark.parametrize("licence", [LicenceClass.C1, LicenceClass.B2])
def test_assign_refuses_a_licence_below_a2_for_a_heavy_truck(
    carrier: Organisation, admin: User, truck: Vehicle, licence: str
) -> None:
    driver = member(Role.DRIVER, carrier)
    verify(driver, licence)
    refused(
        "licence_class_insufficient", services.vehicle_assign, actor=Actor.of(admin), vehicle=truck, driver=driver, status=400
    )
    assert VehicleAssignment.objects.count() == 0


def test_a_c1_licence_may_drive_a_car(carrier: Organisation, admin: User) -> None:
    car = new_vehicle(carrier=carrier, pack_standard=car_standard())
    driver = member(Role.DRIVER, carrier)
    verify(driver, LicenceClass.C1)
    assert services.vehicle_assign(actor=Actor.of(admin), vehicle=car, driver=driver).driver == driver


def test_assign_refuses_an_expired_licence(carrier: Organisation, admin: User, truck: Vehicle) -> None:
    driver = member(Role.DRIVER, carrier)
    verify(driver, LicenceClass.A2, expires_on=timezone.localdate() - timedelta(days=1))
    refused("licence_expired", services.vehicle_assign, actor=Actor.of(admin), vehicle=truck, driver=driver)
    assert VehicleAssignment.objects.count() == 0


def test_assign_refuses_a_driver_of_another_carrier(carrier: Organisation, admin: User, truck: Vehicle) -> None:
    outsider = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    verify(outsider)
    refused("not_a_driver_of_carrier", services.vehicle_assign, actor=Actor.of(admin), vehicle=truck, driver=outsider)
    assert VehicleAssignment.objects.count() == 0


def test_assign_by_a_driver_is_refused(carrier: Organisation, truck: Vehicle) -> None:
    driver = member(Role.DRIVER, carrier)
    verify(driver)
    refused("permission_denied", services.vehicle_assign, actor=Actor.of(driver), vehicle=truck, driver=driver, status=403)
    assert VehicleAssignment.objects.count() == 0


def test_unassign(carrier: Organisation, admin: User, truck: Vehicle) -> None:
    driver = member(Role.DRIVER, carrier)
    VehicleAssignment.objects.create(vehicle=truck, driver=driver)
    services.vehicle_unassign(actor=Actor.of(admin), vehicle=truck, driver=driver)
    assert VehicleAssignment.objects.count() == 0
    refused("not_found", services.vehicle_unassign, actor=Actor.of(admin), vehicle=truck, driver=driver, status=404)


# --- Private car owners -----------------------------------------------------------------
def add_own_car(user: User, **overrides: str) -> Vehicle:
    values = {"plate": "冀AD12345", "vin": VIN, "pack_standard_code": CAR_STANDARD, **overrides}
    return services.individual_vehicle_add(user=user, **values)


def test_unverified_owner_becomes_an_uncertified_carrier_of_one() -> None:
    car_standard()
    owner = UserFactory(display_name="李四")
    vehicle = add_own_car(owner)
    individual = vehicle.carrier
    assert (individual.kind, individual.code, individual.name) == (OrganisationKind.INDIVIDUAL, f"individual-{owner.pk}", "李四")
    assert individual.certification_status == CertificationStatus.NOT_APPLIED
    assert set(Membership.objects.filter(user=owner).values_list("organisation_id", "role")) == {
        (individual.pk, Role.CARRIER_ADMIN),
        (individual.pk, Role.DRIVER),
    }
    assert (vehicle.plate, vehicle.plate_kind) == ("冀AD12345", "new_energy_small")
    assert list(vehicle.drivers.all()) == [owner]
    assert carrier_may_swap(carrier=individual) is False


def test_verified_owner_is_certified_at_once_and_reuses_the_organisation() -> None:
    car_standard()
    owner = UserFactory()
    verify(owner, LicenceClass.C1)
    first = add_own_car(owner)
    second = add_own_car(owner, plate="冀AD54321", vin=vin_for(9_000_003))
    assert first.carrier_id == second.carrier_id
    assert Organisation.objects.filter(kind=OrganisationKind.INDIVIDUAL).count() == 1
    assert Membership.objects.filter(user=owner).count() == 2
    assert carrier_may_swap(carrier=first.carrier) is True
    assert set(Vehicle.objects.filter(drivers=owner).values_list("plate", flat=True)) == {"冀AD12345", "冀AD54321"}


def test_owner_is_certified_once_verified() -> None:
    car_standard()
    owner = UserFactory()
    individual = add_own_car(owner).carrier
    verify(owner, LicenceClass.C1)
    assert services.individual_certification_refresh(user=owner) == individual
    assert status_of(individual) == CertificationStatus.CERTIFIED
    assert services.individual_certification_refresh(user=UserFactory()) is None


def test_deregistered_owner_is_not_recertified_by_verification() -> None:
    car_standard()
    owner = UserFactory()
    individual = add_own_car(owner).carrier
    services.carrier_deregister(actor=Actor.of(owner), carrier=individual)
    verify(owner, LicenceClass.C1)
    services.individual_certification_refresh(user=owner)
    add_own_car(owner, plate="冀AD54321", vin=vin_for(9_000_003))
    assert status_of(individual) == CertificationStatus.DEREGISTERED


def test_own_car_with_a_bad_plate_creates_nothing() -> None:
    car_standard()
    owner = UserFactory()
    refused("plate_invalid", add_own_car, owner, plate="沪")
    assert not Organisation.objects.filter(kind=OrganisationKind.INDIVIDUAL).exists()
    assert not Membership.objects.filter(user=owner).exists()


def test_verified_c1_owner_cannot_add_a_heavy_truck() -> None:
    PackStandardFactory()
    owner = UserFactory()
    verify(owner, LicenceClass.C1)
    refused("licence_class_insufficient", add_own_car, owner, plate=PLATE, pack_standard_code="HT-282-LFP")
    assert Vehicle.objects.count() == 0
    assert not Organisation.objects.filter(kind=OrganisationKind.INDIVIDUAL).exists()


# --- Station staff ----------------------------------------------------------------------
@pytest.fixture
def operator() -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)


@pytest.fixture
def operator_admin(operator: Organisation) -> User:
    return member(Role.OPERATOR_ADMIN, operator)


def test_staff_bound_to_two_of_the_operators_stations(operator: Organisation, operator_admin: User) -> None:
    north, south = new_station(operator=operator), new_station(operator=operator)
    staff = UserFactory(phone="13700000001")
    memberships = services.staff_add(
        actor=Actor.of(operator_admin), operator=operator, phone="137 0000 0001", station_codes=[south.code.lower(), north.code]
    )
    assert [(m.station, m.role, m.organisation) for m in memberships] == [
        (north, Role.STATION_STAFF, operator),
        (south, Role.STATION_STAFF, operator),
    ]
    assert Actor.of(staff).staff_of_stations == {north.pk, south.pk}
    # Again: nothing new.
    services.staff_add(actor=Actor.of(operator_admin), operator=operator, phone=staff.phone, station_codes=[north.code])
    assert Membership.objects.filter(user=staff).count() == 2


def test_staff_refused_for_another_operators_station(operator: Organisation, operator_admin: User) -> None:
    own = new_station(operator=operator)
    foreign = new_station()
    staff = UserFactory()
    error = refused(
        "station_not_yours",
        services.staff_add,
        actor=Actor.of(operator_admin),
        operator=operator,
        phone=staff.phone,
        station_codes=[own.code, foreign.code],
        status=400,
    )
    assert error.fields == {"station_codes": [foreign.code]}
    refused(
        "station_not_yours",
        services.staff_add,
        actor=Actor.of(operator_admin),
        operator=operator,
        phone=staff.phone,
        station_codes=["SWN-NOPE"],
    )
    assert not Membership.objects.filter(user=staff).exists()


@pytest.mark.parametrize(
    ("phone", "stations", "code", "status"),
    [
        ("13700000009", None, "user_not_found", 404),
        ("not a phone", None, "phone_invalid", 400),
        ("13700000001", [], "invalid", 400),
    ],
)
def test_staff_add_refusals(
    operator: Organisation, operator_admin: User, phone: str, stations: list[str] | None, code: str, status: int
) -> None:
    station = new_station(operator=operator)
    UserFactory(phone="13700000001")
    before = Membership.objects.count()
    refused(
        code,
        services.staff_add,
        actor=Actor.of(operator_admin),
        operator=operator,
        phone=phone,
        station_codes=[station.code] if stations is None else stations,
        status=status,
    )
    assert Membership.objects.count() == before


@pytest.mark.parametrize("who", ["other_operator_admin", "station_staff", "platform_admin"])
def test_only_the_operators_admin_adds_staff(operator: Organisation, platform_admin: User, who: str) -> None:
    station = new_station(operator=operator)
    user = {
        "other_operator_admin": member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)),
        "station_staff": member(Role.STATION_STAFF, operator, station=station),
        "platform_admin": platform_admin,
    }[who]
    staff = UserFactory()
    refused(
        "permission_denied",
        services.staff_add,
        actor=Actor.of(user),
        operator=operator,
        phone=staff.phone,
        station_codes=[station.code],
        status=403,
    )
    assert not Membership.objects.filter(user=staff).exists()


def test_staff_remove_unbinds_one_station(operator: Organisation, operator_admin: User) -> None:
    north, south = new_station(operator=operator), new_station(operator=operator)
    staff = UserFactory()
    first, second = services.staff_add(
        actor=Actor.of(operator_admin), operator=operator, phone=staff.phone, station_codes=[north.code, south.code]
    )
    services.staff_remove(actor=Actor.of(operator_admin), membership=first)
    assert list(Membership.objects.filter(user=staff)) == [second]


def test_staff_remove_by_another_operator_is_refused(operator: Organisation) -> None:
    station = new_station(operator=operator)
    staff = member(Role.STATION_STAFF, operator, station=station)
    membership = Membership.objects.get(user=staff)
    other = member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR))
    refused("permission_denied", services.staff_remove, actor=Actor.of(other), membership=membership, status=403)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_staff_remove_is_only_for_staff(operator: Organisation, operator_admin: User) -> None:
    admin_membership = Membership.objects.get(user=operator_admin)
    refused("not_found", services.staff_remove, actor=Actor.of(operator_admin), membership=admin_membership)
    assert Membership.objects.filter(pk=admin_membership.pk).exists()


# --- Races (PostgreSQL: SQLite has no row locks and serialises writers anyway) ----------
def _race(calls) -> list[object]:
    """Run the calls at once, each in its own thread and connection; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as error:  # the race's loser is the point
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


postgres_only = pytest.mark.postgresql  # row locks are proven on PostgreSQL


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_applications_leave_one_pending() -> None:
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    admin = member(Role.CARRIER_ADMIN, carrier)
    results = _race([lambda: apply(admin, carrier) for _ in range(4)])
    codes = sorted(result.code for result in results if isinstance(result, ApplicationError))
    assert codes == ["certification_pending"] * 3
    assert CarrierCertification.objects.filter(organisation=carrier, status=CertificationStatus.PENDING).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_plate_register_one_vehicle() -> None:
    PackStandardFactory()
    carriers = [OrganisationFactory(kind=OrganisationKind.CARRIER) for _ in range(3)]
    admins = [member(Role.CARRIER_ADMIN, carrier) for carrier in carriers]
    results = _race(
        [
            lambda admin=admin, carrier=carrier, n=n: add(admin, carrier, vin=vin_for(9_100_000 + n))
            for n, (admin, carrier) in enumerate(zip(admins, carriers, strict=True))
        ]
    )
    codes = sorted(result.code for result in results if isinstance(result, ApplicationError))
    assert codes == ["plate_in_use", "plate_in_use"]
    assert Vehicle.objects.filter(plate=PLATE).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_make_one_membership() -> None:
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    admin = member(Role.CARRIER_ADMIN, carrier)
    invitee = UserFactory(phone="13912345678")
    invitation = services.driver_invite(actor=Actor.of(admin), carrier=carrier, phone=invitee.phone)
    results = _race([lambda: services.invitation_accept(user=invitee, invitation=invitation) for _ in range(3)])
    codes = sorted(result.code for result in results if isinstance(result, ApplicationError))
    assert codes == ["invitation_not_pending", "invitation_not_pending"]
    assert Membership.objects.filter(user=invitee, organisation=carrier, role=Role.DRIVER).count() == 1
