"""``vehicle_get`` runs one compiled read and decides visibility with ``access.may_see_vehicle``;
these tests hold it to ``access.visible_vehicles`` for every kind of caller, and its vehicle to
the one ``vehicle_list`` loads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from apps import access
from apps.access import Actor
from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets import selectors
from apps.assets.models import Vehicle, VehicleAssignment
from apps.assets.tests.factories import StationFactory, VehicleFactory
from apps.common.errors import NotFound

pytestmark = pytest.mark.django_db

CALLERS = [
    "anonymous",
    "assigned_driver",
    "unassigned_driver_of_the_carrier",
    "driver_of_another_carrier",
    "carrier_admin",
    "other_carrier_admin",
    "staff_of_a_station",
    "operator_admin",
    "platform_admin",
    "superuser",
    "inactive_assigned_driver",
]


def _callers(vehicle: Vehicle) -> dict[str, User | None]:
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    station = StationFactory()
    assigned = member(Role.DRIVER, vehicle.carrier)
    inactive = member(Role.DRIVER, vehicle.carrier)
    for driver in (assigned, inactive):
        VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    return {
        "anonymous": None,
        "assigned_driver": assigned,
        "unassigned_driver_of_the_carrier": member(Role.DRIVER, vehicle.carrier),
        "driver_of_another_carrier": member(Role.DRIVER, other_carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, vehicle.carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff_of_a_station": member(Role.STATION_STAFF, station.operator, station=station),
        "operator_admin": member(Role.OPERATOR_ADMIN, station.operator),
        "platform_admin": member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)),
        "superuser": User.objects.create_superuser("13900000999", "correct horse battery"),
        "inactive_assigned_driver": inactive,
    }


@pytest.mark.parametrize("caller", CALLERS)
def test_vehicle_get_shows_exactly_the_vehicles_the_access_module_lets_the_caller_see(caller: str) -> None:
    vehicle = VehicleFactory()
    actor = Actor.of(_callers(vehicle)[caller])
    visible = access.visible_vehicles(actor).filter(pk=vehicle.pk).exists()
    assert visible == (caller in {"assigned_driver", "carrier_admin", "platform_admin", "superuser"})
    if visible:
        assert selectors.vehicle_get(actor=actor, plate=vehicle.plate).pk == vehicle.pk
    else:
        with pytest.raises(NotFound):
            selectors.vehicle_get(actor=actor, plate=vehicle.plate)


def test_vehicle_get_loads_what_vehicle_list_loads_in_one_query() -> None:
    vehicle = VehicleFactory()
    actor = Actor.of(member(Role.CARRIER_ADMIN, vehicle.carrier))
    expected = selectors.vehicle_list(actor=actor).get(pk=vehicle.pk)
    with CaptureQueriesContext(connection) as queries:
        got = selectors.vehicle_get(actor=actor, plate=f" {vehicle.plate.lower()} ")  # the plate is normalised
        carrier, standard = got.carrier, got.pack_standard  # loaded with it: no further query
    assert len(queries) == 1
    assert model_to_dict(got) == model_to_dict(expected)
    assert (got.created_at, got.updated_at) == (expected.created_at, expected.updated_at)
    assert model_to_dict(carrier) == model_to_dict(expected.carrier)
    assert model_to_dict(standard) == model_to_dict(expected.pack_standard)


def test_a_plate_that_is_malformed_or_unknown_is_not_found() -> None:
    actor = Actor.of(member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)))
    for plate in ("not a plate", "冀J99999D"):
        with pytest.raises(NotFound):
            selectors.vehicle_get(actor=actor, plate=plate)
