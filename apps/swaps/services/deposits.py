"""Energy deposits (PRODUCT.md, "Money movement"): a vehicle that first takes a network battery,
with no battery of its own to return, pays for all the energy in it and a deposit; the deposit is
held while the vehicle carries a network battery and released when it leaves the network and
hands the battery back.

- At scan (``services.scan``) the order's ``deposit_fen`` is the vehicle's pack standard's
  ``energy_deposit_fen``, and the hold covers the quote plus the deposit.
- At completion (``deposit_take``, in the completion's transaction, after the hold was captured
  for the bill and the rest released to the wallet) the deposit moves from the carrier's wallet to
  its energy-deposit account (``energy_deposit_take``, under an id derived from the order: a
  replayed report never takes it twice), and an ``EnergyDeposit`` row records it. It is not part
  of the bill. Should the bill have grown past the quote so far that the wallet no longer covers
  the whole deposit, what the wallet has is taken and the order is flagged for review. A vehicle
  holds at most one deposit: one whose deposit is still held (its battery gone by another way)
  deposits nothing more.
- When the vehicle leaves the network (``vehicle_leave``), staff of a station that takes its pack
  standard (its operator admins, or the platform) take its battery back into a free slot without
  handing one out: the battery goes into the slot (a ``returned`` custody event with its energy,
  as after a swap), the vehicle carries none, and the deposit goes back to the wallet
  (``energy_deposit_release``, under an id derived from the deposit).

Refusals of ``vehicle_leave`` change nothing: ``vehicle_not_found`` (404: no such plate),
``vehicle_incompatible``, ``order_active``, ``vehicle_carries_no_battery``,
``battery_not_in_vehicle``, ``deposit_not_held``, ``slot_invalid``, ``slot_occupied``,
``reading_out_of_range``.

Locks, in the fixed order: the payer's wallet accounts, the order (completion) or the deposit
row (release), then the battery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.assets.models import Battery, BatteryLocation, Station, Vehicle
from apps.common.identifiers import InvalidIdentifier, normalize_plate
from apps.common.money import kwh
from apps.ledger.models import Account, AccountPurpose
from apps.ledger.services import energy_deposit_release, energy_deposit_take
from apps.swaps.errors import forbidden, refusal
from apps.swaps.models import ACTIVE_STATES, BatteryCustodyEvent, CustodyKind, EnergyDeposit, SwapOrder
from apps.swaps.services.locks import lock_batteries, lock_payer

# A reading may exceed the battery's rating by this much (as for a swap's report).
RATING_TOLERANCE = Decimal("1.05")
HUNDRED = Decimal(100)


def deposit_take_external_id(order: SwapOrder) -> str:
    return f"swap-order:{order.pk}:energy-deposit"


def deposit_release_external_id(deposit: EnergyDeposit) -> str:
    return f"energy-deposit:{deposit.pk}:release"


def _wallet_available(carrier_id: int) -> int | None:
    """What the payer's wallet has above its floor now (None: no floor)."""
    wallet = Account.objects.filter(organisation_id=carrier_id, purpose=AccountPurpose.WALLET).first()
    if wallet is None:
        return 0
    if wallet.floor_fen is None:
        return None
    return max(wallet.balance_fen - wallet.floor_fen, 0)


def deposit_take(order: SwapOrder, *, at: datetime) -> EnergyDeposit | None:
    """Take the order's deposit from the carrier's wallet, once: in the completion's transaction,
    after the bill was paid from the hold (whose rest is back in the wallet). Returns the deposit
    (None when the order takes none, or the wallet has nothing left for it). May flag the order
    for review (the caller saves ``review_required`` and ``review_reason``)."""
    if order.deposit_fen <= 0:
        return None
    existing = EnergyDeposit.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if EnergyDeposit.objects.filter(vehicle_id=order.vehicle_id, released_at__isnull=True).exists():
        return None  # the vehicle's deposit is held already (one per vehicle): the hold's share went back
    available = _wallet_available(order.carrier_id)
    amount = order.deposit_fen if available is None else min(order.deposit_fen, available)
    if amount < order.deposit_fen:
        note = f"energy deposit: {amount} of {order.deposit_fen} fen taken (the bill used the rest of the hold)"
        order.review_required = True
        order.review_reason = f"{order.review_reason}; {note}"[:200] if order.review_reason else note
    if amount <= 0:
        return None
    taken = energy_deposit_take(
        external_id=deposit_take_external_id(order),
        payer=order.carrier,
        amount_fen=amount,
        reference=f"swap order {order.pk}",
    )
    return EnergyDeposit.objects.create(
        carrier_id=order.carrier_id,
        vehicle_id=order.vehicle_id,
        order=order,
        amount_fen=amount,
        taken_at=at,
        take_transaction=taken,
    )


@dataclass(frozen=True)
class Leaving:
    """A vehicle that left the network: the battery handed back, where, and the deposit released."""

    deposit: EnergyDeposit
    battery: Battery
    station: Station
    slot: int
    event: BatteryCustodyEvent


