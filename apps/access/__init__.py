"""Who may see and change what: the one place that decides (``ACCESS.md``).

Selectors, admin pages and consumers ask this module; they never decide themselves. What is not
granted is invisible: selectors answer 404 for it, exactly like a missing object.

An ``Actor`` is read once per request from the user's memberships. ``visible_*`` functions
return the querysets an actor may see; ``may_*`` functions answer whether they may change one
object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts.models import ROLE_ORGANISATION_KINDS, Membership, Organisation, OrganisationKind, Role, User
from apps.assets.models import Battery, Bay, PackStandard, Station, Vehicle, VehicleAssignment
from apps.common.compiled import CompiledRead

# Every request of a signed-in user reads their memberships: compiled once (``apps.common.compiled``).
_memberships = CompiledRead(
    lambda user_id: Membership.objects.filter(user_id=user_id).values_list("organisation_id", "role", "station_id")
)


@dataclass(frozen=True)
class Actor:
    """The caller, with the organisations and stations their roles give them."""

    user_id: int | None
    platform_admin: bool = False
    operator_admin_of: frozenset[int] = field(default_factory=frozenset)
    owner_admin_of: frozenset[int] = field(default_factory=frozenset)
    carrier_admin_of: frozenset[int] = field(default_factory=frozenset)
    driver_of: frozenset[int] = field(default_factory=frozenset)
    staff_of_stations: frozenset[int] = field(default_factory=frozenset)
    member_of: frozenset[int] = field(default_factory=frozenset)

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def admin_of(self) -> frozenset[int]:
        return self.operator_admin_of | self.owner_admin_of | self.carrier_admin_of

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user_id=None)

    @classmethod
    def of(cls, user: User | Any) -> Actor:
        """The actor for a request's user (anonymous or inactive users see nothing)."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return cls.anonymous()
        by_role: dict[str, set[int]] = {role: set() for role in Role.values}
        stations: set[int] = set()
        for organisation_id, role, station_id in _memberships(user_id=user.pk):
            by_role[role].add(organisation_id)
            if station_id is not None:
                stations.add(station_id)
        return cls(
            user_id=user.pk,
            platform_admin=bool(by_role[Role.PLATFORM_ADMIN]) or bool(user.is_superuser),
            operator_admin_of=frozenset(by_role[Role.OPERATOR_ADMIN]),
            owner_admin_of=frozenset(by_role[Role.OWNER_ADMIN]),
            carrier_admin_of=frozenset(by_role[Role.CARRIER_ADMIN]),
            driver_of=frozenset(by_role[Role.DRIVER]),
            staff_of_stations=frozenset(stations),
            member_of=frozenset(set().union(*by_role.values())),
        )


# --- Organisations ----------------------------------------------------------------------
def visible_organisations(actor: Actor) -> QuerySet[Organisation]:
    if actor.platform_admin:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk__in=actor.member_of)


def may_change_organisation(actor: Actor, organisation: Organisation) -> bool:
    return actor.platform_admin


def may_add_organisation(actor: Actor) -> bool:
    return actor.platform_admin


def visible_memberships(actor: Actor) -> QuerySet[Membership]:
    """Admins see who belongs to their organisations; everyone sees their own memberships."""
    if actor.platform_admin:
        return Membership.objects.all()
    if not actor.signed_in:
        return Membership.objects.none()
    return Membership.objects.filter(Q(organisation_id__in=actor.admin_of) | Q(user_id=actor.user_id))


def may_change_membership(actor: Actor, membership: Membership) -> bool:
    return actor.platform_admin or membership.organisation_id in actor.admin_of


# --- Users ------------------------------------------------------------------------------
def visible_users(actor: Actor) -> QuerySet[User]:
    """Like memberships: admins see the people of their organisations; everyone sees themselves."""
    if actor.platform_admin:
        return User.objects.all()
    if not actor.signed_in:
        return User.objects.none()
    members = Membership.objects.filter(organisation_id__in=actor.admin_of).values("user_id")
    return User.objects.filter(Q(pk__in=members) | Q(pk=actor.user_id))


def may_change_user(actor: Actor, user: User) -> bool:
    """Phone, name, admin access and passwords: platform admins only."""
    return actor.platform_admin


def may_add_user(actor: Actor) -> bool:
    return actor.platform_admin


# --- Stations and bays ------------------------------------------------------------------
def visible_stations(actor: Actor) -> QuerySet[Station]:
    """The public face of every station: any signed-in user (drivers choose among them)."""
    if not actor.signed_in:
        return Station.objects.none()
    return Station.objects.all()


def sees_station_internals(actor: Actor, station: Station) -> bool:
    """Controller keys, staff list and revenue: the operator's admins (and the platform)."""
    return actor.platform_admin or station.operator_id in actor.operator_admin_of


def sees_station_bays(actor: Actor, station: Station) -> bool:
    return sees_station_internals(actor, station) or station.pk in actor.staff_of_stations


def visible_station_internals(actor: Actor) -> QuerySet[Station]:
    """The stations whose internals the actor sees (``sees_station_internals`` as a queryset)."""
    if actor.platform_admin:
        return Station.objects.all()
    return Station.objects.filter(operator_id__in=actor.operator_admin_of)


