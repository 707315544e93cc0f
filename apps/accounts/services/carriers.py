"""Carriers joining and leaving the network, their fleets, private car owners, and station staff.

Every service is atomic and asks ``apps.access.carriers`` whether its actor may act. Rows are
locked in one order: organisation, then certification / invitation / membership, then vehicle.
A duplicate that races past a check is stopped by a unique constraint, and its IntegrityError
becomes the same answer as the check.

Preparation does not wait for certification: a carrier adds vehicles, invites and assigns
drivers and sets limits before it is certified; only ``carrier_may_swap`` (the scan's question)
requires the certification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import access
from apps.access import Actor
from apps.access import carriers as carrier_access
from apps.accounts.licences import licence_allows
from apps.accounts.models import (
    CarrierCertification,
    CertificationStatus,
    DriverInvitation,
    InvitationStatus,
    Membership,
    Organisation,
    OrganisationKind,
    RealNameVerification,
    Role,
    User,
    VerificationStatus,
)
from apps.accounts.selectors.verification import is_verified, verification_current
from apps.assets.models import Battery, PackStandard, Station, Vehicle, VehicleAssignment
from apps.common.errors import ApplicationError, Conflict, NotFound
from apps.common.identifiers import (
    InvalidIdentifier,
    normalize_credit_code,
    normalize_phone,
    normalize_plate,
    normalize_vin,
)
from apps.common.models import AuditEvent

T = TypeVar("T")

# Membership.limit_*_fen are PositiveBigIntegerField: a signed 64-bit column.
MAX_LIMIT_FEN = 2**63 - 1


def _forbidden() -> ApplicationError:
    return ApplicationError("permission_denied", _("You may not do this."), status_code=403)


def _user_id(actor: Actor) -> int:
    """Who acts, for the rows that record it (a service's permission check has let them in)."""
    if actor.user_id is None:
        raise _forbidden()
    return actor.user_id


def _identifier(normalize: Callable[[str], T], raw: str) -> T:
    """An identifier in its canonical form, or the identifier's own refusal code."""
    try:
        return normalize(raw)
    except InvalidIdentifier as error:
        raise ApplicationError(error.code, error.message) from None


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise ApplicationError("invalid", _("The request is not valid."), fields={field: [_("This field is required.")]})
    if len(text) > max_length:
        message = _("At most %(count)d characters.") % {"count": max_length}
        raise ApplicationError("invalid", _("The request is not valid."), fields={field: [message]})
    return text


def _lock_organisation(organisation: Organisation) -> Organisation:
    return Organisation.objects.select_for_update().get(pk=organisation.pk)


def _audit(*, actor: Actor, action: str, subject_type: str, subject_id: int, **detail: object) -> None:
    """Removals leave no row behind; this says who removed what."""
    AuditEvent.objects.create(
        actor_id=actor.user_id, action=action, subject_type=subject_type, subject_id=str(subject_id), detail=detail
    )


# --- Certification: joining and leaving the network ------------------------------------
@transaction.atomic
def certification_apply(
    *, actor: Actor, carrier: Organisation, company_name: str, credit_code: str, contact_name: str, contact_phone: str
) -> CarrierCertification:
    """A carrier's admin applies to join the network; the carrier is pending until decided.

    A rejected or deregistered carrier may apply again; a pending or certified one may not."""
    if not carrier_access.may_apply_for_certification(actor, carrier):
        raise _forbidden()
    company = _text(company_name, field="company_name", max_length=200)
    contact = _text(contact_name, field="contact_name", max_length=60)
    code = _identifier(normalize_credit_code, credit_code)
    phone = _identifier(normalize_phone, contact_phone)

    organisation = _lock_organisation(carrier)
    if organisation.certification_status == CertificationStatus.PENDING:
        raise Conflict("certification_pending", _("An application is already waiting for review."))
    if organisation.certification_status == CertificationStatus.CERTIFIED:
        raise Conflict("already_certified", _("This carrier is already certified."))
    try:
        with transaction.atomic():
            certification = CarrierCertification.objects.create(
                organisation=organisation,
                company_name=company,
                credit_code=code,
                contact_name=contact,
                contact_phone=phone,
                applied_by_id=_user_id(actor),
            )
    except IntegrityError:
        # certification_one_pending: a concurrent application got in first.
        raise Conflict("certification_pending", _("An application is already waiting for review.")) from None
    organisation.certification_status = CertificationStatus.PENDING
    organisation.save(update_fields=["certification_status", "updated_at"])
    return certification


def _lock_pending_certification(certification: CarrierCertification) -> tuple[Organisation, CarrierCertification]:
    organisation = _lock_organisation(certification.organisation)
    locked = CarrierCertification.objects.select_for_update().get(pk=certification.pk)
    if locked.status != CertificationStatus.PENDING:
        raise Conflict("certification_not_pending", _("This application has already been decided or withdrawn."))
    locked.organisation = organisation
    return organisation, locked


def _decide(
    *, actor: Actor, certification: CarrierCertification, status: CertificationStatus, reason: str = ""
) -> CarrierCertification:
    organisation, locked = _lock_pending_certification(certification)
    locked.status = status
    locked.reason = reason
    locked.reviewed_by_id = actor.user_id
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at", "updated_at"])
    organisation.certification_status = status
    organisation.save(update_fields=["certification_status", "updated_at"])
    return locked


@transaction.atomic
def certification_approve(*, actor: Actor, certification: CarrierCertification) -> CarrierCertification:
    """The platform certifies the carrier: from now on its drivers may swap."""
    if not carrier_access.may_decide_certification(actor):
        raise _forbidden()
    return _decide(actor=actor, certification=certification, status=CertificationStatus.CERTIFIED)


@transaction.atomic
def certification_reject(*, actor: Actor, certification: CarrierCertification, reason: str) -> CarrierCertification:
    """The platform rejects an application; the reason is shown to the carrier, who may apply again."""
    if not carrier_access.may_decide_certification(actor):
        raise _forbidden()
    if not reason.strip():
        raise ApplicationError("reason_required", _("Say why the application is rejected."), fields={"reason": [_("Required.")]})
    words = _text(reason, field="reason", max_length=200)
    return _decide(actor=actor, certification=certification, status=CertificationStatus.REJECTED, reason=words)


@transaction.atomic
def carrier_deregister(*, actor: Actor, carrier: Organisation) -> Organisation:
    """The carrier leaves the network: no new swap from this moment (``carrier_may_swap``).

    Vehicles, drivers, orders and every ledger line stay; what is owed is left to settlement,
    which this does not touch. A pending application is withdrawn and an approved one closed,
    both kept as history. Deregistering twice changes nothing; the carrier may apply again."""
    if not carrier_access.may_deregister(actor, carrier):
        raise _forbidden()
    organisation = _lock_organisation(carrier)
    if organisation.certification_status == CertificationStatus.DEREGISTERED:
        return organisation
    previous = organisation.certification_status
    CarrierCertification.objects.filter(
        organisation=organisation, status__in=[CertificationStatus.PENDING, CertificationStatus.CERTIFIED]
    ).update(status=CertificationStatus.DEREGISTERED, updated_at=timezone.now())
    organisation.certification_status = CertificationStatus.DEREGISTERED
    organisation.save(update_fields=["certification_status", "updated_at"])
    _audit(actor=actor, action="carrier.deregister", subject_type="organisation", subject_id=organisation.pk, previous=previous)
    return organisation


# --- Drivers: invitations by phone number -----------------------------------------------
@transaction.atomic
def driver_invite(*, actor: Actor, carrier: Organisation, phone: str) -> DriverInvitation:
    """Invite a driver by mobile number; they need not have registered yet. Inviting a number
    that already has a pending invitation answers that invitation."""
    if not carrier_access.may_manage_fleet(actor, carrier):
        raise _forbidden()
    number = _identifier(normalize_phone, phone)
    if Membership.objects.filter(organisation=carrier, role=Role.DRIVER, user__phone=number).exists():
        raise Conflict("already_member", _("This person already drives for the carrier."))
    pending = DriverInvitation.objects.filter(carrier=carrier, phone=number, status=InvitationStatus.PENDING)
    existing = pending.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return DriverInvitation.objects.create(carrier=carrier, phone=number, invited_by_id=_user_id(actor))
    except IntegrityError:
        # invitation_one_pending: the same number was invited concurrently; that one stands.
        return pending.get()


def _lock_pending_invitation(invitation: DriverInvitation) -> DriverInvitation:
    locked = DriverInvitation.objects.select_for_update().select_related("carrier").get(pk=invitation.pk)
    if locked.status != InvitationStatus.PENDING:
        raise Conflict("invitation_not_pending", _("This invitation has already been answered or revoked."))
    return locked


def _respond(*, user: User, invitation: DriverInvitation, status: InvitationStatus) -> DriverInvitation:
    if not carrier_access.is_invitee(user, invitation):
        raise _forbidden()
    locked = _lock_pending_invitation(invitation)
    locked.status = status
    locked.responded_at = timezone.now()
    locked.save(update_fields=["status", "responded_at", "updated_at"])
    return locked


@transaction.atomic
def invitation_accept(*, user: User, invitation: DriverInvitation) -> Membership:
    """The holder of the invited number joins the carrier as a driver (no limits until set)."""
    accepted = _respond(user=user, invitation=invitation, status=InvitationStatus.ACCEPTED)
    # get_or_create re-reads after an IntegrityError, so a membership made meanwhile is reused.
    membership, _created = Membership.objects.get_or_create(
        user=user, organisation=accepted.carrier, role=Role.DRIVER, station=None
    )
    return membership


@transaction.atomic
def invitation_decline(*, user: User, invitation: DriverInvitation) -> DriverInvitation:
    return _respond(user=user, invitation=invitation, status=InvitationStatus.DECLINED)


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: DriverInvitation) -> DriverInvitation:
    if not carrier_access.may_revoke_invitation(actor, invitation):
        raise _forbidden()
    locked = _lock_pending_invitation(invitation)
    locked.status = InvitationStatus.REVOKED
    locked.responded_at = timezone.now()
    locked.save(update_fields=["status", "responded_at", "updated_at"])
    return locked


