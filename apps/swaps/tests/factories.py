"""A swap world for tests: a certified carrier with money, a verified driver and their truck, an
online station with charged batteries, tariffs, rates, contracts and a controller key."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import Actor
from apps.accounts.models import (
    CertificationStatus,
    LicenceClass,
    Organisation,
    OrganisationKind,
    RealNameVerification,
    Role,
    User,
    VerificationStatus,
)
from apps.accounts.personal_data import encrypt, lookup_hash
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import Battery, BatteryLocation, Bay, Station, Vehicle, VehicleAssignment
from apps.assets.tests.factories import BatteryFactory, PackStandardFactory, StationFactory, VehicleFactory
from apps.billing import services as billing_services
from apps.billing.models import BatteryRate, ChargingInterval, StationTariff
from apps.billing.tou import LOCAL_TIME
from apps.ledger import services as ledger_services
from apps.ledger.models import AccountPeriod, Contract
from apps.swaps import qr
from apps.swaps.controller_auth import signed_headers
from apps.swaps.models import BatteryCustodyEvent, ControllerCredential, CustodyKind, SwapOrder
from apps.swaps.services import SwapReading, queue_call_next, swap_confirm, swap_report, swap_scan
from apps.swaps.services.control import _credential_create

_ids = itertools.count(1)
PRICES = {
    "price_sharp": Decimal("1.2648"),
    "price_peak": Decimal("1.0540"),
    "price_flat": Decimal("0.6200"),
    "price_valley": Decimal("0.1860"),
    "price_deep_valley": Decimal("0.1488"),
}
FROM = datetime(2025, 1, 1, tzinfo=LOCAL_TIME)


def verified_driver(
    carrier: Organisation, *, licence_class: str = LicenceClass.A2, expires: date | None = None, **fields: Any
) -> User:
    """A driver of ``carrier`` whose real-name verification is approved."""
    driver = member(Role.DRIVER, carrier, **fields)
    n = next(_ids)
    id_number = f"11010519491231{n:03d}X"
    RealNameVerification.objects.create(
        user=driver,
        legal_name=f"司机{n}",
        id_number_encrypted=encrypt(id_number),
        id_number_hash=lookup_hash(id_number),
        id_number_masked=f"{id_number[:4]}**********{id_number[-4:]}",
        licence_number_encrypted=encrypt(id_number),
        licence_number_masked=f"{id_number[:4]}**********{id_number[-4:]}",
        licence_class=licence_class,
        licence_expires_on=expires or date(2031, 6, 30),
        status=VerificationStatus.VERIFIED,
    )
    return driver


def top_up(carrier: Organisation, amount_fen: int) -> None:
    ledger_services.wallet_top_up(external_id=f"test-top-up-{next(_ids)}", payer=carrier, amount_fen=amount_fen)


@dataclass
class SwapWorld:
    platform: Organisation
    operator: Organisation
    owner: Organisation
    carrier: Organisation
    station: Station
    bay: Bay
    printed_bay: Bay
    stock: list[Battery]
    vehicle: Vehicle
    vehicle_battery: Battery
    driver: User
    credential: ControllerCredential
    secret: str
    users: dict[str, User] = field(default_factory=dict)

    def token(self, *, bay: Bay | None = None, now: datetime | None = None) -> str:
        return qr.screen_token_issue(bay_id=(bay or self.bay).pk, now=now or timezone.now()).token

    def printed_token(self) -> str:
        return qr.printed_token_issue(bay_id=self.printed_bay.pk).token

    def add_driver(
        self, *, wallet_carrier: Organisation | None = None, plate_battery_kwh: Decimal = Decimal("60.000")
    ) -> tuple[User, Vehicle]:
        """Another verified driver of the carrier with their own truck (carrying a battery)."""
        carrier = wallet_carrier or self.carrier
        driver = verified_driver(carrier)
        vehicle = VehicleFactory(carrier=carrier)
        VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
        battery = vehicle_battery(vehicle, owner=self.owner, energy=plate_battery_kwh)
        handed_out(battery, vehicle, Decimal("250.000"))
        return driver, vehicle

    def controller(self) -> ControllerClient:
        return ControllerClient(self.credential.key_id, self.secret)


def vehicle_battery(vehicle: Vehicle, *, owner: Organisation, energy: Decimal) -> Battery:
    return BatteryFactory(
        owner=owner,
        location=BatteryLocation.VEHICLE,
        station=None,
        station_slot=None,
        vehicle=vehicle,
        vehicle_position=1,
        energy_kwh=energy,
        charge_pct=Decimal("22.00"),
    )


def handed_out(battery: Battery, vehicle: Vehicle, energy: Decimal, *, at: datetime | None = None) -> BatteryCustodyEvent:
    return BatteryCustodyEvent.objects.create(
        battery=battery,
        kind=CustodyKind.DELIVERED,
        at=at or timezone.now() - timedelta(days=1),
        vehicle=vehicle,
        vehicle_position=1,
        energy_kwh=energy,
    )


def swap_world(*, stock: int = 2, wallet_fen: int = 500_000, commission: Decimal | None = Decimal("0.05")) -> SwapWorld:
    standard = PackStandardFactory()
    platform = OrganisationFactory(kind=OrganisationKind.PLATFORM)
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER, certification_status=CertificationStatus.CERTIFIED)
    station = StationFactory(operator=operator, pack_standards=[standard], last_heartbeat_at=timezone.now(), slot_count=stock + 2)
    bay = Bay.objects.create(station=station, number=1)
    printed_bay = Bay.objects.create(station=station, number=2, has_screen=False)
    billing_services.corridor_calendars_load()
    StationTariff.objects.create(station=station, effective_from=FROM, service_fee_per_kwh=Decimal("0.45"), **PRICES)
    BatteryRate.objects.create(owner=owner, fee_per_kwh=Decimal("0.30"), effective_from=FROM)
    if commission is not None:
        for party in (operator, owner):
            Contract.objects.create(
                platform=platform,
                party=party,
                commission_rate=commission,
                account_period=AccountPeriod.DAILY,
                payment_terms_days=1,
                effective_from=date(2025, 1, 1),
            )
    batteries = [
        BatteryFactory(
            owner=owner, station=station, station_slot=slot, energy_kwh=Decimal("267.900") - slot, charge_pct=Decimal("95.00")
        )
        for slot in range(1, stock + 1)
    ]
    for battery in batteries:
        ChargingInterval.objects.create(
            battery=battery,
            station=station,
            started_at=datetime(2025, 3, 10, 12, 0, tzinfo=LOCAL_TIME),
            ended_at=datetime(2025, 3, 10, 14, 0, tzinfo=LOCAL_TIME),
            kwh=Decimal("150.000"),
        )
    vehicle = VehicleFactory(carrier=carrier, pack_standard=standard)
    carried = vehicle_battery(vehicle, owner=owner, energy=Decimal("60.000"))
    handed_out(carried, vehicle, Decimal("250.000"))
    driver = verified_driver(carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
    if wallet_fen:
        top_up(carrier, wallet_fen)
    made = _credential_create(station=station, created_by_id=None)
    users = {
        "staff": member(Role.STATION_STAFF, operator, station=station),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "owner_admin": member(Role.OWNER_ADMIN, owner),
        "platform_admin": member(Role.PLATFORM_ADMIN, platform),
    }
    return SwapWorld(
        platform=platform,
        operator=operator,
        owner=owner,
        carrier=carrier,
        station=station,
        bay=bay,
        printed_bay=printed_bay,
        stock=batteries,
        vehicle=vehicle,
        vehicle_battery=carried,
        driver=driver,
        credential=made.credential,
        secret=made.secret,
        users=users,
    )


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


class ControllerClient:
    """Signed requests of a station controller, through Django's test client."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret
        self.client = APIClient()

    def get(self, path: str, **headers: str) -> Any:
        signed = signed_headers(key_id=self.key_id, secret=self.secret, method="GET", path=path, body=b"")
        return self.client.get(path, headers={**signed, **headers})

    def post(self, path: str, data: Any, **headers: str) -> Any:
        body = json.dumps(data, default=str).encode()
        signed = signed_headers(key_id=self.key_id, secret=self.secret, method="POST", path=path, body=body)
        return self.client.generic("POST", path, body, content_type="application/json", headers={**signed, **headers})


