"""The demo corridor: the 10 stations of the Huanghua–Yuanping line and the parties around them.

``corridor_seed`` creates what is missing and leaves what exists alone, so a second run changes
nothing. Everything is deterministic (the same codes, plates and charge levels every time).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import CertificationStatus, LicenceClass, Membership, Organisation, OrganisationKind, Role, User
from apps.accounts.selectors.verification import is_verified
from apps.accounts.services import carriers as carrier_services
from apps.accounts.services import verification as verification_services
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, Vehicle, VehicleAssignment, VehicleSegment
from apps.billing import services as billing_services
from apps.billing.models import BatteryRate, StationTariff
from apps.billing.tou import LOCAL_TIME, Period
from apps.common.identifiers import id_check_character, normalize_plate, uscc_check_character, vin_check_digit
from apps.payments.models import SandboxIntent
from apps.payments.providers import sandbox
from apps.payments.providers.sandbox import SandboxProvider
from apps.payments.services import topups as topup_services
from apps.swaps import services as swap_services

CORRIDOR_FILE = Path(__file__).resolve().parent / "data" / "corridor.json"
DEMO_PASSWORD = "swapnet-demo"  # noqa: S105 - printed on purpose: it is the demo's
HEAVY_TRUCK_STANDARDS = {"HT-282-LFP", "HT-350-LFP", "HT-171-QIJI", "HT-141-LFP"}
PACKS_PER_VEHICLE = {"HT-171-QIJI": 3}
# The energy deposit per battery of each pack standard, in fen (estimates for the demo, about the
# price of the energy a full pack holds: heavy-truck packs ¥2,500-6,000, car packs ¥1,000-1,500).
ENERGY_DEPOSIT_FEN = {
    "HT-282-LFP": 500_000,
    "HT-350-LFP": 600_000,
    "HT-171-QIJI": 300_000,
    "HT-141-LFP": 250_000,
    "PC-75-NIO": 100_000,
    "PC-100-NIO": 150_000,
}


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    display_name: str
    role: str
    organisation: str
    station: str | None = None


ORGANISATIONS = [
    ("swapnet-platform", "换电网络平台", "swapnet platform", OrganisationKind.PLATFORM),
    ("hebei-swap-ops", "冀中换电运营（演示）", "Hebei Swap Operations (demo)", OrganisationKind.STATION_OPERATOR),
    ("shanxi-swap-ops", "晋北换电运营（演示）", "Shanxi Swap Operations (demo)", OrganisationKind.STATION_OPERATOR),
    ("north-battery-bank", "北方电池银行（演示）", "North Battery Bank (demo)", OrganisationKind.BATTERY_OWNER),
    ("taihang-battery-assets", "太行电池资产（演示）", "Taihang Battery Assets (demo)", OrganisationKind.BATTERY_OWNER),
    ("port-coal-logistics", "港煤物流车队（演示）", "Port Coal Logistics (demo)", OrganisationKind.CARRIER),
    ("jinbei-freight", "晋北货运（演示）", "Jinbei Freight (demo)", OrganisationKind.CARRIER),
]
# The Hebei stations belong to one operator, the Shanxi ones to another.
OPERATOR_BY_ZONE = {"hebei_south": "hebei-swap-ops", "shanxi": "shanxi-swap-ops"}

ACCOUNTS = [
    DemoAccount("13800000001", "平台管理员 王平", Role.PLATFORM_ADMIN, "swapnet-platform"),
    DemoAccount("13800000011", "冀中运营 李运", Role.OPERATOR_ADMIN, "hebei-swap-ops"),
    DemoAccount("13800000012", "晋北运营 赵营", Role.OPERATOR_ADMIN, "shanxi-swap-ops"),
    DemoAccount("13800000021", "电池银行 陈储", Role.OWNER_ADMIN, "north-battery-bank"),
    DemoAccount("13800000022", "太行资产 周能", Role.OWNER_ADMIN, "taihang-battery-assets"),
    DemoAccount("13800000031", "港煤车队 刘队", Role.CARRIER_ADMIN, "port-coal-logistics"),
    DemoAccount("13800000032", "晋北货运 孙调", Role.CARRIER_ADMIN, "jinbei-freight"),
    DemoAccount("13800000041", "司机 张师傅", Role.DRIVER, "port-coal-logistics"),
    DemoAccount("13800000042", "司机 马师傅", Role.DRIVER, "port-coal-logistics"),
    DemoAccount("13800000043", "司机 杨师傅", Role.DRIVER, "jinbei-freight"),
]
STAFF_PHONE_PREFIX = "138000005"

PLATFORM_ADMIN_PHONE = "13800000001"
# Carrier: (company name, the first 17 characters of its unified social credit code, admin).
DEMO_CERTIFICATIONS = {
    "port-coal-logistics": ("沧州港煤物流有限公司（演示）", "91130983MA0DEM001", "13800000031"),
    "jinbei-freight": ("忻州晋北货运有限公司（演示）", "91140981MA0DEM002", "13800000032"),
}
# Driver: (legal name, the first 17 digits of a made-up resident ID number: region, birth, sequence).
DEMO_DRIVERS = {
    "13800000041": ("张建国", "13098319820314061"),
    "13800000042": ("马志强", "13098419870922153"),
    "13800000043": ("杨海平", "14098119790601087"),
}
OPERATOR_ADMIN_PHONES = {"hebei-swap-ops": {"13800000011"}, "shanxi-swap-ops": {"13800000012"}}
OWNER_ADMIN_PHONES = {"north-battery-bank": {"13800000021"}, "taihang-battery-assets": {"13800000022"}}
# Usage fees per kWh delivered (corridor.json: 0.25–0.45 CNY/kWh of throughput).
DEMO_BATTERY_RATES = {"north-battery-bank": Decimal("0.30"), "taihang-battery-assets": Decimal("0.35")}
# Each demo carrier's wallet starts with one sandbox top-up (¥30,000: about 60 truck swaps).
DEMO_OPENING_TOP_UPS = {"port-coal-logistics": "13800000031", "jinbei-freight": "13800000032"}
DEMO_OPENING_TOP_UP_FEN = 3_000_000
TARIFFS_FROM = datetime(2025, 1, 1, tzinfo=LOCAL_TIME)
PERIODS = [period.value for period in Period]

# (plate, carrier, pack standard, driver's phone or None)
TRUCKS = [
    ("冀J10001D", "port-coal-logistics", "HT-282-LFP", "13800000041"),
    ("冀J10002D", "port-coal-logistics", "HT-282-LFP", "13800000042"),
    ("冀J10003D", "port-coal-logistics", "HT-282-LFP", None),
    ("冀J10004D", "port-coal-logistics", "HT-350-LFP", None),
    ("晋H20001D", "jinbei-freight", "HT-350-LFP", "13800000043"),
    ("晋H20002D", "jinbei-freight", "HT-282-LFP", None),
]


def corridor_data() -> dict[str, Any]:
    with CORRIDOR_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _battery_code(spec_code: str, site: str, number: int) -> str:
    """A GB/T 34014 code: maker SWB, pack (P), LFP (B), spec, site + number, made 2024-03-15."""
    spec = spec_code.split("-")[1][:2]
    return f"SWBPB{spec}{site}{number:04d}R3F{number:07d}"


def _vin(number: int) -> str:
    body = f"LSWHT2B4X{number:08d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def _battery_state(rng: random.Random, rated_kwh: Decimal, *, charge_range: tuple[int, int]) -> dict[str, Any]:
    charge = Decimal(rng.randint(*charge_range))
    health = Decimal(rng.randint(880, 995)) / 10
    usable = rated_kwh * health / 100
    return {
        "charge_pct": charge,
        "health_pct": health,
        "energy_kwh": (usable * charge / 100).quantize(Decimal("0.001")),
        "cycle_count": rng.randint(80, 1400),
        "temperature_c": Decimal(rng.randint(180, 320)) / 10,
    }


@dataclass
class SeedReport:
    created: dict[str, int]

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def corridor_seed(*, progress: Callable[[Iterator[Any], int, str], Iterator[Any]] | None = None) -> SeedReport:
    """Create the demo corridor where it is missing; existing rows are left untouched."""
    data = corridor_data()
    created: dict[str, int] = {}

    def count(model: str, was_created: bool) -> None:
        created[model] = created.get(model, 0) + int(was_created)

    def count_many(model: str, number: int) -> None:
        created[model] = created.get(model, 0) + number

    def steps(items: list[Any], label: str) -> Iterator[Any]:
        return progress(iter(items), len(items), label) if progress else iter(items)

    with transaction.atomic():
        standards: dict[str, PackStandard] = {}
        for spec in steps(data["pack_specs"], "pack standards"):
            segment = VehicleSegment.HEAVY_TRUCK if spec["id"] in HEAVY_TRUCK_STANDARDS else VehicleSegment.CAR
            standards[spec["id"]], was = PackStandard.objects.get_or_create(
                code=spec["id"],
                defaults={
                    "name": spec["segment"],
                    "segment": segment,
                    "rated_kwh": Decimal(str(spec["capacity_kwh"])),
                    "nominal_voltage_v": spec.get("nominal_voltage_v"),
                    "chemistry": spec["chemistry"][:20],
                    "packs_per_vehicle": PACKS_PER_VEHICLE.get(spec["id"], 1),
                    "cycle_life": spec.get("cycle_life_to_80pct") or 4000,
                    "energy_deposit_fen": ENERGY_DEPOSIT_FEN.get(spec["id"], settings.SWAP_ENERGY_DEPOSIT_FEN),
                },
            )
            count("pack standards", was)

        organisations: dict[str, Organisation] = {}
        for code, name, name_en, kind in ORGANISATIONS:
            organisations[code], was = Organisation.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en, "kind": kind}
            )
            count("organisations", was)

        stations: list[Station] = []
        owners = [organisations["north-battery-bank"], organisations["taihang-battery-assets"]]
        for index, entry in enumerate(steps(data["stations"], "stations")):
            station, was = Station.objects.get_or_create(
                code=entry["code"],
                defaults={
                    "name_zh": entry["name_zh"],
                    "name_en": entry["name_en"],
                    "operator": organisations[OPERATOR_BY_ZONE[entry["tariff_zone"]]],
                    "latitude": Decimal(str(entry["lat"])).quantize(Decimal("0.000001")),
                    "longitude": Decimal(str(entry["lon"])).quantize(Decimal("0.000001")),
                    "road": entry["road"][:80],
                    "address": entry["name_zh"],
                    "km_from_start": entry["km_from_start"],
                    "tariff_zone": entry["tariff_zone"],
                    # One slot more than packs: a swap needs a free slot for the returned pack.
                    "slot_count": entry["battery_stock"] + 1,
                },
            )
            count("stations", was)
            if was:
                station.pack_standards.set([standards[entry["pack_type"]]])
            stations.append(station)
            for number in range(1, entry["bays"] + 1):
                count("bays", Bay.objects.get_or_create(station=station, number=number)[1])

            rng = random.Random(entry["code"])  # noqa: S311 - demo data, not security
            standard = standards[entry["pack_type"]]
            for slot in range(1, entry["battery_stock"] + 1):
                code = _battery_code(standard.code, entry["site"], 100 * index + slot)
                if Battery.objects.filter(code=code).exists():
                    continue
                Battery.objects.create(
                    code=code,
                    owner=owners[slot % 2],
                    pack_standard=standard,
                    chemistry="LFP",
                    rated_kwh=standard.rated_kwh,
                    location=BatteryLocation.STATION,
                    station=station,
                    station_slot=slot,
                    telemetry_at=timezone.now(),
                    **_battery_state(rng, standard.rated_kwh, charge_range=(55, 100)),
                )
                count("batteries", True)

        people: dict[str, User] = {}
        staff = _staff_accounts([(station.code, station.operator.code) for station in stations])
        for account in steps([*ACCOUNTS, *staff], "people"):
            user = User.objects.filter(phone=account.phone).first()
            if user is None:
                user = User.objects.create_user(
                    account.phone,
                    DEMO_PASSWORD,
                    display_name=account.display_name,
                    is_staff=account.role in (Role.PLATFORM_ADMIN, Role.OPERATOR_ADMIN, Role.OWNER_ADMIN, Role.CARRIER_ADMIN),
                )
                count("users", True)
            people[account.phone] = user
            station_obj = next((s for s in stations if s.code == account.station), None)
            _, was = Membership.objects.get_or_create(
                user=user, organisation=organisations[account.organisation], role=account.role, station=station_obj
            )
            count("memberships", was)

        rng = random.Random("trucks")  # noqa: S311 - demo data
        for number, (plate, carrier, standard_code, driver_phone) in enumerate(steps(TRUCKS, "trucks"), start=1):
            standard = standards[standard_code]
            vehicle, was = Vehicle.objects.get_or_create(
                plate=plate,
                defaults={
                    "plate_kind": normalize_plate(plate, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS).kind,
                    "vin": _vin(number),
                    "carrier": organisations[carrier],
                    "pack_standard": standard,
                    "model_name": "49 t battery-swap tractor",
                },
            )
            count("vehicles", was)
            if driver_phone:
                count("assignments", VehicleAssignment.objects.get_or_create(vehicle=vehicle, driver=people[driver_phone])[1])
            code = _battery_code(standard.code, "VEH", number)
            if not Battery.objects.filter(code=code).exists():
                Battery.objects.create(
                    code=code,
                    owner=owners[number % 2],
                    pack_standard=standard,
                    chemistry="LFP",
                    rated_kwh=standard.rated_kwh,
                    location=BatteryLocation.VEHICLE,
                    vehicle=vehicle,
                    vehicle_position=1,
                    **_battery_state(rng, standard.rated_kwh, charge_range=(15, 45)),
                )
                count("batteries", True)

        platform_admin = Actor.of(people[PLATFORM_ADMIN_PHONE])
        for carrier_code, (company, credit_body, admin_phone) in DEMO_CERTIFICATIONS.items():
            count(
                "certifications",
                _demo_certification(organisations[carrier_code], company, credit_body, people[admin_phone], platform_admin),
            )
        for phone, (legal_name, id_body) in steps(list(DEMO_DRIVERS.items()), "verifications"):
            count("verifications", _demo_verification(people[phone], legal_name, id_body, platform_admin))

        count_many("calendar versions", billing_services.corridor_calendars_load())
        for station in steps(stations, "tariffs"):
            count("tariffs", _demo_tariff(station, data, people))
        for owner_code, default_rate in DEMO_BATTERY_RATES.items():
            count("battery rates", _demo_battery_rate(organisations[owner_code], default_rate, people))
        # One controller key per station, for the stand-in controllers (manage.py simulate_controllers).
        for station in stations:
            count("controller keys", swap_services.controller_key_ensure(station=station)[1])

    # After the commit above: the sandbox delivers its payment event once the payment commits.
    for carrier_code, admin_phone in DEMO_OPENING_TOP_UPS.items():
        count("wallet top-ups", _demo_top_up(organisations[carrier_code], people[admin_phone]))
    return SeedReport(created=created)


def _demo_top_up(carrier: Organisation, admin: User) -> bool:
    """Money in the carrier's wallet, so the demo's drivers can swap: a top-up paid through the
    sandbox provider like any other (a Stripe account is never charged by the seed)."""
    if not settings.PAYMENT_SANDBOX_ENABLED:
        return False
    top_up = topup_services.topup_create(
        actor=Actor.of(admin),
        organisation=carrier,
        amount_fen=DEMO_OPENING_TOP_UP_FEN,
        request_key="demo-opening-top-up",
        provider=SandboxProvider(),
    )
    paid = SandboxIntent.objects.filter(intent_id=top_up.provider_intent_id).exclude(status__in=sandbox.OPEN_STATUSES)
    if top_up.provider_intent_id is None or paid.exists():
        return False
    sandbox.intent_pay(intent_id=top_up.provider_intent_id)
    return True


def _demo_certification(carrier: Organisation, company: str, credit_body: str, admin: User, platform_admin: Actor) -> bool:
    """The carrier applies with its credit code and the platform approves: certified."""
    if carrier.certification_status == CertificationStatus.CERTIFIED:
        return False
    application = carrier_services.certification_apply(
        actor=Actor.of(admin),
        carrier=carrier,
        company_name=company,
        credit_code=credit_body + uscc_check_character(credit_body),
        contact_name=admin.display_name,
        contact_phone=admin.phone,
    )
    carrier_services.certification_approve(actor=platform_admin, certification=application)
    return True


def _demo_verification(driver: User, legal_name: str, id_body: str, platform_admin: Actor) -> bool:
    """A driver's real-name details (an A2 tractor-trailer licence), approved by the platform."""
    if is_verified(user=driver):
        return False
    id_number = id_body + id_check_character(id_body)
    submission = verification_services.verification_submit(
        user=driver,
        legal_name=legal_name,
        id_number=id_number,
        licence_number=id_number,  # a Chinese driving licence carries the ID number
        licence_class=LicenceClass.A2,
        licence_expires_on=date(2031, 6, 30),
    )
    verification_services.verification_approve(actor=platform_admin, verification=submission)
    return True


