"""Station controllers (``apps.swaps.controller_auth``: every request signed with the station's
key). A controller acts only on its own station: another station's paths answer 404, as a
missing station does. Every POST takes ``Idempotency-Key``; without one, heartbeats overwrite,
charging intervals are unique and a report is answered once per order, so a retry is harmless.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.assets.models import Station
from apps.common.errors import NotFound
from apps.common.idempotency import idempotent
from apps.common.inputs import validated
from apps.common.schema import IDEMPOTENCY_KEY
from apps.swaps import selectors, services
from apps.swaps.apis.common import DecimalJSONParser
from apps.swaps.apis.staff import reading_of
from apps.swaps.controller_auth import ControllerPrincipal, ControllerSignatureAuthentication, IsStationController
from apps.swaps.models import ControllerCommand
from apps.swaps.serializers import (
    BayTokenSerializer,
    ChargingInput,
    ChargingResultSerializer,
    CommandListSerializer,
    HeartbeatInput,
    HeartbeatResultSerializer,
    ReadingInput,
    ReportReceiptSerializer,
)


class ControllerApi(APIView):
    authentication_classes = [ControllerSignatureAuthentication]
    permission_classes = [IsStationController]
    parser_classes = [DecimalJSONParser]

    def own_station(self, request: Request, code: str) -> tuple[ControllerPrincipal, Station]:
        principal = request.user
        assert isinstance(principal, ControllerPrincipal)
        if principal.station.code != code.strip().upper():
            raise NotFound("station")
        return principal, principal.station


class BayTokenApi(ControllerApi):
    @extend_schema(responses=BayTokenSerializer, summary="A fresh signed QR token for the bay's screen (single use, expires)")
    def get(self, request: Request, code: str, bay: int) -> Response:
        _principal, station = self.own_station(request, code)
        token = services.bay_token_issue(station=station, bay_number=bay)
        assert token.issued_at is not None
        data = {
            "bay": bay,
            "token": token.token,
            "issued_at": token.issued_at,
            "expires_at": token.issued_at + settings.QR_TOKEN_LIFETIME,
            "lifetime_s": int(settings.QR_TOKEN_LIFETIME.total_seconds()),
        }
        return Response(BayTokenSerializer(data).data)


class HeartbeatApi(ControllerApi):
    @extend_schema(
        request=HeartbeatInput,
        responses=HeartbeatResultSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="The controller is alive; its slot inventory updates the batteries (unknown codes reported back)",
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        _principal, station = self.own_station(request, code)
        data = validated(HeartbeatInput, request.data)
        slots = [
            services.SlotReading(
                slot=slot["slot"],
                battery=(slot.get("battery") or "").strip().upper() or None,
                soc_pct=slot.get("soc_pct"),
                energy_kwh=slot.get("energy_kwh"),
                temperature_c=slot.get("temperature_c"),
                faults=tuple(slot.get("faults") or ()),
            )
            for slot in data["slots"]
        ]
        result = services.controller_heartbeat(station=station, slots=slots)
        return Response(HeartbeatResultSerializer(result).data)


class CommandsApi(ControllerApi):
    @extend_schema(responses=CommandListSerializer, summary="Commands for the controller: start the swap of order N")
    def get(self, request: Request, code: str) -> Response:
        _principal, station = self.own_station(request, code)
        commands = selectors.pending_commands(station=station)
        unfetched = [command.pk for command in commands if command.fetched_at is None]
        if unfetched:
            ControllerCommand.objects.filter(pk__in=unfetched, fetched_at__isnull=True).update(fetched_at=timezone.now())
        return Response(CommandListSerializer({"commands": commands}).data)


class SwapReportApi(ControllerApi):
    @extend_schema(
        request=ReadingInput,
        responses=ReportReceiptSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="The swap's batteries and BMS readings: the order completes and is billed, or becomes abnormal",
    )
    @idempotent
    def post(self, request: Request, code: str, order_id: int) -> Response:
        principal, station = self.own_station(request, code)
        data = validated(ReadingInput, request.data)
        order = selectors.controller_order_get(station=station, order_id=order_id)
        payload: dict[str, Any] = dict(data)
        report = services.swap_report(credential=principal.credential, order=order, reading=reading_of(data), payload=payload)
        return Response(ReportReceiptSerializer(report.receipt).data)


class ChargingApi(ControllerApi):
    @extend_schema(
        request=ChargingInput,
        responses=ChargingResultSerializer,
        parameters=[IDEMPOTENCY_KEY],
        summary="Charging intervals per battery (kWh, start, end); the same interval twice is stored once",
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        _principal, station = self.own_station(request, code)
        data = validated(ChargingInput, request.data)
        intervals = [
            services.IntervalReading(
                battery=item["battery"].strip().upper(), kwh=item["kwh"], started_at=item["started_at"], ended_at=item["ended_at"]
            )
            for item in data["intervals"]
        ]
        return Response(ChargingResultSerializer(services.charging_report(station=station, intervals=intervals)).data)
