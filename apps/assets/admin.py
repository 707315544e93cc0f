"""Admin pages for pack standards, stations and bays, batteries and vehicles, scoped by access."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps import access
from apps.accounts.models import Membership, Role
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, Vehicle, VehicleAssignment
from apps.common.admin import ScopedInline, ScopedModelAdmin, actor_for

# Where a battery is and what it measures come from controllers' reports (ACCESS.md), not
# from people: placement is never typed in, readings only when a battery is registered.
BATTERY_PLACEMENT_FIELDS = ("location", "station", "station_slot", "vehicle", "vehicle_position")
BATTERY_READING_FIELDS = ("health_pct", "charge_pct", "energy_kwh", "cycle_count", "temperature_c", "telemetry_at")


@admin.register(PackStandard)
class PackStandardAdmin(ScopedModelAdmin[PackStandard]):
    visible = staticmethod(access.visible_pack_standards)
    may_change = staticmethod(access.may_change_pack_standard)
    may_add = staticmethod(access.may_add_pack_standard)
    list_display = ("code", "name", "segment", "rated_kwh", "chemistry", "packs_per_vehicle", "energy_deposit_fen")
    list_filter = ("segment",)
    search_fields = ("code", "name")


class BayInline(ScopedInline[Bay, Station]):
    model = Bay
    visible = staticmethod(access.visible_bays)
    may_change_parent = staticmethod(access.may_change_station)
    fields = ("number", "has_screen", "status")
    # A bay leaves service by its status; its history stays.
    can_delete = False


@admin.register(Station)
class StationAdmin(ScopedModelAdmin[Station]):
    visible = staticmethod(access.visible_station_internals)
    may_change = staticmethod(access.may_change_station)
    may_add = staticmethod(access.may_add_station)
    owner_field = "operator"
    owner_choices = staticmethod(access.station_operators_for)
    tenant_readonly_fields = ("operator",)
    related_choices = {"pack_standards": access.visible_pack_standards}
    readonly_fields = ("last_heartbeat_at",)
    inlines = (BayInline,)
    list_display = ("code", "name_zh", "name_en", "operator", "status", "slot_count", "last_heartbeat_at")
    list_filter = ("status", "tariff_zone")
    list_select_related = ("operator",)
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Bay)
class BayAdmin(ScopedModelAdmin[Bay]):
    visible = staticmethod(access.visible_bays)
    may_change = staticmethod(access.may_change_bay)
    fields = ("station", "number", "has_screen", "status")
    # Bays are added on their station's page; a bay never moves to another station.
    readonly_fields = ("station",)
    list_display = ("station", "number", "has_screen", "status")
    list_filter = ("status",)
    list_select_related = ("station",)
    search_fields = ("station__code",)


@admin.register(Battery)
class BatteryAdmin(ScopedModelAdmin[Battery]):
    visible = staticmethod(access.visible_batteries)
    may_change = staticmethod(access.may_change_battery)
    may_add = staticmethod(access.may_add_battery)
    owner_field = "owner"
    owner_choices = staticmethod(access.battery_owners_for)
    tenant_readonly_fields = ("owner", *BATTERY_READING_FIELDS)
    related_choices = {
        "pack_standard": access.visible_pack_standards,
        "station": access.visible_stations,
        "vehicle": access.visible_vehicles,
    }
    list_display = ("code", "owner", "pack_standard", "location", "station", "vehicle", "charge_pct", "health_pct")
    list_filter = (
        "location",
        ("pack_standard", admin.RelatedOnlyFieldListFilter),
        # Only owners of batteries on this list: never a list of every organisation.
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("owner", "pack_standard", "station", "vehicle")
    search_fields = ("code",)

    def get_readonly_fields(self, request: HttpRequest, obj: Battery | None = None) -> tuple[str, ...]:
        readonly = super().get_readonly_fields(request, obj)
        if actor_for(request).platform_admin:
            return readonly
        return readonly + tuple(name for name in BATTERY_PLACEMENT_FIELDS if name not in readonly)

    def save_model(self, request: HttpRequest, obj: Battery, form: Any, change: bool) -> None:
        if not change and not obj.location:
            # Registered without a place: it is on its way until a controller reports it.
            obj.location = BatteryLocation.IN_TRANSIT
        super().save_model(request, obj, form, change)


class VehicleAssignmentForm(forms.ModelForm):
    class Meta:
        model = VehicleAssignment
        fields = ("driver",)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        driver, vehicle = cleaned.get("driver"), cleaned.get("vehicle")
        if driver is not None and vehicle is not None and vehicle.carrier_id is not None:
            drives_for_carrier = Membership.objects.filter(
                user=driver, organisation_id=vehicle.carrier_id, role=Role.DRIVER
            ).exists()
            if not drives_for_carrier:
                raise ValidationError({"driver": _("Only a driver of the vehicle's carrier can be assigned to it.")})
        return cleaned


class VehicleAssignmentInline(ScopedInline[VehicleAssignment, Vehicle]):
    model = VehicleAssignment
    form = VehicleAssignmentForm
    visible = staticmethod(access.visible_vehicle_assignments)
    may_change_parent = staticmethod(access.may_change_vehicle)
    related_choices = {"driver": access.assignable_drivers}
    fields = ("driver",)


@admin.register(Vehicle)
class VehicleAdmin(ScopedModelAdmin[Vehicle]):
    visible = staticmethod(access.visible_vehicles)
    may_change = staticmethod(access.may_change_vehicle)
    may_add = staticmethod(access.may_add_vehicle)
    owner_field = "carrier"
    owner_choices = staticmethod(access.vehicle_carriers_for)
    tenant_readonly_fields = ("carrier",)
    related_choices = {"pack_standard": access.visible_pack_standards}
    inlines = (VehicleAssignmentInline,)
    list_display = ("plate", "vin", "carrier", "pack_standard", "model_name")
    list_filter = (("pack_standard", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("carrier", "pack_standard")
    search_fields = ("plate", "vin")
