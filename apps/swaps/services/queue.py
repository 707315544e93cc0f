"""The station's queue: staff call the next vehicle, confirm it is in the bay (which starts the
swap and tells the controller), drivers cancel before the swap starts, and no-shows are skipped.

The queue is first come, first served over all the bays of a station, in the order the orders
were queued. A called driver who has not arrived ``SWAPNET_NO_SHOW_MINUTES`` later is skipped by
a periodic task: the order is cancelled, its battery released and its hold voided.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.assets.models import Station
from apps.common.errors import Conflict
from apps.ledger.models import HoldStatus
from apps.ledger.services import hold_void
from apps.swaps.errors import forbidden, refusal
from apps.swaps.models import CommandKind, ControllerCommand, OrderState, SwapOrder
from apps.swaps.services.locks import lock_order
from apps.swaps.services.transitions import By, move, require_transition

CANCELLABLE_BY_DRIVER = (OrderState.REQUESTED, OrderState.QUEUED, OrderState.CALLED)


def void_external_id(order: SwapOrder) -> str:
    return f"swap-order:{order.pk}:void"


def release(order: SwapOrder, *, now: datetime) -> list[str]:
    """Give back what a not-yet-billed order holds: its battery and its hold (voided). Returns the
    fields changed. The caller holds the payer's and the order's locks."""
    order.battery_held = False
    if order.hold_id is not None and order.hold is not None:
        order.hold.refresh_from_db(fields=["status"])
        if order.hold.status == HoldStatus.PENDING:
            hold_void(hold=order.hold, external_id=void_external_id(order))
    ControllerCommand.objects.filter(order=order, done_at__isnull=True).update(done_at=now)
    return ["battery_held"]


def cancel(order: SwapOrder, *, by: By, cause: str, now: datetime) -> SwapOrder:
    """Cancel a locked order that has not been billed: release it and record why."""
    require_transition(order, OrderState.CANCELLED)
    changed = release(order, now=now)
    order.cancelled_at = now
    move(order, OrderState.CANCELLED, by=by, cause=cause, at=now, update_fields=[*changed, "cancelled_at"])
    return order


def swap_cancel(*, actor: Actor, order: SwapOrder) -> SwapOrder:
    """The driver (or their carrier's admins) cancel before the swap starts; the hold is voided."""
    if not swap_access.may_cancel_order(actor, order):
        raise forbidden()
    now = timezone.now()
    with transaction.atomic():
        locked = lock_order(order.pk, payer_id=order.carrier_id)
        if locked.state not in CANCELLABLE_BY_DRIVER:
            raise refusal("illegal_transition", _("The swap has started or is over; it can no longer be cancelled."))
        return cancel(locked, by=By.user(actor.user_id), cause="cancelled by the driver's side", now=now)


def queue_call_next(*, actor: Actor, station: Station) -> SwapOrder:
    """Call the first queued vehicle to the bays. Two staff calling at once call two vehicles."""
    if not swap_access.may_operate_station(actor, station):
        raise forbidden()
    now = timezone.now()
    with transaction.atomic():
        order = (
            SwapOrder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("station", "bay")
            .filter(station=station, state=OrderState.QUEUED)
            .order_by("queued_at", "pk")
            .first()
        )
        if order is None:
            raise refusal("queue_empty")
        order.called_at = now
        move(
            order,
            OrderState.CALLED,
            by=By.user(actor.user_id),
            cause="called to the bays by staff",
            at=now,
            update_fields=["called_at"],
        )
        return order


def _start_command(order: SwapOrder) -> dict[str, object]:
    returned = order.expected_return_battery
    return {
        "order": order.pk,
        "bay": order.bay.number,
        "plate": order.vehicle.plate,
        "deliver": {
            "battery": order.reserved_battery.code,
            "slot": order.reserved_battery.station_slot,
            "energy_kwh": str(order.reserved_battery.energy_kwh),
        },
        "receive": None
        if returned is None
        else {"battery": returned.code, "vehicle_position": order.vehicle_position, "last_energy_kwh": str(returned.energy_kwh)},
    }


def swap_confirm(*, actor: Actor, order: SwapOrder) -> SwapOrder:
    """Staff confirm the called vehicle is in its bay: the swap starts (``swapping``) and the
    controller gets a start command. One swap per bay at a time (a unique index)."""
    if not swap_access.may_confirm_order(actor, order):
        raise forbidden()
    now = timezone.now()
    with transaction.atomic():
        locked = lock_order(order.pk)
        require_transition(locked, OrderState.SWAPPING)
        if locked.state != OrderState.CALLED:
            raise refusal("illegal_transition", _("Call the vehicle to the bays before confirming it is in one."))
        locked.confirmed_at = now
        try:
            with transaction.atomic():
                move(
                    locked,
                    OrderState.SWAPPING,
                    by=By.user(actor.user_id),
                    cause="vehicle confirmed in the bay by staff",
                    at=now,
                    update_fields=["confirmed_at"],
                )
        except IntegrityError:
            raise Conflict("bay_busy", _("Another swap is running in this bay; wait for it to finish.")) from None
        fresh = SwapOrder.objects.select_related("bay", "vehicle", "reserved_battery", "expected_return_battery").get(
            pk=locked.pk
        )
        ControllerCommand.objects.create(
            station_id=locked.station_id, order=locked, kind=CommandKind.START_SWAP, payload=_start_command(fresh)
        )
        return locked


# --- Periodic sweeps --------------------------------------------------------------------
def orders_cancel_no_shows(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel the orders whose driver was called ``NO_SHOW_AFTER`` ago and has not been confirmed
    in a bay; their batteries are released and their holds voided. Returns how many."""
    moment = now or timezone.now()
    cutoff = moment - settings.NO_SHOW_AFTER
    due = list(
        SwapOrder.objects.filter(state=OrderState.CALLED, called_at__lt=cutoff)
        .order_by("called_at", "pk")
        .values_list("pk", "carrier_id")[:limit]
    )
    cancelled = 0
    for order_id, carrier_id in due:
        with transaction.atomic():
            order = lock_order(order_id, payer_id=carrier_id)
            if order.state != OrderState.CALLED or order.called_at is None or order.called_at >= cutoff:
                continue  # confirmed or cancelled meanwhile
            minutes = int(settings.NO_SHOW_AFTER.total_seconds() // 60)
            cancel(order, by=By.system(), cause=f"no-show: not in a bay {minutes} min after being called", now=moment)
            cancelled += 1
    return cancelled