def _lock_driver_membership(*, carrier_id: int, driver: User) -> Membership:
    membership = Membership.objects.select_for_update().filter(organisation_id=carrier_id, role=Role.DRIVER, user=driver).first()
    if membership is None:
        raise ApplicationError("not_a_driver_of_carrier", _("This person is not a driver of the carrier."))
    return membership


@transaction.atomic
def driver_remove(*, actor: Actor, carrier: Organisation, driver: User) -> None:
    """The driver leaves the fleet: their membership (with its limits) and their assignments to
    this carrier's vehicles go; their past orders stay theirs."""
    if not carrier_access.may_manage_fleet(actor, carrier):
        raise _forbidden()
    membership = _lock_driver_membership(carrier_id=carrier.pk, driver=driver)
    plates = sorted(
        VehicleAssignment.objects.filter(vehicle__carrier=carrier, driver=driver).values_list("vehicle__plate", flat=True)
    )
    VehicleAssignment.objects.filter(vehicle__carrier=carrier, driver=driver).delete()
    _audit(
        actor=actor,
        action="carrier.driver_remove",
        subject_type="organisation",
        subject_id=carrier.pk,
        driver_id=driver.pk,
        unassigned=plates,
    )
    membership.delete()


@transaction.atomic
def driver_limits_set(
    *, actor: Actor, carrier: Organisation, driver: User, per_swap_fen: int | None, per_day_fen: int | None
) -> Membership:
    """What the driver may spend from the fleet's wallet, per swap and per (local) day, in fen;
    ``None`` is no limit and 0 stops their spending."""
    if not carrier_access.may_manage_fleet(actor, carrier):
        raise _forbidden()
    for field, value in (("per_swap_fen", per_swap_fen), ("per_day_fen", per_day_fen)):
        # bool is an int in Python; True must not become a limit of 1 fen.
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LIMIT_FEN):
            raise ApplicationError(
                "limit_invalid",
                _("A limit is a whole number of fen, zero or more, or empty for no limit."),
                fields={field: [_("Not a valid limit.")]},
            )
    membership = _lock_driver_membership(carrier_id=carrier.pk, driver=driver)
    membership.limit_per_swap_fen = per_swap_fen
    membership.limit_per_day_fen = per_day_fen
    membership.save(update_fields=["limit_per_swap_fen", "limit_per_day_fen", "updated_at"])
    return membership


