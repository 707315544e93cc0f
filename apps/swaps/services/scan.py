"""Scan-to-swap: a driver scans a bay's QR code with a vehicle's plate and gets a queued order,
or the first check that failed.

The checks, in this order (the first failure is answered; a refusal changes nothing):

 0. the QR token: ``qr_invalid`` (400: malformed, tampered, unknown bay, issued in the future),
    ``qr_expired`` (410: a screen token past its lifetime), ``qr_used`` (409: its order exists);
    or a typed bay code ``<station code>-<bay number>`` (``qr.typed_code_parse``), treated like the
    bay's printed code: ``bay_code_unknown`` (400) when no bay has it;
    the plate: ``plate_invalid`` (400);
 1. the driver's real-name verification is approved: ``driver_not_verified``;
 2. the carrier that would pay (the vehicle's, if the driver drives for it; else any of the
    driver's) is certified: ``carrier_not_certified``;
 3. the vehicle is in the driver's fleet and assigned to them: ``vehicle_not_assigned`` (a
    vehicle that does not exist answers the same);
 4. the driver's licence covers the vehicle: ``licence_class_insufficient``, and is in date:
    ``licence_expired``;
 5. the station takes the vehicle's pack standard: ``vehicle_incompatible``;
 6. the station is online (a controller heartbeat within ``SWAPNET_STATION_OFFLINE_AFTER_S``):
    ``station_offline``; open now (status and opening hours): ``station_closed``; the bay is in
    service: ``bay_out_of_service``;
 7. a battery of that standard is in the station's slots, charged to
    ``SWAPNET_BATTERY_READY_MIN_CHARGE_PCT``, not too hot, without a fault, not held by another
    order: ``no_battery_available``;
 8. neither the driver nor the vehicle has an active order: ``order_active``;
 9. the quote is within the driver's limits in the carrier: ``limit_per_swap_exceeded``, and with
    the day's other orders ``limit_per_day_exceeded``;
10. the pre-billing hold of the quote on the carrier's wallet: ``insufficient_funds``,
    ``debt_outstanding`` (402, from the ledger). A vehicle that carries no battery to return
    (its first network battery) pays for all the energy in it and an energy deposit (its pack
    standard's ``energy_deposit_fen``): the hold covers the quote plus the deposit, which the
    order keeps as ``deposit_fen`` (the spending limits apply to the quote alone: a deposit is
    not spent; completion takes it, ``services.deposits``).

Then, in the same transaction: the order is inserted (``requested``) holding the battery, the hold
placed, the quote stored as lines, and the order ``queued``. Races are settled by the database:
a QR nonce, a battery, a driver and a vehicle each have a unique index over the orders that hold
them; the loser of a race on the nonce gets ``qr_used``, on the driver or vehicle
``order_active``, and on a battery tries the next one, then ``no_battery_available``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.access import Actor
from apps.accounts.licences import licence_allows
from apps.accounts.models import Membership, Organisation, RealNameVerification, Role, User, VerificationStatus
from apps.accounts.selectors.carriers import carrier_may_swap
from apps.assets.models import Battery, Bay, BayStatus, Station, Vehicle, VehicleAssignment
from apps.assets.selectors import VEHICLE_COLUMNS, vehicle_from_row
from apps.common.compiled import CompiledRead, concrete_columns, instance_at
from apps.common.identifiers import InvalidIdentifier, normalize_plate
from apps.ledger.services import hold_place
from apps.recommend.services import recommendation_outcome_record
from apps.swaps import qr, selectors
from apps.swaps.errors import forbidden, refusal
from apps.swaps.models import ACTIVE_STATES, EnergyDeposit, LineStage, OrderLine, OrderState, OrderTransition, QrKind, SwapOrder
from apps.swaps.services.billing import PricedSwap, lines_store, swap_price
from apps.swaps.services.transitions import By, record_many

# How many candidate batteries a scan tries when others win the race for them.
MAX_BATTERY_ATTEMPTS = 5
# Concurrent scans at one station start from different candidates (by driver), so that they do
# not all race for the fullest battery.
SPREAD = 4


def hold_external_id(order: SwapOrder) -> str:
    return f"swap-order:{order.pk}:hold"


def _token(payload: str, now: datetime) -> qr.BayToken:
    try:
        return qr.token_verify(payload, now=now, lifetime=settings.QR_TOKEN_LIFETIME)
    except qr.QrError as error:
        typed = qr.typed_code_parse(payload) if error.code == "qr_invalid" else None
        if typed is None:
            raise refusal(error.code) from None
    # A typed bay code: the bay it names, treated like its printed code (staff confirm).
    station_code, number = typed
    bay_id = Bay.objects.filter(station__code=station_code, number=number).values_list("pk", flat=True).first()
    if bay_id is None:
        raise refusal("bay_code_unknown")
    return qr.BayToken(QrKind.PRINTED, bay_id, None, None, f"{station_code}-{number}")


@dataclass(frozen=True)
class VehicleFacts:
    """The scanned vehicle with the facts the checks need, read in one query."""

    vehicle: Vehicle
    assigned: bool  # to this driver
    compatible: bool  # with this station
    busy: bool  # the vehicle or the driver has an active order


# The scan's reads, compiled once per process (``apps.common.compiled``): a scan runs them all.
_vehicle_row = CompiledRead(
    lambda plate, driver_id, station_id: (
        Vehicle.objects.filter(plate=plate)
        .annotate(
            assigned=Exists(VehicleAssignment.objects.filter(vehicle=OuterRef("pk"), driver_id=driver_id)),
            compatible=Exists(
                Station.pack_standards.through.objects.filter(station_id=station_id, packstandard_id=OuterRef("pack_standard_id"))
            ),
            busy=Exists(
                SwapOrder.objects.filter(state__in=ACTIVE_STATES).filter(Q(vehicle=OuterRef("pk")) | Q(driver_id=driver_id))
            ),
        )
        .values_list(*VEHICLE_COLUMNS, "assigned", "compatible", "busy")[:1]
    )
)
_bay_row = CompiledRead(
    lambda bay_id, nonce: (
        Bay.objects.filter(pk=bay_id)
        .annotate(token_used=Exists(SwapOrder.objects.filter(qr_nonce=nonce)))
        .values_list(
            *concrete_columns(Bay),
            *concrete_columns(Station, "station__"),
            *concrete_columns(Organisation, "station__operator__"),
            "token_used",
        )
    )
)
_verification_row = CompiledRead(
    lambda user_id: (
        RealNameVerification.objects.filter(user_id=user_id, status=VerificationStatus.VERIFIED)
        .order_by("pk")
        .values_list(*concrete_columns(RealNameVerification), *concrete_columns(User, "user__"))[:1]
    )
)
_returned_battery_row = CompiledRead(
    lambda vehicle_id: (
        Battery.objects.filter(vehicle_id=vehicle_id)
        .order_by("vehicle_position", "pk")
        .values_list(*concrete_columns(Battery), *concrete_columns(Organisation, "owner__"))[:1]
    )
)


def _bay(bay_id: int, nonce: str | None) -> tuple[Bay, bool] | None:
    """The bay with its station and operator, and whether the token's nonce already made an order."""
    rows = _bay_row(bay_id=bay_id, nonce=nonce or "")
    if not rows:
        return None
    bay, end = instance_at(Bay, rows[0])
    station, end = instance_at(Station, rows[0], end)
    station.operator, end = instance_at(Organisation, rows[0], end)
    bay.station = station
    return bay, bool(rows[0][end])


