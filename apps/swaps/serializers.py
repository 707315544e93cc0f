"""Shapes of the swaps API: inputs validated here, outputs made from plain order data.

Money is ``{"amount_fen": int, "currency": "CNY"}``; energy is a decimal string in kWh with three
decimals; times are ISO 8601 (UTC inside, shown by the clients in Asia/Shanghai).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access.swaps import OrderView
from apps.common.money import money_json
from apps.common.schema import MoneySerializer
from apps.swaps.models import AbnormalReason, OrderLine, OrderTransition, SwapOrder
from apps.swaps.selectors import QueuePosition


def kwh_field(**options: Any) -> serializers.DecimalField:
    """Energy in kWh: a decimal string with three decimals."""
    return serializers.DecimalField(max_digits=8, decimal_places=3, **options)


# --- Inputs -----------------------------------------------------------------------------
class ScanInput(serializers.Serializer[Any]):
    qr = serializers.CharField(
        max_length=200,
        help_text="The bay's QR token, as scanned; or the typed code on the bay's plate, `<station code>-<bay number>`.",
    )
    plate = serializers.CharField(max_length=20, help_text="The vehicle's plate, e.g. 冀J12345D.")


class VehicleLeaveInput(serializers.Serializer[Any]):
    """A vehicle leaving the network hands its network battery back into a free slot."""

    plate = serializers.CharField(max_length=20, help_text="The vehicle's plate, e.g. 冀J12345D.")
    battery = serializers.CharField(max_length=24, help_text="The code of the battery taken out of the vehicle.")
    slot = serializers.IntegerField(min_value=1, max_value=1000, help_text="The free slot it goes into.")
    energy_kwh = kwh_field(min_value=Decimal(0), help_text="The battery's BMS energy reading as it is taken back.")
    soc_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal(0), max_value=Decimal(100), required=False, allow_null=True
    )


class AbnormalInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=40, help_text=f"One of: {', '.join(AbnormalReason.values)}.")
    detail = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReadingInput(serializers.Serializer[Any]):
    """A swap's readings: the battery handed out and the one taken back (null: none), BMS energy."""

    delivered_battery = serializers.CharField(max_length=24)
    returned_battery = serializers.CharField(max_length=24, allow_null=True, allow_blank=True)
    delivered_kwh = kwh_field(min_value=Decimal(0))
    returned_kwh = kwh_field(min_value=Decimal(0))
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    delivered_temperature_c = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    delivered_soc_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    returned_soc_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)


class ResolveInput(serializers.Serializer[Any]):
    action = serializers.CharField(max_length=10, help_text="complete (with corrected readings) or cancel.")
    readings = ReadingInput(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SlotInput(serializers.Serializer[Any]):
    slot = serializers.IntegerField(min_value=1, max_value=1000)
    battery = serializers.CharField(max_length=24, allow_null=True, allow_blank=True, required=False, default=None)
    soc_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal(0), max_value=Decimal(100), required=False, allow_null=True
    )
    energy_kwh = kwh_field(min_value=Decimal(0), required=False, allow_null=True)
    temperature_c = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    faults = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list, max_length=20)


class HeartbeatInput(serializers.Serializer[Any]):
    slots = SlotInput(many=True)


class IntervalInput(serializers.Serializer[Any]):
    battery = serializers.CharField(max_length=24)
    kwh = kwh_field(min_value=Decimal(0))
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()


class ChargingInput(serializers.Serializer[Any]):
    intervals = IntervalInput(many=True)


# --- Outputs ----------------------------------------------------------------------------
class LineSerializer(serializers.ModelSerializer[OrderLine]):
    beneficiary = serializers.CharField(source="beneficiary.code")
    earner = serializers.CharField(source="earner.code", allow_null=True, default=None)
    amount = serializers.SerializerMethodField()
    base = serializers.SerializerMethodField()
    kwh = kwh_field(allow_null=True)

    class Meta:
        model = OrderLine
        fields = ["kind", "beneficiary", "earner", "period", "kwh", "unit_price", "amount", "base"]

    @extend_schema_field(MoneySerializer)
    def get_amount(self, line: OrderLine) -> dict[str, Any]:
        return money_json(line.amount_fen)

    @extend_schema_field(MoneySerializer(allow_null=True))
    def get_base(self, line: OrderLine) -> dict[str, Any] | None:
        return None if line.base_fen is None else money_json(line.base_fen)