# --- Vehicles ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _VehicleInput:
    plate: str
    plate_kind: str
    vin: str
    pack_standard: PackStandard
    model_name: str


def _vehicle_input(*, plate: str, vin: str, pack_standard_code: str, model_name: str) -> _VehicleInput:
    parsed = _identifier(lambda raw: normalize_plate(raw, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS), plate)
    canonical_vin = _identifier(normalize_vin, vin)
    pack_standard = PackStandard.objects.filter(code__iexact=pack_standard_code.strip()).first()
    if pack_standard is None:
        raise ApplicationError(
            "pack_standard_unknown", _("No such pack standard."), fields={"pack_standard": [_("Unknown pack standard.")]}
        )
    name = _text(model_name, field="model_name", max_length=80, required=False)
    return _VehicleInput(parsed.number, parsed.kind.value, canonical_vin, pack_standard, name)


def _refuse_if_registered(vehicle: _VehicleInput) -> None:
    if Vehicle.objects.filter(plate=vehicle.plate).exists():
        raise Conflict("plate_in_use", _("A vehicle with this plate is already registered."))
    if Vehicle.objects.filter(vin=vehicle.vin).exists():
        raise Conflict("vin_in_use", _("A vehicle with this VIN is already registered."))


def _vehicle_create(*, carrier: Organisation, vehicle: _VehicleInput) -> Vehicle:
    _refuse_if_registered(vehicle)
    try:
        with transaction.atomic():
            return Vehicle.objects.create(
                plate=vehicle.plate,
                plate_kind=vehicle.plate_kind,
                vin=vehicle.vin,
                carrier=carrier,
                pack_standard=vehicle.pack_standard,
                model_name=vehicle.model_name,
            )
    except IntegrityError:
        # The same plate or VIN was registered concurrently: say which.
        _refuse_if_registered(vehicle)
        raise