def _verification(user_id: int) -> RealNameVerification | None:
    rows = _verification_row(user_id=user_id)
    if not rows:
        return None
    verification, end = instance_at(RealNameVerification, rows[0])
    verification.user, _end = instance_at(User, rows[0], end)
    return verification


def _battery_carried(vehicle: Vehicle) -> Battery | None:
    """The battery the vehicle will give back (the first by position), with its owner."""
    rows = _returned_battery_row(vehicle_id=vehicle.pk)
    if not rows:
        return None
    battery, end = instance_at(Battery, rows[0])
    battery.owner, _end = instance_at(Organisation, rows[0], end)
    return battery


def _vehicle(plate: str, *, driver_id: int, station_id: int) -> VehicleFacts | None:
    try:
        canonical = normalize_plate(plate, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS).number
    except InvalidIdentifier:
        raise refusal("plate_invalid", fields={"plate": [refusal("plate_invalid").message]}) from None
    rows = _vehicle_row(plate=canonical, driver_id=driver_id, station_id=station_id)
    if not rows:
        return None
    vehicle, end = vehicle_from_row(rows[0])
    assigned, compatible, busy = rows[0][end:]
    return VehicleFacts(vehicle, bool(assigned), bool(compatible), bool(busy))


def _paying_carrier(driver: User, facts: VehicleFacts | None) -> tuple[Organisation, Membership]:
    """Checks 2 and 3: the certified carrier the driver drives the vehicle for, and the driver's
    membership in it (with the carrier's spending limits)."""
    memberships = {m.organisation_id: m for m in Membership.objects.filter(user=driver, role=Role.DRIVER)}
    if facts is not None and facts.vehicle.carrier_id in memberships:
        carrier = facts.vehicle.carrier
        if not carrier_may_swap(carrier=carrier):
            raise refusal("carrier_not_certified")
        if not facts.assigned:
            raise refusal("vehicle_not_assigned")
        return carrier, memberships[carrier.pk]
    if not any(carrier_may_swap(carrier=carrier) for carrier in Organisation.objects.filter(pk__in=list(memberships))):
        raise refusal("carrier_not_certified")
    raise refusal("vehicle_not_assigned")