def _demo_tariff(station: Station, data: dict[str, Any], people: dict[str, User]) -> bool:
    """The zone's indicative flat price × its time-of-use multipliers, plus the demo service fee."""
    if StationTariff.objects.filter(station=station).exists():
        return False
    zone = data["tou_schedule"][station.tariff_zone]
    multipliers = {**zone["multipliers"], **zone.get("from_2026_05_01", {}).get("multipliers", {})}
    flat = Decimal(str(zone["indicative_prices_cny_per_kwh"]["flat"]))
    prices = {
        period: (flat * Decimal(str(multipliers.get(period, multipliers["valley"])))).quantize(Decimal("0.0001"))
        for period in PERIODS
    }
    operator_admin = next(user for phone, user in people.items() if phone in OPERATOR_ADMIN_PHONES[station.operator.code])
    billing_services.station_tariff_set(
        actor=Actor.of(operator_admin),
        station=station,
        energy_prices=prices,
        service_fee_per_kwh=Decimal(str(data["pricing"]["heavy_truck_demo_defaults"]["swap_service_fee_cny_per_kwh"])),
        effective_from=TARIFFS_FROM,
        check_effective=False,
    )
    return True


def _demo_battery_rate(owner: Organisation, rate: Decimal, people: dict[str, User]) -> bool:
    if BatteryRate.objects.filter(owner=owner).exists():
        return False
    owner_admin = next(user for phone, user in people.items() if phone in OWNER_ADMIN_PHONES[owner.code])
    billing_services.battery_rate_set(
        actor=Actor.of(owner_admin), owner=owner, fee_per_kwh=rate, effective_from=TARIFFS_FROM, check_effective=False
    )
    return True


def demo_accounts() -> list[DemoAccount]:
    """Everyone the demo can log in as (all with ``DEMO_PASSWORD``)."""
    codes = [entry["code"] for entry in corridor_data()["stations"]]
    operators = dict(Station.objects.filter(code__in=codes).values_list("code", "operator__code"))
    return [*ACCOUNTS, *_staff_accounts([(code, operators[code]) for code in codes if code in operators])]


def _staff_accounts(stations: list[tuple[str, str]]) -> list[DemoAccount]:
    """One member of staff per station, in corridor order: 13800000501, 13800000502, ..."""
    return [
        DemoAccount(f"{STAFF_PHONE_PREFIX}{index:02d}", f"站务 {code}", Role.STATION_STAFF, operator, code)
        for index, (code, operator) in enumerate(stations, start=1)
    ]
