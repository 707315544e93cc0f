"""Drivers: scan a bay's code to get a queued order, read an order, cancel it before the swap.

One view per operation: validate input -> selector -> one service -> serialize. An order the
caller may not see answers 404 ``not_found``, like a missing one; one they see but may not
change answers 403 ``permission_denied``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.common.idempotency import idempotent
from apps.common.inputs import validated
from apps.common.schema import IDEMPOTENCY_KEY
from apps.swaps import selectors, services
from apps.swaps.apis.common import order_json
from apps.swaps.serializers import OrderSerializer, ScanInput


class SwapScanApi(APIView):
    @extend_schema(
        request=ScanInput,
        responses={201: OrderSerializer},
        parameters=[IDEMPOTENCY_KEY],
        summary="Scan a bay's QR code: a queued order (battery reserved, quote held) or the failed check",
        description=(
            "Checks, in order (the first failure answers): qr_invalid 400, qr_expired 410, qr_used 409, bay_code_unknown 400 "
            "(a typed bay code naming no bay), plate_invalid 400; "
            "driver_not_verified, carrier_not_certified, vehicle_not_assigned, licence_class_insufficient, licence_expired "
            "(403); vehicle_incompatible, station_offline, station_closed, bay_out_of_service, no_battery_available, "
            "order_active (409); limit_per_swap_exceeded, limit_per_day_exceeded (403); insufficient_funds, "
            "debt_outstanding (402). A refusal changes nothing."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(ScanInput, request.data)
        actor = Actor.of(request.user)
        scanned = services.swap_scan(actor=actor, qr_payload=data["qr"], plate=data["plate"])
        body = order_json(actor=actor, order=scanned.order, lines=scanned.lines, history=scanned.history)
        return Response(body, status=status.HTTP_201_CREATED)


class SwapDetailApi(APIView):
    @extend_schema(responses=OrderSerializer, summary="A swap order with its state history, quote and bill lines")
    def get(self, request: Request, order_id: int) -> Response:
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        return Response(order_json(actor=actor, order=order))


class SwapCancelApi(APIView):
    @extend_schema(
        request=None,
        responses=OrderSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Cancel an order before the swap starts (the driver or their carrier's admins); releases the hold",
    )
    @idempotent
    def post(self, request: Request, order_id: int) -> Response:
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        services.swap_cancel(actor=actor, order=order)
        return Response(order_json(actor=actor, order=selectors.order_get(actor=actor, order_id=order_id)))