def _check_limits(membership: Membership, *, quote_fen: int, day_spent_fen: int) -> None:
    if membership.limit_per_swap_fen is not None and quote_fen > membership.limit_per_swap_fen:
        raise refusal("limit_per_swap_exceeded")
    if membership.limit_per_day_fen is not None and day_spent_fen + quote_fen > membership.limit_per_day_fen:
        raise refusal("limit_per_day_exceeded")


def _spread(candidates: list[Battery], driver_id: int) -> list[Battery]:
    width = min(len(candidates), SPREAD)
    if width <= 1:
        return candidates
    start = driver_id % width
    head = candidates[:width]
    return head[start:] + head[:start] + candidates[width:]


def _why_not_inserted(*, nonce: str | None, driver: User, vehicle: Vehicle, battery: Battery) -> str:
    """After a unique index refused the order, which of them: read what the winner committed."""
    if nonce is not None and SwapOrder.objects.filter(qr_nonce=nonce).exists():
        return "qr_used"
    if SwapOrder.objects.filter(Q(driver=driver) | Q(vehicle=vehicle), state__in=ACTIVE_STATES).exists():
        return "order_active"
    return "battery_taken"


@dataclass(frozen=True)
class Scanned:
    """A scan's order, with the quote's lines and its first transitions as they were written."""

    order: SwapOrder
    lines: list[OrderLine]
    history: list[OrderTransition]


