"""Read-only endpoints for stations and the caller's own batteries and vehicles."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.access import Actor
from apps.assets import selectors
from apps.assets.models import Battery, Station, Vehicle
from apps.assets.serializers import BatterySerializer, StationDetailSerializer, StationSerializer, VehicleSerializer
from apps.common.schema import QueryTextField


class StationFilterInput(serializers.Serializer[Any]):
    status = QueryTextField(required=False, help_text="open, closed or maintenance")
    online = serializers.BooleanField(required=False, allow_null=True, default=None)
    pack_standard = QueryTextField(required=False)
    tariff_zone = QueryTextField(required=False)
    q = QueryTextField(required=False, help_text="Part of a code or a name.")


class StationListApi(ListAPIView[Station]):
    serializer_class = StationSerializer

    @extend_schema(parameters=[StationFilterInput], summary="Stations, with filters")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        filters = StationFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.station_list(
            actor=Actor.of(self.request.user),
            filters=selectors.StationFilters(
                status=data.get("status"),
                online=data.get("online"),
                pack_standard=data.get("pack_standard"),
                tariff_zone=data.get("tariff_zone"),
                search=data.get("q"),
            ),
        )


class StationDetailApi(APIView):
    @extend_schema(responses=StationDetailSerializer, summary="A station with its stock by pack standard")
    def get(self, request: Request, code: str) -> Response:
        actor = Actor.of(request.user)
        station = selectors.station_get(actor=actor, code=code)
        bays = list(station.bays.all()) if access.sees_station_bays(actor, station) else None
        detail = selectors.StationDetail(station=station, stock=selectors.station_stock(station=station), bays=bays)
        return Response(StationDetailSerializer.of(detail).data)


class BatteryListApi(ListAPIView[Battery]):
    serializer_class = BatterySerializer

    @extend_schema(summary="Batteries the caller may see (owned, in their stations or vehicles)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.battery_list(actor=Actor.of(self.request.user))


class BatteryDetailApi(APIView):
    @extend_schema(responses=BatterySerializer, summary="A battery")
    def get(self, request: Request, code: str) -> Response:
        battery = selectors.battery_get(actor=Actor.of(request.user), code=code)
        return Response(BatterySerializer(battery).data)


class VehicleListApi(ListAPIView[Vehicle]):
    serializer_class = VehicleSerializer

    @extend_schema(summary="Vehicles the caller may see (their carrier's, or assigned to them)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.vehicle_list(actor=Actor.of(self.request.user)).prefetch_related("batteries")


class VehicleDetailApi(APIView):
    @extend_schema(
        responses=VehicleSerializer,
        parameters=[OpenApiParameter("plate", OpenApiTypes.STR, OpenApiParameter.PATH)],
        summary="A vehicle by plate",
    )
    def get(self, request: Request, plate: str) -> Response:
        vehicle = selectors.vehicle_get(actor=Actor.of(request.user), plate=plate)
        return Response(VehicleSerializer(vehicle).data)