@transaction.atomic
def vehicle_add(
    *, actor: Actor, carrier: Organisation, plate: str, vin: str, pack_standard_code: str, model_name: str = ""
) -> Vehicle:
    """Register a vehicle in the carrier's fleet. A plate and a VIN belong to one vehicle in
    the whole network."""
    if not carrier_access.may_manage_fleet(actor, carrier):
        raise _forbidden()
    data = _vehicle_input(plate=plate, vin=vin, pack_standard_code=pack_standard_code, model_name=model_name)
    return _vehicle_create(carrier=carrier, vehicle=data)


def _refuse_if_carrying_battery(vehicle: Vehicle) -> None:
    if Battery.objects.filter(vehicle=vehicle).exists():
        raise Conflict("vehicle_has_battery", _("The vehicle carries a network battery; return it at a station first."))


@transaction.atomic
def vehicle_remove(*, actor: Actor, vehicle: Vehicle) -> None:
    """Take a vehicle out of the fleet. One that carries a network battery must return it at a
    station first (its energy deposit is settled then)."""
    if not access.may_change_vehicle(actor, vehicle):
        raise _forbidden()
    # The row lock makes a swap that is putting a battery in this vehicle either finish first
    # (and we refuse) or wait and fail on the vehicle's absence.
    locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    _refuse_if_carrying_battery(locked)
    detail = {"plate": locked.plate, "vin": locked.vin, "carrier_id": locked.carrier_id}
    try:
        with transaction.atomic():
            locked.delete()
    except (ProtectedError, RestrictedError):
        _refuse_if_carrying_battery(locked)
        raise Conflict("vehicle_has_history", _("The vehicle has records that must be kept; it cannot be removed.")) from None
    _audit(actor=actor, action="carrier.vehicle_remove", subject_type="vehicle", subject_id=vehicle.pk, **detail)


