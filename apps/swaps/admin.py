"""Admin pages for swap orders (with their history and lines), controller keys (rotate action)
and battery custody. Read-only: orders change through the state machine's services, keys by
rotation, custody never. Rows and rights come from ``apps.access.swaps``; a battery owner sees an
order's batteries, energy and its own lines, not who drove it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps import access
from apps.access import Actor
from apps.access import swaps as swap_access
from apps.common.admin import ScopedInline, ScopedModelAdmin, actor_for
from apps.common.errors import ApplicationError
from apps.swaps import services
from apps.swaps.models import BatteryCustodyEvent, ControllerCredential, OrderLine, OrderTransition, SwapOrder


def _nobody(actor: Actor, obj: Any) -> bool:
    return False


class ReadOnlyInline(ScopedInline[Any, SwapOrder]):
    may_change_parent = staticmethod(_nobody)
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields or ()


class TransitionInline(ReadOnlyInline):
    model = OrderTransition
    visible = staticmethod(swap_access.visible_order_transitions)
    fields = ("at", "from_state", "to_state", "actor_kind", "actor_user", "actor_controller", "cause")


class LineInline(ReadOnlyInline):
    model = OrderLine
    visible = staticmethod(swap_access.visible_order_lines)
    fields = ("stage", "position", "kind", "beneficiary", "earner", "period", "kwh", "unit_price", "amount_fen", "base_fen")


FULL_FIELDS = (
    "state",
    "station",
    "bay",
    "qr_kind",
    "driver",
    "carrier",
    "vehicle",
    "reserved_battery",
    "expected_return_battery",
    "delivered_battery",
    "returned_battery",
    "quote_delivered_kwh",
    "quote_returned_kwh",
    "quote_total_fen",
    "hold",
    "deposit_fen",
    "delivered_kwh",
    "returned_kwh",
    "bill_total_fen",
    "payment_transaction",
    "review_required",
    "review_reason",
    "abnormal_reason",
    "abnormal_detail",
    "abnormal_from",
    "created_at",
    "queued_at",
    "called_at",
    "confirmed_at",
    "swap_started_at",
    "swap_ended_at",
    "completed_at",
    "settled_at",
    "cancelled_at",
)
OWNER_FIELDS = (
    "state",
    "station",
    "reserved_battery",
    "expected_return_battery",
    "delivered_battery",
    "returned_battery",
    "delivered_kwh",
    "returned_kwh",
    "created_at",
    "completed_at",
)


@admin.register(SwapOrder)
class SwapOrderAdmin(ScopedModelAdmin[SwapOrder]):
    visible = staticmethod(swap_access.visible_orders)
    may_change = staticmethod(_nobody)
    list_display = (
        "id",
        "state",
        "station",
        "bay",
        "abnormal_reason",
        "review_required",
        "quote_total_fen",
        "bill_total_fen",
        "created_at",
    )
    list_filter = ("state", "review_required", "abnormal_reason")
    search_fields = ("=id", "station__code")
    inlines = [LineInline, TransitionInline]
    related_choices: dict[str, Any] = {}

    def get_queryset(self, request: HttpRequest) -> QuerySet[SwapOrder]:
        return super().get_queryset(request).select_related("station", "bay")

    def _owner_view(self, request: HttpRequest, obj: SwapOrder | None) -> bool:
        return obj is not None and swap_access.order_view(actor_for(request), obj) == swap_access.OrderView.OWNER

    def get_fields(self, request: HttpRequest, obj: SwapOrder | None = None) -> Any:
        return OWNER_FIELDS if self._owner_view(request, obj) else FULL_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: SwapOrder | None = None) -> Any:
        return self.get_fields(request, obj)

    def get_inlines(self, request: HttpRequest, obj: SwapOrder | None) -> Any:
        return [LineInline] if self._owner_view(request, obj) else [LineInline, TransitionInline]


@admin.register(ControllerCredential)
class ControllerCredentialAdmin(ScopedModelAdmin[ControllerCredential]):
    """Keys are seen by the station's operator admins (and the platform); the secret never is.
    The rotate action makes a new key for each selected key's station and shows its secret once."""

    visible = staticmethod(swap_access.visible_controller_credentials)
    may_change = staticmethod(_nobody)
    list_display = ("key_id", "station", "created_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    fields = ("station", "key_id", "created_by", "created_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    actions = ["rotate"]
    related_choices: dict[str, Any] = {}

    @admin.action(description=_("Rotate the controller key (the new secret is shown once)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[ControllerCredential]) -> None:
        actor = actor_for(request)
        stations = {credential.station_id: credential.station for credential in queryset.select_related("station")}
        for station in stations.values():
            if not access.swaps.may_manage_controller_key(actor, station):
                self.message_user(
                    request, _("Only %(code)s's operator rotates its key.") % {"code": station.code}, messages.ERROR
                )
                continue
            try:
                made = services.controller_key_rotate(actor=actor, station=station)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(code)s: new key %(key)s, secret %(secret)s — store it in the controller now; it is not shown again.")
                % {"code": station.code, "key": made.credential.key_id, "secret": made.secret},
                messages.WARNING,
            )

    def has_change_permission(self, request: HttpRequest, obj: ControllerCredential | None = None) -> bool:
        # The action needs the change list to offer actions; the form stays read-only.
        return obj is None and super().has_view_permission(request)


@admin.register(BatteryCustodyEvent)
class BatteryCustodyEventAdmin(ScopedModelAdmin[BatteryCustodyEvent]):
    visible = staticmethod(swap_access.visible_custody_events)
    may_change = staticmethod(_nobody)
    list_display = ("battery", "kind", "at", "station", "station_slot", "vehicle", "vehicle_position", "energy_kwh", "order")
    list_filter = ("kind",)
    search_fields = ("battery__code",)
    fields = ("battery", "kind", "at", "order", "station", "station_slot", "vehicle", "vehicle_position", "energy_kwh")
    readonly_fields = fields
    related_choices: dict[str, Any] = {}