class TransitionSerializer(serializers.ModelSerializer[OrderTransition]):
    from_state = serializers.CharField()
    actor = serializers.CharField(source="actor_kind")
    by = serializers.SerializerMethodField()

    class Meta:
        model = OrderTransition
        fields = ["from_state", "to_state", "at", "actor", "by", "cause"]

    def get_by(self, transition: OrderTransition) -> str:
        if transition.actor_user is not None:
            return transition.actor_user.display_name
        if transition.actor_controller is not None:
            return transition.actor_controller.key_id
        return "swapnet"


class QueueSerializer(serializers.Serializer[Any]):
    position = serializers.IntegerField()
    orders_ahead = serializers.IntegerField(source="ahead")
    expected_wait_minutes = serializers.DecimalField(max_digits=7, decimal_places=1)


class StageSerializer(serializers.Serializer[Any]):
    total = MoneySerializer(allow_null=True)
    delivered_kwh = kwh_field(allow_null=True)
    returned_kwh = kwh_field(allow_null=True)
    lines = LineSerializer(many=True)


class AbnormalSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()
    words = serializers.CharField()
    detail = serializers.CharField()
    from_state = serializers.CharField()


class StationRefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class DriverRefSerializer(serializers.Serializer[Any]):
    display_name = serializers.CharField()
    phone_masked = serializers.CharField()


class OrderSerializer(serializers.Serializer[Any]):
    """An order as one actor sees it: ``view`` is ``full`` or ``owner`` (a battery owner: no
    driver, vehicle, carrier, bay, history or other parties' lines; those fields are null)."""

    id = serializers.IntegerField()
    view = serializers.ChoiceField(choices=[v.value for v in OrderView])
    state = serializers.CharField()
    station = StationRefSerializer()
    bay = serializers.IntegerField(allow_null=True)
    qr_kind = serializers.CharField(allow_null=True)
    vehicle = serializers.CharField(allow_null=True)
    driver = DriverRefSerializer(allow_null=True)
    carrier = serializers.CharField(allow_null=True)
    reserved_battery = serializers.CharField()
    expected_return_battery = serializers.CharField(allow_null=True)
    delivered_battery = serializers.CharField(allow_null=True)
    returned_battery = serializers.CharField(allow_null=True)
    quote = StageSerializer()
    bill = StageSerializer(allow_null=True)
    hold = MoneySerializer(allow_null=True)
    deposit = MoneySerializer(
        allow_null=True, help_text="The energy deposit the order takes (first network battery); not part of the bill."
    )
    queue = QueueSerializer(allow_null=True)
    review_required = serializers.BooleanField()
    review_reason = serializers.CharField()
    abnormal = AbnormalSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    called_at = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    swap_started_at = serializers.DateTimeField(allow_null=True)
    swap_ended_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    settled_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    history = TransitionSerializer(many=True, allow_null=True)
    controller_report = serializers.JSONField(allow_null=True)


def _stage(order: SwapOrder, lines: list[OrderLine], *, billed: bool) -> dict[str, Any] | None:
    if billed:
        if order.bill_total_fen is None:
            return None
        return {
            "total": money_json(order.bill_total_fen),
            "delivered_kwh": order.delivered_kwh,
            "returned_kwh": order.returned_kwh,
            "lines": lines,
        }
    return {
        "total": money_json(order.quote_total_fen),
        "delivered_kwh": order.quote_delivered_kwh,
        "returned_kwh": order.quote_returned_kwh,
        "lines": lines,
    }