def _require_licence_for(*, driver: User, vehicle: Vehicle) -> RealNameVerification:
    """A verified driver whose licence, valid today, covers the vehicle's segment."""
    verification = verification_current(user=driver)
    if not is_verified(user=driver) or verification is None or verification.status != VerificationStatus.VERIFIED:
        raise ApplicationError("driver_not_verified", _("The driver has not passed real-name verification."))
    if verification.licence_expires_on < timezone.localdate():
        raise ApplicationError("licence_expired", _("The driver's licence has expired."))
    if not licence_allows(verification.licence_class, vehicle.pack_standard.segment):
        raise ApplicationError(
            "licence_class_insufficient",
            _("A %(licence)s licence does not allow driving this vehicle.") % {"licence": verification.licence_class},
        )
    return verification


@transaction.atomic
def vehicle_assign(*, actor: Actor, vehicle: Vehicle, driver: User) -> VehicleAssignment:
    """Let one of the carrier's drivers drive (and swap for) the vehicle. Assigning twice is
    harmless."""
    if not access.may_change_vehicle(actor, vehicle):
        raise _forbidden()
    # Locked so that a concurrent driver_remove cannot leave an assignment behind.
    _lock_driver_membership(carrier_id=vehicle.carrier_id, driver=driver)
    _require_licence_for(driver=driver, vehicle=vehicle)
    assignment, _created = VehicleAssignment.objects.get_or_create(vehicle=vehicle, driver=driver)
    return assignment


@transaction.atomic
def vehicle_unassign(*, actor: Actor, vehicle: Vehicle, driver: User) -> None:
    if not access.may_change_vehicle(actor, vehicle):
        raise _forbidden()
    deleted, _counts = VehicleAssignment.objects.filter(vehicle=vehicle, driver=driver).delete()
    if not deleted:
        raise NotFound("assignment")


# --- Private car owners: a carrier of one -----------------------------------------------
def individual_code(user: User) -> str:
    return f"individual-{user.pk}"


def _certify_individual_if_verified(*, organisation: Organisation, user: User) -> None:
    """An individual's certification rests on the owner's real-name verification (there is no
    company to certify and no application row). Only a carrier that never applied is certified
    this way: a deregistered one stays out until it applies again."""
    if organisation.certification_status == CertificationStatus.NOT_APPLIED and is_verified(user=user):
        organisation.certification_status = CertificationStatus.CERTIFIED
        organisation.save(update_fields=["certification_status", "updated_at"])


