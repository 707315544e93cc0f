"""Output shapes of the assets API. Read-only: writes go through services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.assets.models import Battery, Bay, Station, Vehicle


class StationSerializer(serializers.ModelSerializer[Station]):
    operator = serializers.CharField(source="operator.code")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, coerce_to_string=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, coerce_to_string=True)
    online = serializers.SerializerMethodField()
    pack_standards: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    batteries_in_stock = serializers.IntegerField(read_only=True)
    batteries_ready = serializers.IntegerField(read_only=True)

    class Meta:
        model = Station
        fields = [
            "code",
            "name_zh",
            "name_en",
            "operator",
            "latitude",
            "longitude",
            "address",
            "road",
            "km_from_start",
            "tariff_zone",
            "status",
            "opens_at",
            "closes_at",
            "online",
            "last_heartbeat_at",
            "pack_standards",
            "batteries_in_stock",
            "batteries_ready",
        ]

    def get_online(self, station: Station) -> bool:
        return station.is_online()


class BaySerializer(serializers.ModelSerializer[Bay]):
    class Meta:
        model = Bay
        fields = ["number", "has_screen", "status"]


class StockLineSerializer(serializers.Serializer[Any]):
    pack_standard = serializers.CharField()
    in_stock = serializers.IntegerField()
    ready = serializers.IntegerField()


class StationDetailSerializer(StationSerializer):
    """The station's public face, its stock by pack standard, and its bays for those who may
    see them (``null`` for everyone else). Made from a ``selectors.StationDetail`` by ``of``."""

    slot_count = serializers.IntegerField()
    mean_swap_minutes = serializers.DecimalField(max_digits=5, decimal_places=1)
    stock = serializers.SerializerMethodField()
    bays = serializers.SerializerMethodField()

    class Meta(StationSerializer.Meta):
        fields = [*StationSerializer.Meta.fields, "slot_count", "mean_swap_minutes", "stock", "bays"]

    @classmethod
    def of(cls, detail: Any) -> StationDetailSerializer:
        return cls(detail.station, context={"detail": detail})

    @extend_schema_field(StockLineSerializer(many=True))
    def get_stock(self, station: Station) -> list[dict[str, Any]]:
        return list(StockLineSerializer(self.context["detail"].stock, many=True).data)

    @extend_schema_field(BaySerializer(many=True, allow_null=True))
    def get_bays(self, station: Station) -> list[dict[str, Any]] | None:
        bays = self.context["detail"].bays
        return None if bays is None else list(BaySerializer(bays, many=True).data)


class BatterySerializer(serializers.ModelSerializer[Battery]):
    owner = serializers.CharField(source="owner.code")
    pack_standard = serializers.CharField(source="pack_standard.code")
    station = serializers.CharField(source="station.code", allow_null=True, default=None)
    vehicle = serializers.CharField(source="vehicle.plate", allow_null=True, default=None)

    class Meta:
        model = Battery
        fields = [
            "code",
            "owner",
            "pack_standard",
            "chemistry",
            "rated_kwh",
            "health_pct",
            "charge_pct",
            "energy_kwh",
            "cycle_count",
            "temperature_c",
            "location",
            "station",
            "station_slot",
            "vehicle",
            "vehicle_position",
            "telemetry_at",
        ]


class VehicleSerializer(serializers.ModelSerializer[Vehicle]):
    carrier = serializers.CharField(source="carrier.code")
    pack_standard = serializers.CharField(source="pack_standard.code")
    batteries: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Vehicle
        fields = ["plate", "plate_kind", "vin", "carrier", "pack_standard", "model_name", "batteries"]
