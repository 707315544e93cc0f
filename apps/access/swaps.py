"""Who may see and change swap orders, station queues, controller keys and battery custody
(``ACCESS.md``: swap order and its bill; station controller credential; battery custody history).

A swap order is seen by its driver, the admins of the carrier that pays for it, the operator
admins and staff of its station, the admins of the owner of either battery (the one handed out
and the one returned), and the platform. A battery owner sees a reduced view: the batteries,
the energy and its own fee lines, never who drove or which vehicle (``OrderView.OWNER``).

Each step of the state machine belongs to a role: the driver (and their carrier's admins) cancel
before the swap starts; the station's staff and operator admins call the next vehicle and
confirm it is in the bay; staff, operator admins and the platform mark an order abnormal and
resolve it; the controller reports the swap; the system skips no-shows and settles.
"""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Q, QuerySet

from apps.access import Actor
from apps.assets.models import Station
from apps.swaps.models import BatteryCustodyEvent, ControllerCredential, OrderLine, OrderTransition, SwapOrder


class OrderView(StrEnum):
    FULL = "full"  # the driver, their carrier, the station's operator and staff, the platform
    OWNER = "owner"  # a battery owner: batteries, energy, its own lines


def _battery_owner_q(owner_ids: frozenset[int]) -> Q:
    return (
        Q(reserved_battery__owner_id__in=owner_ids)
        | Q(expected_return_battery__owner_id__in=owner_ids)
        | Q(delivered_battery__owner_id__in=owner_ids)
        | Q(returned_battery__owner_id__in=owner_ids)
    )


def visible_orders(actor: Actor) -> QuerySet[SwapOrder]:
    if actor.platform_admin:
        return SwapOrder.objects.all()
    if not actor.signed_in:
        return SwapOrder.objects.none()
    return SwapOrder.objects.filter(
        Q(driver_id=actor.user_id)
        | Q(carrier_id__in=actor.carrier_admin_of)
        | Q(station__operator_id__in=actor.operator_admin_of)
        | Q(station_id__in=actor.staff_of_stations)
        | _battery_owner_q(actor.owner_admin_of)
    )


def _battery_owner_ids(order: SwapOrder) -> set[int]:
    batteries = (order.reserved_battery, order.expected_return_battery, order.delivered_battery, order.returned_battery)
    return {battery.owner_id for battery in batteries if battery is not None}


def _is_station_side(actor: Actor, order: SwapOrder) -> bool:
    return order.station.operator_id in actor.operator_admin_of or order.station_id in actor.staff_of_stations


def order_view(actor: Actor, order: SwapOrder) -> OrderView | None:
    """How much of the order the actor sees; None: nothing (it answers 404)."""
    if not actor.signed_in:
        return None
    if (
        actor.platform_admin
        or order.driver_id == actor.user_id
        or order.carrier_id in actor.carrier_admin_of
        or _is_station_side(actor, order)
    ):
        return OrderView.FULL
    if _battery_owner_ids(order) & actor.owner_admin_of:
        return OrderView.OWNER
    return None


def sees_receipt(actor: Actor, order: SwapOrder) -> bool:
    """The driver's printable receipt: the driver, the admins of the carrier that pays, the platform."""
    return actor.signed_in and (
        actor.platform_admin or order.driver_id == actor.user_id or order.carrier_id in actor.carrier_admin_of
    )


def sees_controller_report(actor: Actor, order: SwapOrder) -> bool:
    """What the controller reported: the station side and the platform."""
    return actor.platform_admin or _is_station_side(actor, order)


def may_cancel_order(actor: Actor, order: SwapOrder) -> bool:
    """Before the swap starts: the driver, and the admins of the carrier that pays."""
    return actor.signed_in and (order.driver_id == actor.user_id or order.carrier_id in actor.carrier_admin_of)


def may_operate_station(actor: Actor, station: Station) -> bool:
    """Call the next vehicle and confirm one in the bay: the station's staff and operator admins."""
    return station.pk in actor.staff_of_stations or station.operator_id in actor.operator_admin_of


def may_confirm_order(actor: Actor, order: SwapOrder) -> bool:
    return may_operate_station(actor, order.station)


def may_flag_order(actor: Actor, order: SwapOrder) -> bool:
    """Mark abnormal and resolve: the station's staff and operator admins, and the platform."""
    return actor.platform_admin or may_operate_station(actor, order.station)


def may_take_back_battery(actor: Actor, station: Station) -> bool:
    """Take a leaving vehicle's battery back into the station (releasing its energy deposit): the
    station's staff and operator admins, and the platform."""
    return actor.platform_admin or may_operate_station(actor, station)


def sees_station_queue(actor: Actor, station: Station) -> bool:
    """The queue with plates and drivers' names: the station's staff and operator admins, the platform."""
    return actor.platform_admin or may_operate_station(actor, station)


def may_manage_controller_key(actor: Actor, station: Station) -> bool:
    """Rotate the controller key and print the bay codes: the station's operator admins."""
    return station.operator_id in actor.operator_admin_of


def visible_controller_credentials(actor: Actor) -> QuerySet[ControllerCredential]:
    if actor.platform_admin:
        return ControllerCredential.objects.all()
    return ControllerCredential.objects.filter(station__operator_id__in=actor.operator_admin_of)


def visible_order_transitions(actor: Actor) -> QuerySet[OrderTransition]:
    """The state history of the orders the actor sees in full (a battery owner sees none: it
    names who acted)."""
    return OrderTransition.objects.filter(order__in=_fully_visible_orders(actor))


def _fully_visible_orders(actor: Actor) -> QuerySet[SwapOrder]:
    if actor.platform_admin:
        return SwapOrder.objects.all()
    if not actor.signed_in:
        return SwapOrder.objects.none()
    return SwapOrder.objects.filter(
        Q(driver_id=actor.user_id)
        | Q(carrier_id__in=actor.carrier_admin_of)
        | Q(station__operator_id__in=actor.operator_admin_of)
        | Q(station_id__in=actor.staff_of_stations)
    )


def visible_order_lines(actor: Actor) -> QuerySet[OrderLine]:
    """Every line of the orders the actor sees in full; a battery owner's own lines (its fees
    and the commission on them) of the orders its batteries took part in."""
    own = Q(beneficiary_id__in=actor.owner_admin_of) | Q(earner_id__in=actor.owner_admin_of)
    return OrderLine.objects.filter(Q(order__in=_fully_visible_orders(actor)) | (own & Q(order__in=visible_orders(actor))))


def visible_custody_events(actor: Actor) -> QuerySet[BatteryCustodyEvent]:
    """The owner: all of its batteries' events; an operator: the events at its stations (and its
    staff, at theirs); a carrier: the events of its vehicles. Nobody changes them."""
    if actor.platform_admin:
        return BatteryCustodyEvent.objects.all()
    if not actor.signed_in:
        return BatteryCustodyEvent.objects.none()
    return BatteryCustodyEvent.objects.filter(
        Q(battery__owner_id__in=actor.owner_admin_of)
        | Q(station__operator_id__in=actor.operator_admin_of)
        | Q(order__station__operator_id__in=actor.operator_admin_of)
        | Q(station_id__in=actor.staff_of_stations)
        | Q(vehicle__carrier_id__in=actor.carrier_admin_of)
        | Q(order__vehicle__carrier_id__in=actor.carrier_admin_of)
    )