@transaction.atomic
def individual_vehicle_add(*, user: User, plate: str, vin: str, pack_standard_code: str, model_name: str = "") -> Vehicle:
    """A private car owner adds their own vehicle and so becomes a carrier of one.

    The first call creates their individual organisation (code ``individual-<user id>``, their
    display name) with them as its admin and driver, certified at once if they are verified,
    else ``not_applied`` until ``individual_certification_refresh`` runs after verification.
    Later calls reuse it. The owner is assigned to the vehicle; when verified, their licence must
    cover it (when not, the scan refuses them until they are)."""
    if not user.is_active:
        raise _forbidden()
    data = _vehicle_input(plate=plate, vin=vin, pack_standard_code=pack_standard_code, model_name=model_name)
    organisation, _created = Organisation.objects.get_or_create(
        code=individual_code(user),
        defaults={"name": user.display_name or user.masked_phone, "kind": OrganisationKind.INDIVIDUAL},
    )
    if organisation.kind != OrganisationKind.INDIVIDUAL:
        raise Conflict("individual_code_taken", _("Your private-owner account cannot be created; contact the platform."))
    organisation = _lock_organisation(organisation)
    for role in (Role.CARRIER_ADMIN, Role.DRIVER):
        Membership.objects.get_or_create(user=user, organisation=organisation, role=role, station=None)
    _certify_individual_if_verified(organisation=organisation, user=user)
    vehicle = _vehicle_create(carrier=organisation, vehicle=data)
    if is_verified(user=user):
        _require_licence_for(driver=user, vehicle=vehicle)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=user)
    return vehicle


@transaction.atomic
def individual_certification_refresh(*, user: User) -> Organisation | None:
    """Certify the user's individual organisation once they are verified. Meant to be called
    when a real-name verification is approved; does nothing for anyone without one."""
    organisation = (
        Organisation.objects.select_for_update().filter(code=individual_code(user), kind=OrganisationKind.INDIVIDUAL).first()
    )
    if organisation is not None:
        _certify_individual_if_verified(organisation=organisation, user=user)
    return organisation


# --- Station staff ----------------------------------------------------------------------
@transaction.atomic
def staff_add(*, actor: Actor, operator: Organisation, phone: str, station_codes: Sequence[str]) -> list[Membership]:
    """Bind a registered user as staff of some of the operator's stations: one membership per
    station. Adding the same binding again changes nothing."""
    if not carrier_access.may_manage_staff(actor, operator):
        raise _forbidden()
    number = _identifier(normalize_phone, phone)
    codes = sorted({code.strip().upper() for code in station_codes if code.strip()})
    if not codes:
        raise ApplicationError(
            "invalid", _("The request is not valid."), fields={"station_codes": [_("Name at least one station.")]}
        )
    stations = list(Station.objects.filter(operator=operator, code__in=codes).order_by("code"))
    if len(stations) != len(codes):
        # Missing and another operator's stations answer alike.
        found = {station.code for station in stations}
        raise ApplicationError(
            "station_not_yours",
            _("Staff can only be bound to your own stations."),
            fields={"station_codes": [code for code in codes if code not in found]},
        )
    user = User.objects.filter(phone=number, is_active=True).first()
    if user is None:
        raise ApplicationError(
            "user_not_found", _("Nobody has registered with this mobile number; ask them to register first."), status_code=404
        )
    memberships = []
    for station in stations:
        # get_or_create re-reads after an IntegrityError (membership_unique_staff_station).
        membership, _created = Membership.objects.get_or_create(
            user=user, station=station, defaults={"organisation": operator, "role": Role.STATION_STAFF}
        )
        memberships.append(membership)
    return memberships


@transaction.atomic
def staff_remove(*, actor: Actor, membership: Membership) -> None:
    """Unbind a member of staff from one station; their other stations stay."""
    if membership.role != Role.STATION_STAFF:
        raise NotFound("staff membership")
    if not carrier_access.may_manage_staff(actor, membership.organisation):
        raise _forbidden()
    deleted, _counts = Membership.objects.filter(pk=membership.pk, role=Role.STATION_STAFF).delete()
    if not deleted:
        raise NotFound("staff membership")
    _audit(
        actor=actor,
        action="operator.staff_remove",
        subject_type="organisation",
        subject_id=membership.organisation_id,
        user_id=membership.user_id,
        station_id=membership.station_id,
    )