def order_data(
    order: SwapOrder,
    *,
    view: OrderView,
    lines: list[OrderLine],
    queue: QueuePosition | None,
    history: list[OrderTransition] | None,
    controller_report: dict[str, Any] | None,
) -> dict[str, Any]:
    """The order for ``OrderSerializer``; a battery owner's view leaves out who and what drove."""
    full = view == OrderView.FULL
    quote_lines = [line for line in lines if line.stage == "quote"]
    bill_lines = [line for line in lines if line.stage == "bill"]
    abnormal = None
    if order.abnormal_reason:
        abnormal = {
            "reason": order.abnormal_reason,
            "words": str(AbnormalReason(order.abnormal_reason).label),
            "detail": order.abnormal_detail,
            "from_state": order.abnormal_from,
        }
    return {
        "id": order.pk,
        "view": view.value,
        "state": order.state,
        "station": order.station,
        "bay": order.bay.number if full else None,
        "qr_kind": order.qr_kind if full else None,
        "vehicle": order.vehicle.plate if full else None,
        "driver": {"display_name": order.driver.display_name, "phone_masked": order.driver.masked_phone} if full else None,
        "carrier": order.carrier.code if full else None,
        "reserved_battery": order.reserved_battery.code,
        "expected_return_battery": order.expected_return_battery.code if order.expected_return_battery else None,
        "delivered_battery": order.delivered_battery.code if order.delivered_battery else None,
        "returned_battery": order.returned_battery.code if order.returned_battery else None,
        "quote": _stage(order, quote_lines, billed=False),
        "bill": _stage(order, bill_lines, billed=True),
        "hold": money_json(order.hold.amount_fen) if full and order.hold is not None else None,
        "deposit": money_json(order.deposit_fen) if full and order.deposit_fen else None,
        "queue": queue if full else None,
        "review_required": order.review_required,
        "review_reason": order.review_reason,
        "abnormal": abnormal,
        "created_at": order.created_at,
        "queued_at": order.queued_at,
        "called_at": order.called_at,
        "confirmed_at": order.confirmed_at,
        "swap_started_at": order.swap_started_at,
        "swap_ended_at": order.swap_ended_at,
        "completed_at": order.completed_at,
        "settled_at": order.settled_at,
        "cancelled_at": order.cancelled_at,
        "history": history if full else None,
        "controller_report": controller_report,
    }


# --- The order, fast ---------------------------------------------------------------------
# ``OrderSerializer`` describes the order's shape (and the schema); DRF builds its nested fields
# anew for every order, which costs more than the rest of a read. ``order_payload`` writes the
# same JSON directly (a test holds the two equal).
_KWH = serializers.DecimalField(max_digits=8, decimal_places=3)
_PRICE = serializers.DecimalField(max_digits=10, decimal_places=5)
_MINUTES = serializers.DecimalField(max_digits=7, decimal_places=1)
_MOMENT = serializers.DateTimeField()


def _kwh(value: Decimal | None) -> str | None:
    return None if value is None else str(_KWH.to_representation(value))


def moment_json(value: Any) -> str | None:
    return None if value is None else str(_MOMENT.to_representation(value))


def _line(line: OrderLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "beneficiary": line.beneficiary.code,
        "earner": line.earner.code if line.earner_id is not None and line.earner is not None else None,
        "period": line.period,
        "kwh": _kwh(line.kwh),
        "unit_price": str(_PRICE.to_representation(line.unit_price)),
        "amount": money_json(line.amount_fen),
        "base": None if line.base_fen is None else money_json(line.base_fen),
    }


def _stage_payload(stage: dict[str, Any] | None) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {
        "total": stage["total"],
        "delivered_kwh": _kwh(stage["delivered_kwh"]),
        "returned_kwh": _kwh(stage["returned_kwh"]),
        "lines": [_line(line) for line in stage["lines"]],
    }


def _transition(transition: OrderTransition) -> dict[str, Any]:
    return {
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "at": moment_json(transition.at),
        "actor": transition.actor_kind,
        "by": TransitionSerializer().get_by(transition),
        "cause": transition.cause,
    }


