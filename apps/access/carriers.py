"""Who may see and change a carrier's fleet, its certification, driver invitations and the
staff of a station operator (``ACCESS.md``).

A carrier's fleet (its vehicles, drivers, invitations and certification) is seen by its admins
and the platform; its drivers see their own vehicles through ``visible_vehicles`` instead, not
the fleet. Only the carrier's own admins change it: the platform sees but does not manage fleets,
it decides certifications and may deregister a carrier.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.access import Actor
from apps.accounts.models import (
    CarrierCertification,
    DriverInvitation,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)

# The organisation kinds that own vehicles and pay for swaps (a private car owner is a carrier of one).
CARRIER_KINDS = (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL)


# --- Fleets -----------------------------------------------------------------------------
def visible_fleets(actor: Actor) -> QuerySet[Organisation]:
    """The carriers whose vehicles, drivers, invitations and certification the actor sees."""
    carriers = Organisation.objects.filter(kind__in=CARRIER_KINDS)
    if actor.platform_admin:
        return carriers
    return carriers.filter(pk__in=actor.carrier_admin_of)


def may_manage_fleet(actor: Actor, carrier: Organisation) -> bool:
    """Add and remove vehicles and drivers, assign them, set limits: the carrier's admins only."""
    return carrier.kind in CARRIER_KINDS and carrier.pk in actor.carrier_admin_of


def visible_carrier_drivers(actor: Actor) -> QuerySet[Membership]:
    """The driver memberships (with their limits) of the fleets the actor sees."""
    return Membership.objects.filter(role=Role.DRIVER, organisation__in=visible_fleets(actor))


def sees_carrier_drivers(actor: Actor, carrier: Organisation) -> bool:
    return actor.platform_admin or carrier.pk in actor.carrier_admin_of


# --- Certification ----------------------------------------------------------------------
def visible_certifications(actor: Actor) -> QuerySet[CarrierCertification]:
    if actor.platform_admin:
        return CarrierCertification.objects.all()
    return CarrierCertification.objects.filter(organisation_id__in=actor.carrier_admin_of)


def may_apply_for_certification(actor: Actor, carrier: Organisation) -> bool:
    return may_manage_fleet(actor, carrier)


def may_decide_certification(actor: Actor) -> bool:
    return actor.platform_admin


def may_deregister(actor: Actor, carrier: Organisation) -> bool:
    """The carrier leaves the network by its own admin's hand, or the platform removes it."""
    return carrier.kind in CARRIER_KINDS and (actor.platform_admin or carrier.pk in actor.carrier_admin_of)


# --- Driver invitations -----------------------------------------------------------------
def visible_invitations(actor: Actor) -> QuerySet[DriverInvitation]:
    """The invited person (matched by their phone number), the carrier's admins, the platform."""
    if actor.platform_admin:
        return DriverInvitation.objects.all()
    if actor.user_id is None:
        return DriverInvitation.objects.none()
    my_phone = User.objects.filter(pk=actor.user_id).values("phone")
    return DriverInvitation.objects.filter(Q(carrier_id__in=actor.carrier_admin_of) | Q(phone__in=my_phone))


def is_invitee(user: User, invitation: DriverInvitation) -> bool:
    """Only the holder of the invited phone number accepts or declines."""
    return user.is_active and user.phone == invitation.phone


def may_revoke_invitation(actor: Actor, invitation: DriverInvitation) -> bool:
    return invitation.carrier_id in actor.carrier_admin_of


# --- Station staff ----------------------------------------------------------------------
def visible_staff_operators(actor: Actor) -> QuerySet[Organisation]:
    """The station operators whose staff list the actor sees."""
    operators = Organisation.objects.filter(kind=OrganisationKind.STATION_OPERATOR)
    if actor.platform_admin:
        return operators
    return operators.filter(pk__in=actor.operator_admin_of)


def visible_staff_memberships(actor: Actor) -> QuerySet[Membership]:
    return Membership.objects.filter(role=Role.STATION_STAFF, organisation__in=visible_staff_operators(actor))


def may_manage_staff(actor: Actor, operator: Organisation) -> bool:
    return operator.kind == OrganisationKind.STATION_OPERATOR and operator.pk in actor.operator_admin_of
