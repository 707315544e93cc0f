from __future__ import annotations

from decimal import Decimal

import factory

from apps.accounts.models import OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, Vehicle, VehicleSegment
from apps.common.identifiers import vin_check_digit


class PackStandardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackStandard
        django_get_or_create = ("code",)

    code = "HT-282-LFP"
    name = "Heavy truck 282 kWh LFP"
    segment = VehicleSegment.HEAVY_TRUCK
    rated_kwh = Decimal("282.0")
    nominal_voltage_v = 502
    chemistry = "LFP"
    packs_per_vehicle = 1


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"SWN-T{n:02d}")
    name_zh = factory.Sequence(lambda n: f"测试换电站{n}")
    name_en = factory.Sequence(lambda n: f"Test station {n}")
    operator = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.STATION_OPERATOR)
    latitude = Decimal("38.400000")
    longitude = Decimal("116.000000")
    tariff_zone = "hebei_south"
    slot_count = 9

    @factory.post_generation
    def pack_standards(obj, create, extracted, **kwargs):
        if create:
            obj.pack_standards.set(extracted or [PackStandardFactory()])


class BayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bay

    station = factory.SubFactory(StationFactory)
    number = factory.Sequence(lambda n: n + 1)


def vin_for(serial: int) -> str:
    """A VIN with a valid check digit: LZZ (a Chinese WMI) + a serial."""
    body = f"LZZ5BLSJ0P{serial:07d}"
    return body[:8] + vin_check_digit(body) + body[9:]


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    plate = factory.Sequence(lambda n: f"冀J{n:05d}D")
    plate_kind = "new_energy_large"
    vin = factory.Sequence(vin_for)
    carrier = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.CARRIER)
    pack_standard = factory.SubFactory(PackStandardFactory)
    model_name = "XCMG E700"


class BatteryFactory(factory.django.DjangoModelFactory):
    """A charged battery in a station slot (pass ``vehicle=`` to put it in a vehicle)."""

    class Meta:
        model = Battery

    code = factory.Sequence(lambda n: f"CATPB28HBJ0001PA1{n:07d}")
    owner = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.BATTERY_OWNER)
    pack_standard = factory.SubFactory(PackStandardFactory)
    chemistry = "LFP"
    rated_kwh = Decimal("282.0")
    health_pct = Decimal("97.50")
    charge_pct = Decimal("95.00")
    energy_kwh = Decimal("267.900")
    cycle_count = 120
    location = BatteryLocation.STATION
    station = factory.SubFactory(StationFactory)
    station_slot = factory.Sequence(lambda n: n % 9 + 1)