def order_payload(data: dict[str, Any]) -> dict[str, Any]:
    """What ``OrderSerializer(data).data`` gives, for ``data`` from ``order_data``."""
    payload = dict(data)
    station = data["station"]
    payload["station"] = {"code": station.code, "name_zh": station.name_zh, "name_en": station.name_en}
    payload["quote"] = _stage_payload(data["quote"])
    payload["bill"] = _stage_payload(data["bill"])
    queue = data["queue"]
    payload["queue"] = (
        None
        if queue is None
        else {
            "position": queue.position,
            "orders_ahead": queue.ahead,
            "expected_wait_minutes": str(_MINUTES.to_representation(queue.expected_wait_minutes)),
        }
    )
    for name in (
        "created_at",
        "queued_at",
        "called_at",
        "confirmed_at",
        "swap_started_at",
        "swap_ended_at",
        "completed_at",
        "settled_at",
        "cancelled_at",
    ):
        payload[name] = moment_json(data[name])
    payload["history"] = None if data["history"] is None else [_transition(t) for t in data["history"]]
    return payload


class VehicleLeftSerializer(serializers.Serializer[Any]):
    """A vehicle that left the network: its battery back in the slot, its deposit released."""

    vehicle = serializers.CharField()
    carrier = serializers.CharField()
    battery = serializers.CharField()
    station = serializers.CharField()
    slot = serializers.IntegerField()
    energy_kwh = kwh_field()
    deposit = MoneySerializer()
    deposit_order = serializers.IntegerField(help_text="The order that took the deposit.")
    released_at = serializers.DateTimeField()


class QueueEntrySerializer(serializers.Serializer[Any]):
    """One order in a station's queue, as its staff see it."""

    order = serializers.IntegerField(source="pk")
    state = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    plate = serializers.CharField(source="vehicle.plate")
    driver = serializers.CharField(source="driver.display_name")
    phone_masked = serializers.CharField(source="driver.masked_phone")
    bay = serializers.IntegerField(source="bay.number")
    battery = serializers.CharField(source="reserved_battery.code")
    queued_at = serializers.DateTimeField(allow_null=True)
    called_at = serializers.DateTimeField(allow_null=True)
    abnormal_reason = serializers.CharField()


class StationQueueSerializer(serializers.Serializer[Any]):
    station = serializers.CharField()
    waiting = serializers.IntegerField()
    mean_swap_minutes = serializers.DecimalField(max_digits=5, decimal_places=1)
    orders = QueueEntrySerializer(many=True)


class NewKeySerializer(serializers.Serializer[Any]):
    station = serializers.CharField()
    key_id = serializers.CharField()
    secret = serializers.CharField(help_text="Shown once: store it in the controller now.")
    created_at = serializers.DateTimeField()


class BayTokenSerializer(serializers.Serializer[Any]):
    bay = serializers.IntegerField()
    token = serializers.CharField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    lifetime_s = serializers.IntegerField()


class HeartbeatResultSerializer(serializers.Serializer[Any]):
    received_at = serializers.DateTimeField()
    updated = serializers.ListField(child=serializers.CharField())
    unknown = serializers.ListField(child=serializers.CharField())
    misplaced = serializers.ListField(child=serializers.DictField())


class CommandSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    order = serializers.IntegerField(source="order_id")
    payload = serializers.JSONField()
    created_at = serializers.DateTimeField()


class CommandListSerializer(serializers.Serializer[Any]):
    commands = CommandSerializer(many=True)


class ReportReceiptSerializer(serializers.Serializer[Any]):
    order = serializers.IntegerField()
    outcome = serializers.CharField()
    state = serializers.CharField()
    abnormal_reason = serializers.CharField(allow_null=True)
    quote = MoneySerializer()
    bill = MoneySerializer(allow_null=True)
    review_required = serializers.BooleanField()
    delivered_battery = serializers.CharField(allow_null=True)
    returned_battery = serializers.CharField(allow_null=True)


class ChargingResultSerializer(serializers.Serializer[Any]):
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())
    conflicts = serializers.ListField(child=serializers.DictField())
    invalid = serializers.ListField(child=serializers.DictField())
