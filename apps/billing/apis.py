"""Tariffs and rates: read by anyone signed in (they are part of a price), changed only by
their owners; the time-of-use calendars of each tariff zone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.access import Actor
from apps.accounts.selectors import organisation_get
from apps.assets.models import Battery
from apps.assets.selectors import station_get
from apps.billing import selectors, services
from apps.billing.models import BatteryRate, StationTariff, TouCalendarVersion, health_grade
from apps.billing.tou import Period
from apps.common.errors import NotFound


def price(**options: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=8, decimal_places=4, **options)


class EnergyPricesSerializer(serializers.Serializer[Any]):
    sharp = price()
    peak = price()
    flat = price()
    valley = price()
    deep_valley = price()


class StationTariffSerializer(serializers.Serializer[Any]):
    station = serializers.CharField(source="station.code", read_only=True)
    tariff_zone = serializers.CharField(source="station.tariff_zone", read_only=True)
    effective_from = serializers.DateTimeField(required=False)
    energy_prices = EnergyPricesSerializer()
    service_fee_per_kwh = price(default=Decimal(0))
    service_fee_per_swap = serializers.DecimalField(max_digits=8, decimal_places=2, default=Decimal(0))
    min_billable_kwh = serializers.DecimalField(max_digits=8, decimal_places=3, default=Decimal(0))

    def to_representation(self, tariff: StationTariff) -> dict[str, Any]:
        return {
            "station": tariff.station.code,
            "tariff_zone": tariff.station.tariff_zone,
            "effective_from": tariff.effective_from.isoformat(),
            "energy_prices": {period.value: str(price) for period, price in tariff.energy_prices().items()},
            "service_fee_per_kwh": str(tariff.service_fee_per_kwh),
            "service_fee_per_swap": str(tariff.service_fee_per_swap),
            "min_billable_kwh": str(tariff.min_billable_kwh),
        }


class StationTariffApi(APIView):
    @extend_schema(responses=StationTariffSerializer, summary="The station's tariff in force now")
    def get(self, request: Request, code: str) -> Response:
        station = station_get(actor=Actor.of(request.user), code=code)
        tariff = selectors.tariff_in_force(station=station, at=timezone.now())
        if tariff is None:
            raise NotFound("tariff")
        return Response(StationTariffSerializer(tariff).data)

    @extend_schema(request=StationTariffSerializer, responses={201: StationTariffSerializer}, summary="Set a new tariff version")
    def put(self, request: Request, code: str) -> Response:
        actor = Actor.of(request.user)
        station = station_get(actor=actor, code=code)
        payload = StationTariffSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        tariff = services.station_tariff_set(
            actor=actor,
            station=station,
            energy_prices=dict(data["energy_prices"]),
            service_fee_per_kwh=data["service_fee_per_kwh"],
            service_fee_per_swap=data["service_fee_per_swap"],
            min_billable_kwh=data["min_billable_kwh"],
            effective_from=data.get("effective_from"),
        )
        return Response(StationTariffSerializer(tariff).data, status=status.HTTP_201_CREATED)


class BatteryRateSerializer(serializers.Serializer[Any]):
    fee_per_kwh = price()
    health_grade = serializers.ChoiceField(choices=["", "A", "B", "C"], default="", required=False)
    effective_from = serializers.DateTimeField(required=False)


class BatteryRateOutputSerializer(serializers.Serializer[Any]):
    battery = serializers.CharField()
    owner = serializers.CharField()
    health_grade = serializers.CharField()
    fee_per_kwh = price(allow_null=True)


def _battery_for_rate(code: str) -> Battery:
    # Any signed-in user may read a battery's rate (ACCESS.md): it is part of a price.
    battery = Battery.objects.select_related("owner").filter(code=code.strip().upper()).first()
    if battery is None:
        raise NotFound("battery")
    return battery


class BatteryRateApi(APIView):
    @extend_schema(responses=BatteryRateOutputSerializer, summary="A battery's usage rate in force now")
    def get(self, request: Request, code: str) -> Response:
        battery = _battery_for_rate(code)
        rate = selectors.battery_rate_in_force(battery=battery, at=timezone.now())
        return Response(
            {
                "battery": battery.code,
                "owner": battery.owner.code,
                "health_grade": health_grade(battery.health_pct),
                "fee_per_kwh": None if rate is None else str(rate),
            }
        )

    @extend_schema(request=BatteryRateSerializer, responses={201: BatteryRateOutputSerializer}, summary="Set this battery's rate")
    def put(self, request: Request, code: str) -> Response:
        actor = Actor.of(request.user)
        battery = _battery_for_rate(code)
        if not access.visible_batteries(actor).filter(pk=battery.pk).exists():
            raise NotFound("battery")
        payload = BatteryRateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rate = services.battery_rate_set(actor=actor, owner=battery.owner, battery=battery, **payload.validated_data)
        return Response(_rate_output(rate, battery.code), status=status.HTTP_201_CREATED)


class OwnerDefaultRateApi(APIView):
    @extend_schema(
        request=BatteryRateSerializer, responses={201: BatteryRateOutputSerializer}, summary="Set the owner's default rate"
    )
    def put(self, request: Request, organisation_id: int) -> Response:
        actor = Actor.of(request.user)
        owner = organisation_get(actor=actor, organisation_id=organisation_id)
        payload = BatteryRateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rate = services.battery_rate_set(actor=actor, owner=owner, **payload.validated_data)
        return Response(_rate_output(rate, None), status=status.HTTP_201_CREATED)


def _rate_output(rate: BatteryRate, battery_code: str | None) -> dict[str, Any]:
    return {
        "battery": battery_code,
        "owner": rate.owner.code,
        "health_grade": rate.health_grade,
        "fee_per_kwh": str(rate.fee_per_kwh),
    }


class CalendarVersionSerializer(serializers.ModelSerializer[TouCalendarVersion]):
    class Meta:
        model = TouCalendarVersion
        fields = ["zone", "effective_from", "policy", "seasons"]


class TariffZoneCalendarApi(APIView):
    @extend_schema(responses=CalendarVersionSerializer(many=True), summary="A tariff zone's time-of-use calendar versions")
    def get(self, request: Request, zone: str) -> Response:
        versions = TouCalendarVersion.objects.filter(zone=zone).order_by("effective_from")
        if not versions:
            raise NotFound("tariff zone")
        return Response(
            {"zone": zone, "periods": [p.value for p in Period], "versions": CalendarVersionSerializer(versions, many=True).data}
        )
