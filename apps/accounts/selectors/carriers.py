"""Reads of fleets, certifications, driver invitations and station staff, through the access
module: what the actor may not see answers 404 exactly like what does not exist."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from apps import access
from apps.access import Actor
from apps.access import carriers as carrier_access
from apps.accounts.models import (
    CarrierCertification,
    CertificationStatus,
    DriverInvitation,
    Membership,
    Organisation,
    RealNameVerification,
    User,
)
from apps.assets.models import Vehicle, VehicleAssignment
from apps.common.errors import ApplicationError, NotFound
from apps.common.identifiers import InvalidIdentifier, normalize_plate


def carrier_may_swap(*, carrier: Organisation) -> bool:
    """Only a certified carrier's drivers may swap. Read from the database, not from the object
    passed in, so a deregistration committed a moment ago stops the next scan."""
    return Organisation.objects.filter(
        pk=carrier.pk, kind__in=carrier_access.CARRIER_KINDS, certification_status=CertificationStatus.CERTIFIED
    ).exists()


# --- Carriers and their vehicles --------------------------------------------------------
def carrier_get(*, actor: Actor, carrier_id: int) -> Organisation:
    carrier = carrier_access.visible_fleets(actor).filter(pk=carrier_id).first()
    if carrier is None:
        raise NotFound("carrier")
    return carrier


def carrier_vehicle_list(*, actor: Actor, carrier: Organisation) -> QuerySet[Vehicle]:
    assignments = VehicleAssignment.objects.select_related("driver").order_by("driver__display_name", "driver_id")
    return (
        access.visible_vehicles(actor)
        .filter(carrier=carrier)
        .select_related("carrier", "pack_standard")
        .prefetch_related("batteries", Prefetch("assignments", queryset=assignments))
        .order_by("plate")
    )


def _canonical_plate(plate: str) -> str | None:
    try:
        return normalize_plate(plate, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS).number
    except InvalidIdentifier:
        return None


def carrier_vehicle_get(*, actor: Actor, carrier: Organisation, plate: str) -> Vehicle:
    canonical = _canonical_plate(plate)
    vehicle = None if canonical is None else carrier_vehicle_list(actor=actor, carrier=carrier).filter(plate=canonical).first()
    if vehicle is None:
        raise NotFound("vehicle")
    return vehicle


# --- Drivers ----------------------------------------------------------------------------
def carrier_driver_list(*, actor: Actor, carrier: Organisation) -> QuerySet[Membership]:
    """The carrier's driver memberships with their limits, verification and vehicles here."""
    fleet_assignments = (
        VehicleAssignment.objects.filter(vehicle__carrier=carrier).select_related("vehicle").order_by("vehicle__plate")
    )
    return (
        carrier_access.visible_carrier_drivers(actor)
        .filter(organisation=carrier)
        .select_related("user")
        .prefetch_related(
            Prefetch("user__verifications", queryset=RealNameVerification.objects.order_by("-created_at")),
            Prefetch("user__vehicle_assignments", queryset=fleet_assignments, to_attr="fleet_assignments"),
        )
        .order_by("user__display_name", "user_id")
    )


def carrier_driver_get(*, actor: Actor, carrier: Organisation, user_id: int) -> Membership:
    membership = carrier_driver_list(actor=actor, carrier=carrier).filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("driver")
    return membership


def assignment_driver_get(*, actor: Actor, vehicle: Vehicle, user_id: int) -> User:
    """The driver named in an assignment request, among the drivers of the vehicle's carrier.

    Whoever sees the vehicle but not its fleet (its assigned driver) may not assign anyone;
    the fleet's admins and the platform learn whether the person drives for the carrier."""
    if not carrier_access.sees_carrier_drivers(actor, vehicle.carrier):
        raise ApplicationError("permission_denied", _("You may not change this vehicle."), status_code=403)
    membership = (
        carrier_access.visible_carrier_drivers(actor)
        .filter(organisation_id=vehicle.carrier_id, user_id=user_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise ApplicationError("not_a_driver_of_carrier", _("This person is not a driver of the vehicle's carrier."))
    return membership.user


def assignment_get(*, actor: Actor, vehicle: Vehicle, user_id: int) -> VehicleAssignment:
    assignment = (
        access.visible_vehicle_assignments(actor).filter(vehicle=vehicle, driver_id=user_id).select_related("driver").first()
    )
    if assignment is None:
        raise NotFound("assignment")
    return assignment


# --- Invitations ------------------------------------------------------------------------
def carrier_invitation_list(*, actor: Actor, carrier: Organisation) -> QuerySet[DriverInvitation]:
    return (
        carrier_access.visible_invitations(actor).filter(carrier=carrier).select_related("carrier").order_by("-created_at", "-pk")
    )


def carrier_invitation_get(*, actor: Actor, carrier: Organisation, invitation_id: int) -> DriverInvitation:
    invitation = carrier_invitation_list(actor=actor, carrier=carrier).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("invitation")
    return invitation


def my_invitation_list(*, actor: Actor) -> QuerySet[DriverInvitation]:
    """Invitations to the actor's own phone number (a platform admin too sees only their own)."""
    if actor.user_id is None:
        return DriverInvitation.objects.none()
    my_phone = User.objects.filter(pk=actor.user_id).values("phone")
    return (
        carrier_access.visible_invitations(actor)
        .filter(phone__in=my_phone)
        .select_related("carrier")
        .order_by("-created_at", "-pk")
    )


def invitation_get(*, actor: Actor, invitation_id: int) -> DriverInvitation:
    invitation = carrier_access.visible_invitations(actor).select_related("carrier").filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("invitation")
    return invitation


# --- Certification ----------------------------------------------------------------------
def certification_latest(*, actor: Actor, carrier: Organisation) -> CarrierCertification | None:
    return carrier_access.visible_certifications(actor).filter(organisation=carrier).order_by("-created_at", "-pk").first()


def certification_list(*, actor: Actor, status: str | None = None) -> QuerySet[CarrierCertification]:
    """Applications the actor sees, oldest first (the platform's review queue is first come,
    first served)."""
    certifications = carrier_access.visible_certifications(actor).select_related("organisation")
    if status is not None:
        if status not in CertificationStatus.values:
            raise ApplicationError(
                "invalid_filter", _("status must be one of %(values)s.") % {"values": ", ".join(CertificationStatus.values)}
            )
        certifications = certifications.filter(status=status)
    return certifications.order_by("created_at", "pk")


def certification_get(*, actor: Actor, certification_id: int) -> CarrierCertification:
    certification = (
        carrier_access.visible_certifications(actor).select_related("organisation").filter(pk=certification_id).first()
    )
    if certification is None:
        raise NotFound("certification")
    return certification


# --- Station staff ----------------------------------------------------------------------
def staff_operator_get(*, actor: Actor, organisation_id: int) -> Organisation:
    operator = carrier_access.visible_staff_operators(actor).filter(pk=organisation_id).first()
    if operator is None:
        raise NotFound("organisation")
    return operator


def staff_list(*, actor: Actor, operator: Organisation) -> QuerySet[Membership]:
    return (
        carrier_access.visible_staff_memberships(actor)
        .filter(organisation=operator)
        .select_related("user", "station")
        .order_by("station__code", "user__display_name", "pk")
    )


def staff_membership_get(*, actor: Actor, operator: Organisation, membership_id: int) -> Membership:
    membership = staff_list(actor=actor, operator=operator).filter(pk=membership_id).first()
    if membership is None:
        raise NotFound("staff membership")
    return membership