@transaction.atomic
def swap_scan(*, actor: Actor, qr_payload: str, plate: str) -> Scanned:
    """A queued order for the driver's vehicle at the scanned bay, with its battery reserved, its
    quote stored and held on the carrier's wallet; or the first failed check (module docstring)."""
    if actor.user_id is None:
        raise forbidden()
    now = timezone.now()
    token = _token(qr_payload, now)
    # The bay, and whether the token already made an order (the unique nonce decides races).
    found = _bay(token.bay_id, token.nonce)
    if found is None:
        raise refusal("qr_invalid")
    bay, token_used = found
    if token.nonce is not None and token_used:
        raise refusal("qr_used")
    facts = _vehicle(plate, driver_id=actor.user_id, station_id=bay.station_id)

    # 1. verified
    verification = _verification(actor.user_id)
    if verification is None:
        raise refusal("driver_not_verified")
    driver = verification.user
    # 2, 3. certified carrier; the vehicle is theirs and assigned to them
    carrier, membership = _paying_carrier(driver, facts)
    assert facts is not None
    vehicle = facts.vehicle
    # 4. licence
    if not licence_allows(verification.licence_class, vehicle.pack_standard.segment):
        raise refusal("licence_class_insufficient")
    if verification.licence_expires_on < timezone.localdate(now):
        raise refusal("licence_expired")
    # 5. compatible
    station = bay.station
    if not facts.compatible:
        raise refusal("vehicle_incompatible")
    # 6. online, open, bay in service
    if not station.is_online(now=now):
        raise refusal("station_offline")
    if not station.is_open_at(now):
        raise refusal("station_closed")
    if bay.status != BayStatus.AVAILABLE:
        raise refusal("bay_out_of_service")
    # 7. a battery
    candidates = _spread(selectors.ready_batteries(station=station, pack_standard_id=vehicle.pack_standard_id), driver.pk)
    if not candidates:
        raise refusal("no_battery_available")
    # 8. no other active order
    if facts.busy:
        raise refusal("order_active")

    returned = _battery_carried(vehicle)
    day_spent = 0
    if membership.limit_per_day_fen is not None:
        day_spent = selectors.spent_on_day(driver_id=driver.pk, carrier_id=carrier.pk, day=timezone.localdate(now))
    tried: set[int] = set()
    order: SwapOrder | None = None
    priced: PricedSwap | None = None
    for _attempt in range(MAX_BATTERY_ATTEMPTS):
        if not candidates:
            break
        battery = candidates[0]
        tried.add(battery.pk)
        returned_kwh = min(returned.energy_kwh, battery.energy_kwh) if returned is not None else Decimal(0)
        priced = swap_price(
            station=station,
            at=now,
            delivered=battery,
            delivered_kwh=battery.energy_kwh,
            returned=returned,
            returned_kwh=returned_kwh,
            with_commission=False,
        )
        # 9. limits, on this quote
        _check_limits(membership, quote_fen=priced.total_fen, day_spent_fen=day_spent)
        try:
            with transaction.atomic():
                order = SwapOrder.objects.create(
                    state=OrderState.REQUESTED,
                    driver=driver,
                    carrier=carrier,
                    vehicle=vehicle,
                    station=station,
                    bay=bay,
                    qr_kind=token.kind,
                    qr_nonce=token.nonce,
                    reserved_battery=battery,
                    battery_held=True,
                    expected_return_battery=returned,
                    vehicle_position=returned.vehicle_position if returned is not None and returned.vehicle_position else 1,
                    quote_delivered_kwh=battery.energy_kwh,
                    quote_returned_kwh=returned_kwh,
                    quote_total_fen=priced.total_fen,
                )
            break
        except IntegrityError:
            why = _why_not_inserted(nonce=token.nonce, driver=driver, vehicle=vehicle, battery=battery)
            if why in ("qr_used", "order_active"):
                raise refusal(why) from None
            # The battery was taken (or taken and freed again meanwhile): the next candidates.
            candidates = selectors.ready_batteries(station=station, pack_standard_id=vehicle.pack_standard_id, exclude=tried)
    if order is None or priced is None:
        raise refusal("no_battery_available")

    by = By.person(driver)
    # 10. the hold of the quote and any deposit (insufficient_funds / debt_outstanding roll everything back)
    # (A vehicle whose deposit is still held, its battery gone by another way, deposits nothing more.)
    takes_deposit = returned is None and not EnergyDeposit.objects.filter(vehicle=vehicle, released_at__isnull=True).exists()
    order.deposit_fen = vehicle.pack_standard.energy_deposit_fen if takes_deposit else 0
    held_fen = priced.total_fen + order.deposit_fen
    if held_fen > 0:
        order.hold = hold_place(
            external_id=hold_external_id(order), payer=carrier, amount_fen=held_fen, reference=f"swap order {order.pk}"
        )
    lines = lines_store(order=order, stage=LineStage.QUOTE, priced=priced, fresh=True)
    order.state, order.queued_at = OrderState.QUEUED, now
    order.save(update_fields=["state", "hold", "deposit_fen", "queued_at", "updated_at"])
    cause = f"hold of {held_fen} fen placed" if order.hold else "quote is 0: no hold needed"
    if order.deposit_fen:
        cause += f" (quote {priced.total_fen} fen + energy deposit {order.deposit_fen} fen)"
    history = record_many(
        order,
        [
            ("", OrderState.REQUESTED, f"scanned bay {bay.number} ({token.kind})"),
            (OrderState.REQUESTED, OrderState.QUEUED, cause),
        ],
        by=by,
        at=now,
    )
    # Where the driver swapped, for the recommender to learn from: not part of the order, so after
    # commit, and a failure there never fails the scan (robust).
    transaction.on_commit(
        partial(recommendation_outcome_record, vehicle=vehicle, station=station, at=now, driver_id=driver.pk), robust=True
    )
    return Scanned(order=order, lines=lines, history=history)


def is_printed(order: SwapOrder) -> bool:
    """Orders from a printed code are always confirmed by staff at the bay."""
    return order.qr_kind == QrKind.PRINTED
