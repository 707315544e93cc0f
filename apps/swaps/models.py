"""Swap orders, their state history and bill lines, battery custody, and station controllers.

What the database holds, whoever writes (``SwapOrder.Meta.constraints``):
- a QR token's nonce makes at most one order (``qr_nonce`` is unique; printed codes have none);
- at most one active order (requested, queued, called, swapping) per vehicle and per driver;
- at most one order holds a given battery (``battery_held``: set at scan, cleared when the order
  completes or is cancelled; an abnormal order keeps what it held until it is resolved);
- at most one order ``swapping`` per bay;
- an order in an active state holds its battery; a finished one does not.
``OrderTransition`` and ``BatteryCustodyEvent`` are append-only: services only ever insert them.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


class OrderState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    QUEUED = "queued", _("queued")
    CALLED = "called", _("called to the bay")
    SWAPPING = "swapping", _("swapping")
    COMPLETED = "completed", _("completed")
    SETTLED = "settled", _("settled")
    CANCELLED = "cancelled", _("cancelled")
    ABNORMAL = "abnormal", _("abnormal")


# Orders that occupy their driver, vehicle and battery.
ACTIVE_STATES = (OrderState.REQUESTED, OrderState.QUEUED, OrderState.CALLED, OrderState.SWAPPING)
# Orders in the station's queue: waiting, or called to a bay.
QUEUE_STATES = (OrderState.QUEUED, OrderState.CALLED)
# Orders that are done with their battery and bay.
FINISHED_STATES = (OrderState.COMPLETED, OrderState.SETTLED, OrderState.CANCELLED)


class AbnormalReason(models.TextChoices):
    """Why an order needs a person: a stable code and the words shown beside it."""

    RETURNED_BATTERY_MISMATCH = "returned_battery_mismatch", _("The returned battery is not the one the vehicle carried.")
    DELIVERED_BATTERY_MISMATCH = "delivered_battery_mismatch", _("The battery handed out is not the one reserved for the order.")
    READING_OUT_OF_RANGE = "reading_out_of_range", _("A battery reading is outside what the battery can hold.")
    RETURNED_ENERGY_EXCEEDS_DELIVERED = (
        "returned_energy_exceeds_delivered",
        _("The returned battery holds more energy than the one handed out."),
    )
    BATTERY_TOO_HOT = "battery_too_hot", _("The battery is too hot to hand out.")
    CONTROLLER_OFFLINE = "controller_offline", _("The station controller went offline during the swap.")
    TIMEOUT = "timeout", _("The swap did not finish in time.")
    STAFF_REPORTED = "staff_reported", _("Reported by station staff.")


class QrKind(models.TextChoices):
    SCREEN = "screen", _("controller screen (rotating, single use)")
    PRINTED = "printed", _("printed code (staff confirm)")


class SwapOrder(TimeStampedModel):
    state = models.CharField(_("state"), max_length=20, choices=OrderState.choices, default=OrderState.REQUESTED)
    driver = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="swap_orders")
    carrier = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="swap_orders")
    vehicle = models.ForeignKey("assets.Vehicle", on_delete=models.PROTECT, related_name="swap_orders")
    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, related_name="swap_orders")
    bay = models.ForeignKey("assets.Bay", on_delete=models.PROTECT, related_name="swap_orders")
    qr_kind = models.CharField(_("QR code"), max_length=10, choices=QrKind.choices)
    # The scanned token's nonce: a token makes one order, whoever scans it (printed codes: empty).
    qr_nonce = models.CharField(max_length=32, unique=True, null=True, blank=True)

    # The charged battery reserved at scan, handed out by the swap.
    reserved_battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, related_name="reserved_orders")
    battery_held = models.BooleanField(_("battery reserved"), default=True)
    # The battery the vehicle carried at scan (None: it carried none), and its position.
    expected_return_battery = models.ForeignKey(
        "assets.Battery", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vehicle_position = models.PositiveSmallIntegerField(default=1)

    quote_delivered_kwh = models.DecimalField(max_digits=8, decimal_places=3)
    quote_returned_kwh = models.DecimalField(max_digits=8, decimal_places=3)
    quote_total_fen = models.BigIntegerField(_("quote (fen)"))
    hold = models.OneToOneField("ledger.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="swap_order")
    # The energy deposit the order takes (a vehicle without a battery to return): held with the
    # quote at scan, taken at completion (``EnergyDeposit``). Not part of the quote or the bill.
    deposit_fen = models.BigIntegerField(_("energy deposit (fen)"), default=0)

    queued_at = models.DateTimeField(null=True, blank=True)
    called_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed in the bay"), null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # What the swap did (the controller's report, or staff's corrected readings).
    delivered_battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    returned_battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    delivered_kwh = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    returned_kwh = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    swap_started_at = models.DateTimeField(null=True, blank=True)
    swap_ended_at = models.DateTimeField(null=True, blank=True)
    bill_total_fen = models.BigIntegerField(_("bill (fen)"), null=True, blank=True)
    payment_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="swap_order"
    )
    review_required = models.BooleanField(_("needs review"), default=False)
    review_reason = models.CharField(_("review reason"), max_length=200, blank=True)

    abnormal_reason = models.CharField(_("abnormal reason"), max_length=40, choices=AbnormalReason.choices, blank=True)
    abnormal_detail = models.CharField(_("abnormal detail"), max_length=300, blank=True)
    abnormal_from = models.CharField(_("abnormal from state"), max_length=20, choices=OrderState.choices, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("swap order")
        verbose_name_plural = _("swap orders")
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(state__in=ACTIVE_STATES), name="swap_order_one_active_per_vehicle"
            ),
            models.UniqueConstraint(
                fields=["driver"], condition=Q(state__in=ACTIVE_STATES), name="swap_order_one_active_per_driver"
            ),
            models.UniqueConstraint(
                fields=["reserved_battery"], condition=Q(battery_held=True), name="swap_order_one_per_reserved_battery"
            ),
            models.UniqueConstraint(
                fields=["bay"], condition=Q(state=OrderState.SWAPPING), name="swap_order_one_swapping_per_bay"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=ACTIVE_STATES) | Q(battery_held=True), name="swap_order_active_holds_battery"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=FINISHED_STATES) | Q(battery_held=False), name="swap_order_finished_releases_battery"
            ),
            models.CheckConstraint(
                condition=Q(qr_kind=QrKind.SCREEN, qr_nonce__isnull=False) | Q(qr_kind=QrKind.PRINTED, qr_nonce__isnull=True),
                name="swap_order_nonce_matches_qr_kind",
            ),
            models.CheckConstraint(
                condition=~Q(state=OrderState.ABNORMAL) | ~Q(abnormal_reason=""), name="swap_order_abnormal_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[OrderState.COMPLETED, OrderState.SETTLED]) | Q(bill_total_fen__isnull=False),
                name="swap_order_completed_has_bill",
            ),
            models.CheckConstraint(
                condition=Q(quote_total_fen__gte=0) & (Q(bill_total_fen__isnull=True) | Q(bill_total_fen__gte=0)),
                name="swap_order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(deposit_fen=0) | Q(deposit_fen__gt=0, expected_return_battery__isnull=True),
                name="swap_order_deposit_only_without_return",
            ),
        ]
        indexes = [models.Index(fields=["station", "state", "queued_at"], name="swap_order_station_queue")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class ActorKind(models.TextChoices):
    USER = "user", _("person")
    CONTROLLER = "controller", _("station controller")
    SYSTEM = "system", _("system")


class OrderTransition(models.Model):
    """One change of an order's state: from, to, when, who (a person, a controller or the system),
    and why. Append-only."""

    order = models.ForeignKey(SwapOrder, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=OrderState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=OrderState.choices)
    at = models.DateTimeField()
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor_user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_controller = models.ForeignKey(
        "swaps.ControllerCredential", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cause = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order transition")
        verbose_name_plural = _("order transitions")
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_kind=ActorKind.USER, actor_user__isnull=False, actor_controller__isnull=True)
                | Q(actor_kind=ActorKind.CONTROLLER, actor_user__isnull=True, actor_controller__isnull=False)
                | Q(actor_kind=ActorKind.SYSTEM, actor_user__isnull=True, actor_controller__isnull=True),
                name="order_transition_actor_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.from_state or '∅'} → {self.to_state}"


class LineStage(models.TextChoices):
    QUOTE = "quote", _("quote")
    BILL = "bill", _("bill")


class LineKind(models.TextChoices):
    ENERGY = "energy", _("energy")
    SERVICE_ENERGY = "service_energy", _("service fee per kWh")
    SERVICE_SWAP = "service_swap", _("service fee per swap")
    BATTERY_USAGE = "battery_usage", _("battery usage fee")
    COMMISSION = "commission", _("of which, platform commission")


class OrderLine(models.Model):
    """A line of an order's quote or bill, as ``apps.billing.pricing`` computed it. Commission
    lines are not added to the total: they say how much of an earner's lines goes to the platform."""

    order = models.ForeignKey(SwapOrder, on_delete=models.CASCADE, related_name="lines")
    stage = models.CharField(max_length=10, choices=LineStage.choices)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    beneficiary = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    # Commission lines: whose share it comes out of, and that share.
    earner = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    base_fen = models.BigIntegerField(null=True, blank=True)
    period = models.CharField(max_length=20, blank=True)
    kwh = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    # CNY per kWh or per swap; for commission, the rate as a fraction.
    unit_price = models.DecimalField(max_digits=10, decimal_places=5)
    amount_fen = models.BigIntegerField()

    class Meta:
        ordering = ["order", "stage", "position"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "stage", "position"], name="order_line_position_once"),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="order_line_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(kind=LineKind.COMMISSION, earner__isnull=False)
                | (~Q(kind=LineKind.COMMISSION) & Q(earner__isnull=True)),
                name="order_line_commission_has_earner",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.stage} {self.kind} {self.amount_fen}"


