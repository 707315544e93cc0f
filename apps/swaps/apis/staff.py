"""Station staff (and the station's operator admins): the queue, calling the next vehicle,
confirming one in the bay; with the platform, marking an order abnormal and resolving it, and
taking back the battery of a vehicle that leaves the network (its energy deposit released)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.common.idempotency import idempotent
from apps.common.inputs import validated
from apps.common.money import money_json
from apps.common.schema import IDEMPOTENCY_KEY
from apps.swaps import selectors, services
from apps.swaps.apis.common import DecimalJSONParser, order_json
from apps.swaps.models import QUEUE_STATES
from apps.swaps.serializers import (
    AbnormalInput,
    OrderSerializer,
    ResolveInput,
    StationQueueSerializer,
    VehicleLeaveInput,
    VehicleLeftSerializer,
)


def reading_of(data: dict[str, Any]) -> services.SwapReading:
    return services.SwapReading(
        delivered_battery=data["delivered_battery"].strip().upper(),
        returned_battery=(data.get("returned_battery") or "").strip().upper() or None,
        delivered_kwh=data["delivered_kwh"],
        returned_kwh=data["returned_kwh"],
        started_at=data["started_at"],
        ended_at=data["ended_at"],
        delivered_temperature_c=data.get("delivered_temperature_c"),
        delivered_soc_pct=data.get("delivered_soc_pct"),
        returned_soc_pct=data.get("returned_soc_pct"),
    )


class StationQueueApi(APIView):
    @extend_schema(responses=StationQueueSerializer, summary="The station's queue (its staff and operator admins, the platform)")
    def get(self, request: Request, code: str) -> Response:
        station = selectors.station_for_queue(actor=Actor.of(request.user), code=code)
        orders = selectors.station_queue(station=station)
        waiting = [order for order in orders if order.state in QUEUE_STATES]
        positions = {order.pk: index for index, order in enumerate(waiting, start=1)}
        for order in orders:
            order.position = positions.get(order.pk)  # type: ignore[attr-defined]
        data = {
            "station": station.code,
            "waiting": len(waiting),
            "mean_swap_minutes": station.mean_swap_minutes,
            "orders": orders,
        }
        return Response(StationQueueSerializer(data).data)


class CallNextApi(APIView):
    @extend_schema(
        request=None,
        responses=OrderSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Call the next queued vehicle to the bays (staff); queue_empty when nobody waits",
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        actor = Actor.of(request.user)
        station = selectors.station_for_queue(actor=actor, code=code)
        order = services.queue_call_next(actor=actor, station=station)
        return Response(order_json(actor=actor, order=selectors.order_get(actor=actor, order_id=order.pk)))


class SwapConfirmApi(APIView):
    @extend_schema(
        request=None,
        responses=OrderSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Staff confirm the called vehicle is in the bay: the swap starts and the controller is told",
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        services.swap_confirm(actor=actor, order=order)
        return Response(order_json(actor=actor, order=selectors.order_get(actor=actor, order_id=order_id)))


class SwapAbnormalApi(APIView):
    @extend_schema(
        request=AbnormalInput,
        responses=OrderSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Mark an order abnormal with a reason code and words (staff, operator, platform)",
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        data = validated(AbnormalInput, request.data)
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        services.swap_mark_abnormal(actor=actor, order=order, reason=data["reason"], detail=data["detail"])
        return Response(order_json(actor=actor, order=selectors.order_get(actor=actor, order_id=order_id)))


class SwapResolveApi(APIView):
    parser_classes = [DecimalJSONParser]

    @extend_schema(
        request=ResolveInput,
        responses=OrderSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Resolve an abnormal order: complete with corrected readings, or cancel and release",
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        data = validated(ResolveInput, request.data)
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        readings = data.get("readings")
        if readings is not None:
            readings.setdefault("ended_at", timezone.now())
        services.swap_resolve(
            actor=actor,
            order=order,
            action=data["action"],
            reading=reading_of(readings) if readings else None,
            note=data["note"],
        )
        return Response(order_json(actor=actor, order=selectors.order_get(actor=actor, order_id=order_id)))


class VehicleLeaveApi(APIView):
    parser_classes = [DecimalJSONParser]

    @extend_schema(
        request=VehicleLeaveInput,
        responses=VehicleLeftSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="A vehicle leaves the network: its battery back into a free slot, its energy deposit released",
        description=(
            "Staff of the station, its operator admins or the platform take the vehicle's network battery back into a "
            "free slot without handing one out; the deposit the vehicle paid with its first battery goes back to its "
            "carrier's wallet. Refusals (nothing changes): plate_invalid, slot_invalid, reading_out_of_range (400); "
            "vehicle_not_found (404); vehicle_incompatible, order_active, vehicle_carries_no_battery, "
            "battery_not_in_vehicle, deposit_not_held, slot_occupied (409)."
        ),
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        data = validated(VehicleLeaveInput, request.data)
        actor = Actor.of(request.user)
        station = selectors.station_for_take_back(actor=actor, code=code)
        left = services.vehicle_leave(
            actor=actor,
            station=station,
            plate=data["plate"],
            battery_code=data["battery"],
            slot=data["slot"],
            energy_kwh=data["energy_kwh"],
            soc_pct=data.get("soc_pct"),
        )
        deposit = left.deposit
        body = {
            "vehicle": deposit.vehicle.plate,
            "carrier": deposit.carrier.code,
            "battery": left.battery.code,
            "station": left.station.code,
            "slot": left.slot,
            "energy_kwh": left.event.energy_kwh,
            "deposit": money_json(deposit.amount_fen),
            "deposit_order": deposit.order_id,
            "released_at": deposit.released_at,
        }
        return Response(VehicleLeftSerializer(body).data)
