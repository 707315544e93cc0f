"""A small network for recommendation tests: stations at given places with flat tariffs and
batteries in their slots, and a vehicle carrying a battery with a known energy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import BatteryLocation, PackStandard, Station, Vehicle, VehicleAssignment
from apps.assets.tests.factories import BatteryFactory, BayFactory, PackStandardFactory, StationFactory, VehicleFactory
from apps.billing.models import StationTariff
from apps.billing.services import corridor_calendars_load
from apps.billing.tou import LOCAL_TIME

BASE = (38.4, 116.0)  # near Hejian, on the corridor
TARIFF_FROM = datetime(2025, 1, 1, tzinfo=LOCAL_TIME)
# A 282 kWh pack at 97.5 % health: 274.95 kWh usable; ready packs hold 260 kWh.
READY_KWH = Decimal("260.000")


def standard() -> PackStandard:
    return PackStandardFactory()


def owner() -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)


def station_at(
    lat: float,
    lon: float,
    *,
    ready: int = 2,
    charging: tuple[Decimal, ...] = (),
    price: str = "1.0000",
    online: bool = True,
    pack_standard: PackStandard | None = None,
    battery_owner: Organisation | None = None,
    ready_kwh: Decimal = READY_KWH,
    **fields: object,
) -> Station:
    """A station with one bay, ``ready`` charged batteries, and batteries charging at the given
    states of charge (percent), priced ``price`` CNY/kWh in every period with no service fee."""
    corridor_calendars_load()
    pack_standard = pack_standard or standard()
    battery_owner = battery_owner or owner()
    station = StationFactory(
        latitude=Decimal(f"{lat:.6f}"),
        longitude=Decimal(f"{lon:.6f}"),
        pack_standards=[pack_standard],
        last_heartbeat_at=timezone.now() if online else None,
        **fields,
    )
    BayFactory(station=station, number=1)
    slot = 0
    for _ in range(ready):
        slot += 1
        BatteryFactory(
            station=station,
            station_slot=slot,
            owner=battery_owner,
            pack_standard=pack_standard,
            charge_pct=Decimal("95.00"),
            energy_kwh=ready_kwh,
        )
    for charge in charging:
        slot += 1
        BatteryFactory(
            station=station,
            station_slot=slot,
            owner=battery_owner,
            pack_standard=pack_standard,
            charge_pct=charge,
            energy_kwh=(Decimal("274.950") * charge / 100).quantize(Decimal("0.001")),
        )
    StationTariff.objects.create(
        station=station,
        effective_from=TARIFF_FROM,
        price_sharp=Decimal(price),
        price_peak=Decimal(price),
        price_flat=Decimal(price),
        price_valley=Decimal(price),
        price_deep_valley=Decimal(price),
    )
    return station


def vehicle_carrying(
    energy_kwh: str = "200.000", *, carrier: Organisation | None = None, pack_standard: PackStandard | None = None
) -> Vehicle:
    """A truck carrying one 282 kWh battery holding ``energy_kwh``. With the default 200 kWh:
    reserve 28.2 kWh, usable 171.8 kWh, range 114.5 km at 1.5 kWh/km."""
    vehicle = VehicleFactory(
        carrier=carrier or OrganisationFactory(kind=OrganisationKind.CARRIER), pack_standard=pack_standard or standard()
    )
    BatteryFactory(
        owner=owner(),
        pack_standard=vehicle.pack_standard,
        location=BatteryLocation.VEHICLE,
        station=None,
        station_slot=None,
        vehicle=vehicle,
        vehicle_position=1,
        charge_pct=Decimal("72.74"),
        energy_kwh=Decimal(energy_kwh),
    )
    return vehicle


def driver_of(vehicle: Vehicle) -> User:
    driver = member(Role.DRIVER, vehicle.carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
    return driver


def north(km: float) -> tuple[float, float]:
    """A point ``km`` north of BASE (1 degree of latitude is about 111.0 km here)."""
    return (BASE[0] + km / 111.0, BASE[1])


def south(km: float) -> tuple[float, float]:
    return (BASE[0] - km / 111.0, BASE[1])