class CustodyKind(models.TextChoices):
    DELIVERED = "delivered", _("handed out to a vehicle")
    RETURNED = "returned", _("returned into a station slot")


class BatteryCustodyEvent(models.Model):
    """Where a battery went, when, with how much energy, by which order. Append-only: the last
    ``returned`` event is when it last left a vehicle; the last ``delivered`` one is its last
    hand-out, whose energy less the energy at return is what it delivered on the trip."""

    battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, related_name="custody_events")
    kind = models.CharField(max_length=20, choices=CustodyKind.choices)
    at = models.DateTimeField(db_index=True)
    order = models.ForeignKey(SwapOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="custody_events")
    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    station_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    vehicle = models.ForeignKey("assets.Vehicle", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    vehicle_position = models.PositiveSmallIntegerField(null=True, blank=True)
    energy_kwh = models.DecimalField(max_digits=8, decimal_places=3)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battery", "at", "id"]
        verbose_name = _("battery custody event")
        verbose_name_plural = _("battery custody events")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=CustodyKind.DELIVERED, vehicle__isnull=False, vehicle_position__isnull=False)
                | Q(kind=CustodyKind.RETURNED, station__isnull=False, station_slot__isnull=False),
                name="custody_event_destination_matches_kind",
            ),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="custody_event_energy_not_negative"),
        ]
        indexes = [models.Index(fields=["battery", "kind", "at"], name="custody_battery_kind_at")]

    def __str__(self) -> str:
        return f"{self.battery_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class EnergyDeposit(TimeStampedModel):
    """The energy deposit of a vehicle that took a network battery without one to return: taken
    from the carrier's wallet when that order completed, held while the vehicle carries a network
    battery, released to the wallet when staff take the battery back as the vehicle leaves the
    network. At most one is held per vehicle."""

    carrier = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="energy_deposits")
    vehicle = models.ForeignKey("assets.Vehicle", on_delete=models.PROTECT, related_name="energy_deposits")
    order = models.OneToOneField(SwapOrder, on_delete=models.PROTECT, related_name="energy_deposit")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    taken_at = models.DateTimeField()
    take_transaction = models.OneToOneField("ledger.JournalTransaction", on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Where the battery was handed back.
    returned_battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    returned_station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("energy deposit")
        verbose_name_plural = _("energy deposits")
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(released_at__isnull=True), name="energy_deposit_one_held_per_vehicle"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="energy_deposit_amount_positive"),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, release_transaction__isnull=True)
                | Q(released_at__isnull=False, release_transaction__isnull=False),
                name="energy_deposit_released_with_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.amount_fen} fen ({'released' if self.released_at else 'held'})"