def scanned(world: SwapWorld, *, driver: User | None = None, vehicle: Vehicle | None = None) -> SwapOrder:
    """A queued order of the world's (or the given) driver, through the scan service."""
    actor = Actor.of(driver or world.driver)
    return swap_scan(actor=actor, qr_payload=world.token(), plate=(vehicle or world.vehicle).plate).order


def advanced(world: SwapWorld, state: str, **who: Any) -> SwapOrder:
    """An order moved through the real services up to ``state`` (queued, called, swapping, completed)."""
    order = scanned(world, **who)
    staff = Actor.of(world.users["staff"])
    if state in ("called", "swapping", "completed"):
        queue_call_next(actor=staff, station=world.station)
    if state in ("swapping", "completed"):
        swap_confirm(actor=staff, order=order)
    if state == "completed":
        swap_report(credential=world.credential, order=order, reading=reading_for(order), payload={"test": order.pk})
    order.refresh_from_db()
    assert order.state == state, order.state
    return order


def reading_for(order: SwapOrder, **changes: Any) -> SwapReading:
    """Plausible readings for the order's swap: B as reserved, A back with 55.5 kWh."""
    order.refresh_from_db()
    now = timezone.now()
    values: dict[str, Any] = {
        "delivered_battery": order.reserved_battery.code,
        "returned_battery": order.expected_return_battery.code if order.expected_return_battery else None,
        "delivered_kwh": order.reserved_battery.energy_kwh - Decimal("1.000"),
        "returned_kwh": Decimal("55.500"),
        "started_at": now - timedelta(minutes=2),
        "ended_at": now,
    }
    values.update(changes)
    return SwapReading(**values)


def report_body(reading: SwapReading) -> dict[str, Any]:
    body: dict[str, Any] = {
        "delivered_battery": reading.delivered_battery,
        "returned_battery": reading.returned_battery,
        "delivered_kwh": str(reading.delivered_kwh),
        "returned_kwh": str(reading.returned_kwh),
        "started_at": reading.started_at.isoformat(),
        "ended_at": reading.ended_at.isoformat(),
    }
    if reading.delivered_temperature_c is not None:
        body["delivered_temperature_c"] = str(reading.delivered_temperature_c)
    return body