def may_change_station(actor: Actor, station: Station) -> bool:
    return station.operator_id in actor.operator_admin_of


def may_add_station(actor: Actor) -> bool:
    """Operator admins, under their own operators (``station_operators_for``)."""
    return bool(actor.operator_admin_of)


def station_operators_for(actor: Actor) -> QuerySet[Organisation]:
    """The operators the actor may choose for a station they may add or change."""
    if actor.platform_admin:
        return Organisation.objects.filter(kind=OrganisationKind.STATION_OPERATOR)
    return Organisation.objects.filter(pk__in=actor.operator_admin_of)


def visible_bays(actor: Actor) -> QuerySet[Bay]:
    if actor.platform_admin:
        return Bay.objects.all()
    return Bay.objects.filter(Q(station__operator_id__in=actor.operator_admin_of) | Q(station_id__in=actor.staff_of_stations))


def may_change_bay(actor: Actor, bay: Bay) -> bool:
    return bay.station.operator_id in actor.operator_admin_of


# --- Pack standards ---------------------------------------------------------------------
def visible_pack_standards(actor: Actor) -> QuerySet[PackStandard]:
    return PackStandard.objects.all() if actor.signed_in else PackStandard.objects.none()


def may_change_pack_standard(actor: Actor, standard: PackStandard) -> bool:
    return actor.platform_admin


def may_add_pack_standard(actor: Actor) -> bool:
    return actor.platform_admin


# --- Batteries --------------------------------------------------------------------------
def visible_batteries(actor: Actor) -> QuerySet[Battery]:
    """Its owner always; the operator and staff of the station it is in now; the carrier and
    assigned drivers of the vehicle that carries it now."""
    if actor.platform_admin:
        return Battery.objects.all()
    if not actor.signed_in:
        return Battery.objects.none()
    carried_by_my_vehicle = Q(vehicle__in=Vehicle.objects.filter(assignments__driver_id=actor.user_id))
    return Battery.objects.filter(
        Q(owner_id__in=actor.owner_admin_of)
        | Q(station__operator_id__in=actor.operator_admin_of)
        | Q(station_id__in=actor.staff_of_stations)
        | Q(vehicle__carrier_id__in=actor.carrier_admin_of)
        | carried_by_my_vehicle
    )


def may_change_battery(actor: Actor, battery: Battery) -> bool:
    """Its owner's admins (rates, retirement); live state comes from controllers' reports."""
    return battery.owner_id in actor.owner_admin_of


def may_add_battery(actor: Actor) -> bool:
    """Owner admins, under their own owners (``battery_owners_for``)."""
    return bool(actor.owner_admin_of)


def battery_owners_for(actor: Actor) -> QuerySet[Organisation]:
    """The owners the actor may choose for a battery they may add or change."""
    if actor.platform_admin:
        return Organisation.objects.filter(kind=OrganisationKind.BATTERY_OWNER)
    return Organisation.objects.filter(pk__in=actor.owner_admin_of)


# --- Vehicles ---------------------------------------------------------------------------
def visible_vehicles(actor: Actor) -> QuerySet[Vehicle]:
    if actor.platform_admin:
        return Vehicle.objects.all()
    if not actor.signed_in:
        return Vehicle.objects.none()
    assigned = Vehicle.objects.filter(assignments__driver_id=actor.user_id).values("pk")
    return Vehicle.objects.filter(Q(carrier_id__in=actor.carrier_admin_of) | Q(pk__in=assigned))


def may_see_vehicle(actor: Actor, vehicle: Vehicle, *, assigned_to_actor: bool) -> bool:
    """``visible_vehicles`` for one vehicle already read, with whether it is assigned to the actor
    (a hot read answers that in its own query)."""
    if actor.platform_admin:
        return True
    return actor.signed_in and (vehicle.carrier_id in actor.carrier_admin_of or assigned_to_actor)


def may_change_vehicle(actor: Actor, vehicle: Vehicle) -> bool:
    return vehicle.carrier_id in actor.carrier_admin_of


def visible_vehicle_assignments(actor: Actor) -> QuerySet[VehicleAssignment]:
    """Who drives a vehicle: seen by whoever sees the vehicle."""
    return VehicleAssignment.objects.filter(vehicle__in=visible_vehicles(actor))


def may_add_vehicle(actor: Actor) -> bool:
    """Carrier admins, under their own carriers (``vehicle_carriers_for``)."""
    return bool(actor.carrier_admin_of)


def vehicle_carriers_for(actor: Actor) -> QuerySet[Organisation]:
    """The carriers the actor may choose for a vehicle they may add or change."""
    if actor.platform_admin:
        return Organisation.objects.filter(kind__in=ROLE_ORGANISATION_KINDS[Role.CARRIER_ADMIN])
    return Organisation.objects.filter(pk__in=actor.carrier_admin_of)


def assignable_drivers(actor: Actor) -> QuerySet[User]:
    """The drivers the actor may assign to vehicles: those of the carriers they administer."""
    drivers = Membership.objects.filter(role=Role.DRIVER)
    if not actor.platform_admin:
        drivers = drivers.filter(organisation_id__in=actor.carrier_admin_of)
    return User.objects.filter(pk__in=drivers.values("user_id"))
