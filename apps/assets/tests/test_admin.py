"""The admin of stations, batteries and vehicles, scoped by access: actors × objects →
listed or not, change page 200 or 404 (login for non-staff), and refused changes change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import Battery, BatteryLocation, Station, Vehicle, VehicleAssignment
from apps.assets.tests.factories import BatteryFactory, BayFactory, PackStandardFactory, StationFactory, VehicleFactory, vin_for

ACTORS = [
    "platform_admin",
    "operator_admin",
    "other_operator_admin",
    "battery_owner",
    "other_battery_owner",
    "carrier_admin",
    "other_carrier_admin",
    "driver",  # not staff: the admin sends them to its login page
]
OBJECTS = ["station", "battery", "vehicle"]

SEES = {
    "station": {"platform_admin", "operator_admin"},
    "battery": {"platform_admin", "operator_admin", "battery_owner"},
    "vehicle": {"platform_admin", "carrier_admin"},
}
CHANGES = {"station": "operator_admin", "battery": "battery_owner", "vehicle": "carrier_admin"}
# The organisation field of each object, and each actor's own organisation (a tenant's
# attempt to change an object also tries to take it over).
OWNER_FIELD = {"station": "operator", "battery": "owner", "vehicle": "carrier"}
# A field the rightful admin may change, and the value the tests post.
EDITABLE = {"station": ("name_en", "Renamed station"), "battery": ("chemistry", "NMC"), "vehicle": ("model_name", "Renamed")}
INLINE_PREFIXES = {"station": ("bays",), "battery": (), "vehicle": ("assignments",)}


@dataclass
class World:
    objects: dict[str, Station | Battery | Vehicle]
    users: dict[str, User]
    orgs: dict[str, Organisation]


@pytest.fixture
def world(db) -> World:
    orgs = {
        "platform_admin": OrganisationFactory(kind=OrganisationKind.PLATFORM),
        "operator_admin": OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR),
        "other_operator_admin": OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR),
        "battery_owner": OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER),
        "other_battery_owner": OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER),
        "carrier_admin": OrganisationFactory(kind=OrganisationKind.CARRIER),
        "other_carrier_admin": OrganisationFactory(kind=OrganisationKind.CARRIER),
    }
    roles = {
        "platform_admin": Role.PLATFORM_ADMIN,
        "operator_admin": Role.OPERATOR_ADMIN,
        "other_operator_admin": Role.OPERATOR_ADMIN,
        "battery_owner": Role.OWNER_ADMIN,
        "other_battery_owner": Role.OWNER_ADMIN,
        "carrier_admin": Role.CARRIER_ADMIN,
        "other_carrier_admin": Role.CARRIER_ADMIN,
    }
    users = {actor: member(role, orgs[actor], is_staff=True) for actor, role in roles.items()}
    users["driver"] = member(Role.DRIVER, orgs["carrier_admin"])

    station = StationFactory(operator=orgs["operator_admin"])
    other_station = StationFactory(operator=orgs["other_operator_admin"])
    battery = BatteryFactory(owner=orgs["battery_owner"], station=station, station_slot=1)
    BatteryFactory(owner=orgs["other_battery_owner"], station=other_station, station_slot=1)
    vehicle = VehicleFactory(carrier=orgs["carrier_admin"])
    VehicleFactory(carrier=orgs["other_carrier_admin"])
    VehicleAssignment.objects.create(vehicle=vehicle, driver=users["driver"])
    objects: dict[str, Any] = {"station": station, "battery": battery, "vehicle": vehicle}
    return World(objects=objects, users=users, orgs=orgs)


def admin_url(obj: Model, view: str = "change") -> str:
    opts = obj._meta
    args = [obj.pk] if view in ("change", "delete", "history") else []
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def snapshot(obj: Model) -> dict[str, Any]:
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return model_to_dict(fresh)


def form_data(obj: Model, inline_prefixes: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """What the change form posts for ``obj`` with ``changes``, inlines left as they are."""
    data: dict[str, Any] = {}
    for name, value in {**model_to_dict(obj), **changes}.items():
        if value is None:
            data[name] = ""
        elif isinstance(value, list):
            data[name] = [item.pk if isinstance(item, Model) else item for item in value]
        else:
            data[name] = value
    for prefix in inline_prefixes:
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
    return data


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- The matrix ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", OBJECTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_changelist_lists_what_the_actor_sees(client, world: World, actor: str, kind: str) -> None:
    obj = world.objects[kind]
    client.force_login(world.users[actor])
    response = client.get(admin_url(obj, "changelist"))
    if actor == "driver":
        assert_sent_to_login(response)
        return
    assert response.status_code == 200
    listed = {row.pk for row in response.context["cl"].result_list}
    assert (obj.pk in listed) == (actor in SEES[kind])


@pytest.mark.parametrize("kind", OBJECTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_change_page_is_shown_or_404(client, world: World, actor: str, kind: str) -> None:
    obj = world.objects[kind]
    client.force_login(world.users[actor])
    response = client.get(admin_url(obj))
    if actor == "driver":
        assert_sent_to_login(response)
    elif actor in SEES[kind]:
        assert response.status_code == 200
        # Those who may only look get a read-only page.
        assert response.context["has_change_permission"] == (actor == CHANGES[kind])
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("kind", OBJECTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_only_the_rightful_admin_changes_the_object(client, world: World, actor: str, kind: str) -> None:
    obj = world.objects[kind]
    field, value = EDITABLE[kind]
    changes: dict[str, Any] = {field: value}
    if actor in world.orgs:
        changes[OWNER_FIELD[kind]] = world.orgs[actor].pk
    before = snapshot(obj)
    client.force_login(world.users[actor])

    response = client.post(admin_url(obj), form_data(obj, INLINE_PREFIXES[kind], **changes))

    after = snapshot(obj)
    if actor == CHANGES[kind]:
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert after == {**before, field: value}
        return
    assert after == before
    if actor == "driver":
        assert_sent_to_login(response)
    elif actor in SEES[kind]:
        assert response.status_code == 403
    else:
        assert response.status_code == 404


# --- Ownership never moves by a tenant ----------------------------------------------------
@pytest.mark.parametrize("kind", OBJECTS)
def test_the_owning_organisation_is_read_only_for_its_admin(client, world: World, kind: str) -> None:
    obj = world.objects[kind]
    owner_field = OWNER_FIELD[kind]
    owner_before = getattr(obj, f"{owner_field}_id")
    elsewhere = next(org for org in world.orgs.values() if org.pk != owner_before and org.kind == obj_owner_kind(obj))
    field, value = EDITABLE[kind]
    client.force_login(world.users[CHANGES[kind]])

    response = client.post(admin_url(obj), form_data(obj, INLINE_PREFIXES[kind], **{field: value, owner_field: elsewhere.pk}))

    assert response.status_code == 302
    obj.refresh_from_db()
    assert getattr(obj, field) == value
    assert getattr(obj, f"{owner_field}_id") == owner_before


def obj_owner_kind(obj: Model) -> str:
    if isinstance(obj, Station):
        return OrganisationKind.STATION_OPERATOR
    if isinstance(obj, Battery):
        return OrganisationKind.BATTERY_OWNER
    return OrganisationKind.CARRIER


def test_a_battery_owner_cannot_move_a_battery_or_rewrite_its_readings(client, world: World) -> None:
    battery = world.objects["battery"]
    assert isinstance(battery, Battery)
    before = snapshot(battery)
    client.force_login(world.users["battery_owner"])

    response = client.post(
        admin_url(battery),
        form_data(battery, location=BatteryLocation.IN_TRANSIT, station=None, station_slot=None, charge_pct="10.00"),
    )

    assert response.status_code == 302
    assert snapshot(battery) == before


# --- Adding: into one's own organisation only ---------------------------------------------
def station_form(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "SWN-NEW",
        "name_zh": "新站",
        "name_en": "New station",
        "latitude": "38.5",
        "longitude": "116.1",
        "tariff_zone": "hebei_south",
        "status": "open",
        "slot_count": 6,
        "pack_standards": [PackStandardFactory().pk],
        "mean_swap_minutes": "5.0",
        "bays-TOTAL_FORMS": 1,
        "bays-INITIAL_FORMS": 0,
        "bays-0-number": 1,
        "bays-0-has_screen": "on",
        "bays-0-status": "available",
    }
    return {**data, **changes}


def test_an_operator_admin_adds_a_station_to_their_own_operator(client, world: World) -> None:
    client.force_login(world.users["operator_admin"])
    add_url = reverse("admin:assets_station_add")

    form = client.get(add_url).context["adminform"].form
    assert form.fields["operator"].disabled
    # Posting another operator changes nothing: the field is fixed.
    response = client.post(add_url, station_form(operator=world.orgs["other_operator_admin"].pk))

    assert response.status_code == 302
    station = Station.objects.get(code="SWN-NEW")
    assert station.operator == world.orgs["operator_admin"]
    assert list(station.bays.values_list("number", flat=True)) == [1]


def test_an_admin_of_two_operators_chooses_among_only_those(client, world: World) -> None:
    admin = world.users["operator_admin"]
    second = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    admin.memberships.create(organisation=second, role=Role.OPERATOR_ADMIN)
    client.force_login(admin)
    add_url = reverse("admin:assets_station_add")

    field = client.get(add_url).context["adminform"].form.fields["operator"]
    assert set(field.queryset) == {world.orgs["operator_admin"], second}
    response = client.post(add_url, station_form(operator=world.orgs["other_operator_admin"].pk))

    assert response.status_code == 200
    assert "operator" in response.context["adminform"].form.errors
    assert not Station.objects.filter(code="SWN-NEW").exists()

    response = client.post(add_url, station_form(operator=second.pk))
    assert response.status_code == 302
    assert Station.objects.get(code="SWN-NEW").operator == second


def test_a_battery_owner_registers_a_battery_in_transit(client, world: World) -> None:
    client.force_login(world.users["battery_owner"])
    response = client.post(
        reverse("admin:assets_battery_add"),
        {
            "code": "CATPB28HBJ0001PA19999999",
            "owner": world.orgs["other_battery_owner"].pk,
            "pack_standard": PackStandardFactory().pk,
            "chemistry": "LFP",
            "rated_kwh": "282.0",
            "health_pct": "100",
            "charge_pct": "50",
            "energy_kwh": "141",
            "cycle_count": 0,
            # Placement is not on the form: this is ignored.
            "station": world.objects["station"].pk,
            "station_slot": 2,
        },
    )
    assert response.status_code == 302
    battery = Battery.objects.get(code="CATPB28HBJ0001PA19999999")
    assert battery.owner == world.orgs["battery_owner"]
    assert (battery.location, battery.station, battery.health_pct) == (BatteryLocation.IN_TRANSIT, None, Decimal(100))


@pytest.mark.parametrize(
    ("actor", "model"),
    [
        ("battery_owner", "station"),
        ("carrier_admin", "station"),
        ("operator_admin", "battery"),
        ("carrier_admin", "battery"),
        ("operator_admin", "vehicle"),
        ("platform_admin", "vehicle"),
    ],
)
def test_others_cannot_add(client, world: World, actor: str, model: str) -> None:
    client.force_login(world.users[actor])
    assert client.get(reverse(f"admin:assets_{model}_add")).status_code == 403


# --- Choices never show another tenant's objects -----------------------------------------
def test_battery_owner_filter_lists_only_owners_of_listed_batteries(client, world: World) -> None:
    client.force_login(world.users["battery_owner"])
    response = client.get(reverse("admin:assets_battery_changelist"))
    assert world.orgs["battery_owner"].name in response.content.decode()
    assert world.orgs["other_battery_owner"].name not in response.content.decode()


def test_a_carrier_admin_assigns_only_their_own_drivers(client, world: World) -> None:
    vehicle = world.objects["vehicle"]
    own_driver = member(Role.DRIVER, world.orgs["carrier_admin"])
    other_driver = member(Role.DRIVER, world.orgs["other_carrier_admin"])
    client.force_login(world.users["carrier_admin"])

    form = client.get(admin_url(vehicle)).context["inline_admin_formsets"][0].formset.empty_form
    assert set(form.fields["driver"].queryset) == {world.users["driver"], own_driver}

    def assign(driver: User) -> int:
        data = form_data(vehicle, ("assignments",))
        data.update({"assignments-TOTAL_FORMS": 1, "assignments-0-driver": driver.pk})
        return client.post(admin_url(vehicle), data).status_code

    assert assign(other_driver) == 200
    assert not VehicleAssignment.objects.filter(driver=other_driver).exists()
    assert assign(own_driver) == 302
    assert VehicleAssignment.objects.filter(vehicle=vehicle, driver=own_driver).exists()


def test_only_the_platform_deletes_and_not_what_it_may_not_change(client, world: World) -> None:
    station = world.objects["station"]
    for actor in ("operator_admin", "platform_admin"):
        client.force_login(world.users[actor])
        assert client.post(admin_url(station, "delete"), {"post": "yes"}).status_code == 403
    assert Station.objects.filter(pk=station.pk).exists()


def test_a_carrier_admin_adds_a_vehicle_to_their_own_carrier(client, world: World) -> None:
    client.force_login(world.users["carrier_admin"])
    response = client.post(
        reverse("admin:assets_vehicle_add"),
        {
            "plate": "冀J99999D",
            "plate_kind": "new_energy_large",
            "vin": vin_for(9_999_999),
            "carrier": world.orgs["other_carrier_admin"].pk,
            "pack_standard": PackStandardFactory().pk,
            "assignments-TOTAL_FORMS": 0,
            "assignments-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    assert Vehicle.objects.get(plate="冀J99999D").carrier == world.orgs["carrier_admin"]


@pytest.mark.parametrize("model", ["station", "bay", "battery", "vehicle"])
def test_changelists_do_not_query_per_row(client, world: World, model: str) -> None:
    client.force_login(world.users["platform_admin"])
    url = reverse(f"admin:assets_{model}_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for _ in range(3):
        station = StationFactory()
        BayFactory(station=station)
        BatteryFactory(station=station, station_slot=1)
        VehicleFactory()
    assert queries() == before