class BatteryCondition(models.Model):
    """The fault flags a station controller last reported for a battery in its slots."""

    battery = models.OneToOneField("assets.Battery", on_delete=models.CASCADE, related_name="condition")
    faults = models.JSONField(default=list, blank=True)
    has_fault = models.BooleanField(default=False)
    reported_at = models.DateTimeField()

    class Meta:
        verbose_name = _("battery condition")
        verbose_name_plural = _("battery conditions")

    def __str__(self) -> str:
        return f"{self.battery_id}: {', '.join(self.faults) or 'no faults'}"


class ControllerCredential(TimeStampedModel):
    """A station controller's key: the key id it sends and the secret it signs with (stored
    encrypted; shown once when made). Rotating makes a new one and revokes the old."""

    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, related_name="controller_credentials")
    key_id = models.CharField(_("key id"), max_length=40, unique=True)
    secret_encrypted = models.TextField()
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["station", "-created_at"]
        verbose_name = _("station controller key")
        verbose_name_plural = _("station controller keys")
        constraints = [
            models.UniqueConstraint(
                fields=["station"], condition=Q(revoked_at__isnull=True), name="controller_credential_one_live"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({'revoked' if self.revoked_at else 'live'})"


class CommandKind(models.TextChoices):
    START_SWAP = "start_swap", _("start swap")


class ControllerCommand(TimeStampedModel):
    """Work for a station controller, fetched by ``GET .../commands`` until it is done (the
    order's report arrives, or the order leaves ``swapping``)."""

    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, related_name="controller_commands")
    order = models.ForeignKey(SwapOrder, on_delete=models.PROTECT, related_name="commands")
    kind = models.CharField(max_length=20, choices=CommandKind.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    fetched_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("controller command")
        verbose_name_plural = _("controller commands")
        constraints = [models.UniqueConstraint(fields=["order", "kind"], name="controller_command_once_per_order")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.order_id}"


class ReportOutcome(models.TextChoices):
    COMPLETED = "completed", _("completed and billed")
    ABNORMAL = "abnormal", _("abnormal")


class ControllerReport(models.Model):
    """The controller's report of an order's swap, kept as sent: one per order. A replay of the
    same report gets the same ``receipt``; another report for the order is a conflict."""

    order = models.OneToOneField(SwapOrder, on_delete=models.PROTECT, related_name="controller_report")
    credential = models.ForeignKey(ControllerCredential, on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    payload_hash = models.CharField(max_length=64)
    outcome = models.CharField(max_length=20, choices=ReportOutcome.choices)
    receipt = models.JSONField(encoder=DjangoJSONEncoder)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("controller report")
        verbose_name_plural = _("controller reports")

    def __str__(self) -> str:
        return f"#{self.order_id} {self.outcome}"