def _vehicle(plate: str) -> Vehicle:
    try:
        canonical = normalize_plate(plate, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS).number
    except InvalidIdentifier:
        raise refusal("plate_invalid", fields={"plate": [refusal("plate_invalid").message]}) from None
    vehicle = Vehicle.objects.select_related("carrier", "pack_standard").filter(plate=canonical).first()
    if vehicle is None:
        raise refusal("vehicle_not_found")
    return vehicle


def _charge_pct(battery: Battery, energy: Decimal, reported: Decimal | None) -> Decimal:
    if reported is not None:
        return min(max(reported, Decimal(0)), HUNDRED).quantize(Decimal("0.01"))
    usable = battery.rated_kwh * battery.health_pct / HUNDRED
    if usable <= 0:
        return battery.charge_pct
    return min(energy / usable * HUNDRED, HUNDRED).quantize(Decimal("0.01"))


def vehicle_leave(
    *,
    actor: Actor,
    station: Station,
    plate: str,
    battery_code: str,
    slot: int,
    energy_kwh: Decimal,
    soc_pct: Decimal | None = None,
) -> Leaving:
    """Staff take a leaving vehicle's network battery back into a free slot of their station,
    handing none out; the vehicle's energy deposit goes back to the carrier's wallet."""
    if not swap_access.may_take_back_battery(actor, station):
        raise forbidden()
    assert actor.user_id is not None
    vehicle = _vehicle(plate)
    if not station.pack_standards.filter(pk=vehicle.pack_standard_id).exists():
        raise refusal("vehicle_incompatible")
    if not 1 <= slot <= station.slot_count:
        raise refusal("slot_invalid", fields={"slot": [f"1-{station.slot_count}"]})
    now = timezone.now()
    with transaction.atomic():
        lock_payer(vehicle.carrier_id)
        if SwapOrder.objects.filter(vehicle=vehicle, state__in=ACTIVE_STATES).exists():
            raise refusal("order_active")
        carried = list(Battery.objects.filter(vehicle=vehicle, location=BatteryLocation.VEHICLE).values_list("pk", "code"))
        if not carried:
            raise refusal("vehicle_carries_no_battery")
        code = battery_code.strip().upper()
        battery_id = next((pk for pk, carried_code in carried if carried_code == code), None)
        if battery_id is None:
            raise refusal("battery_not_in_vehicle")
        deposit = EnergyDeposit.objects.select_for_update().filter(vehicle=vehicle, released_at__isnull=True).first()
        if deposit is None:
            raise refusal("deposit_not_held")
        battery = lock_batteries([battery_id])[battery_id]
        if battery.location != BatteryLocation.VEHICLE or battery.vehicle_id != vehicle.pk:
            raise refusal("battery_not_in_vehicle")
        if not Decimal(0) <= energy_kwh <= battery.rated_kwh * RATING_TOLERANCE:
            raise refusal("reading_out_of_range", fields={"energy_kwh": [f"0-{battery.rated_kwh * RATING_TOLERANCE}"]})
        if Battery.objects.filter(station=station, station_slot=slot).exists():
            raise refusal("slot_occupied")
        try:
            with transaction.atomic():
                battery.location, battery.vehicle, battery.vehicle_position = BatteryLocation.STATION, None, None
                battery.station, battery.station_slot = station, slot
                battery.charge_pct = _charge_pct(battery, energy_kwh, soc_pct)
                battery.energy_kwh, battery.telemetry_at = kwh(energy_kwh), now
                battery.cycle_count += 1
                battery.save(
                    update_fields=[
                        "location",
                        "station",
                        "station_slot",
                        "vehicle",
                        "vehicle_position",
                        "energy_kwh",
                        "charge_pct",
                        "telemetry_at",
                        "cycle_count",
                        "updated_at",
                    ]
                )
        except IntegrityError:
            raise refusal("slot_occupied") from None  # another battery took the slot meanwhile
        event = BatteryCustodyEvent.objects.create(
            battery=battery,
            kind=CustodyKind.RETURNED,
            at=now,
            station=station,
            station_slot=slot,
            energy_kwh=kwh(energy_kwh),
        )
        released = energy_deposit_release(
            external_id=deposit_release_external_id(deposit),
            payer=vehicle.carrier,
            amount_fen=deposit.amount_fen,
            reference=f"vehicle {vehicle.plate} left the network at {station.code}",
        )
        deposit.released_at, deposit.release_transaction, deposit.released_by_id = now, released, actor.user_id
        deposit.returned_battery, deposit.returned_station = battery, station
        deposit.save(
            update_fields=[
                "released_at",
                "release_transaction",
                "released_by",
                "returned_battery",
                "returned_station",
                "updated_at",
            ]
        )
        return Leaving(deposit=deposit, battery=battery, station=station, slot=slot, event=event)
