"""Top-ups, provider events, refunds and payouts, and the sandbox provider's own records.

Amounts are integer fen (CNY minor units, which is also how Stripe counts CNY). Every row that
talks to the payment provider carries the idempotency key it is sent with, derived from the
row itself (``swapnet-topup-<public id>``): a repeated call can never create a second charge,
refund or transfer at the provider.

What the database holds, whoever writes:
- a top-up is credited exactly when it succeeded (``credited_transaction``), and never refunds
  more than it brought in;
- an event id is stored once (its status says how far its handling got);
- a statement is paid out at most once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel

CNY = "CNY"


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SANDBOX = "sandbox", _("sandbox")


# --- Top-ups ----------------------------------------------------------------------------
class TopUpStatus(models.TextChoices):
    PENDING = "pending", _("awaiting payment")  # the payer has not paid (yet); a failed attempt stays here
    PROCESSING = "processing", _("processing")  # paid, the provider is confirming it
    SUCCEEDED = "succeeded", _("succeeded")  # the wallet is credited
    CANCELED = "canceled", _("canceled")


class TopUp(TimeStampedModel):
    """Money paid into a payer's wallet through the payment provider: one PaymentIntent."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="top_ups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default=CNY)
    status = models.CharField(_("status"), max_length=20, choices=TopUpStatus.choices, default=TopUpStatus.PENDING)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    provider_intent_id = models.CharField(_("payment intent"), max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(_("idempotency key at the provider"), max_length=255, unique=True)
    payment_method_types = models.JSONField(_("payment method types"), default=list)
    refunded_fen = models.BigIntegerField(_("refunded or being refunded (fen)"), default=0)
    credited_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="top_up"
    )
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)
    # The provider's time of the state last applied: an older report of a pending state is stale.
    status_observed_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(_("last payment failure"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_topup_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0, refunded_fen__lte=F("amount_fen")),
                name="payments_topup_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status=TopUpStatus.SUCCEEDED, credited_transaction__isnull=False, succeeded_at__isnull=False)
                | (~Q(status=TopUpStatus.SUCCEEDED) & Q(credited_transaction__isnull=True, refunded_fen=0)),
                name="payments_topup_credited_iff_succeeded",
            ),
        ]

    def __str__(self) -> str:
        return f"top-up {self.pk} {self.amount_fen} fen ({self.status})"


# --- Provider events --------------------------------------------------------------------
class EventStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    PROCESSING = "processing", _("processing")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ProviderEvent(models.Model):
    """A webhook event, stored by its unique id in the transaction that applies it."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    type = models.CharField(_("type"), max_length=100)
    status = models.CharField(_("status"), max_length=20, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"


# --- Refunds ----------------------------------------------------------------------------
class RefundStatus(models.TextChoices):
    PENDING = "pending", _("pending")  # the money is held in the ledger; not yet accepted by the provider
    PROCESSING = "processing", _("processing")  # accepted by the provider, not yet final
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")  # nothing refunded; the hold went back to the wallet


class Refund(TimeStampedModel):
    """Part of a refund of unused wallet balance, back to the payment method of one top-up. A
    request over several top-ups makes one row per top-up, sharing ``batch``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    batch = models.UUIDField(db_index=True)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="payment_refunds")
    top_up = models.ForeignKey(TopUp, on_delete=models.PROTECT, related_name="refunds")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default=CNY)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    provider_refund_id = models.CharField(_("provider refund"), max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(_("idempotency key at the provider"), max_length=255, unique=True)
    hold = models.OneToOneField("ledger.Hold", on_delete=models.PROTECT, related_name="payment_refund")
    capture_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="payment_refund"
    )
    failure_message = models.CharField(_("failure"), max_length=500, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} {self.amount_fen} fen ({self.status})"


# --- Payouts ----------------------------------------------------------------------------
class PayoutAccount(TimeStampedModel):
    """Where a station operator or battery owner is paid: a Stripe Connect account, or a bank
    account for a transfer made from the exported CSV."""

    organisation = models.OneToOneField("accounts.Organisation", on_delete=models.PROTECT, related_name="payout_account")
    stripe_account_id = models.CharField(_("Stripe connected account"), max_length=255, blank=True, help_text="acct_…")
    bank_account_name = models.CharField(_("account holder"), max_length=200, blank=True)
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(stripe_account_id="") | Q(stripe_account_id__startswith="acct_"),
                name="payments_payout_account_stripe_id_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"payout account of {self.organisation_id}"


class PayoutMethod(models.TextChoices):
    STRIPE_TRANSFER = "stripe_transfer", _("Stripe Connect transfer")
    BANK_TRANSFER = "bank_transfer", _("bank transfer (CSV export)")


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("pending")  # posted in the ledger; the transfer is not confirmed yet
    PAID = "paid", _("paid")  # the provider made the transfer
    AWAITING_EXPORT = "awaiting_export", _("awaiting bank export")
    EXPORTED = "exported", _("exported for bank transfer")
    FAILED = "failed", _("failed")  # reversed in the ledger; the amount is paid with the next statement
    SKIPPED = "skipped", _("nothing to pay")


class Payout(TimeStampedModel):
    """What the network pays a party for one closed statement, posted in the ledger (the
    party's receivable to the platform's provider clearing)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="payouts")
    statement = models.OneToOneField("ledger.Statement", on_delete=models.PROTECT, related_name="payout")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default=CNY)
    method = models.CharField(_("method"), max_length=20, choices=PayoutMethod.choices)
    status = models.CharField(_("status"), max_length=20, choices=PayoutStatus.choices)
    destination = models.CharField(_("destination"), max_length=255, blank=True)
    idempotency_key = models.CharField(_("idempotency key at the provider"), max_length=255, unique=True)
    provider_transfer_id = models.CharField(_("provider transfer"), max_length=255, unique=True, null=True, blank=True)
    journal_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="payout"
    )
    reversal_transaction = models.OneToOneField(
        "ledger.JournalTransaction", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_payout"
    )
    failure_message = models.CharField(_("failure"), max_length=500, blank=True)
    exported_at = models.DateTimeField(_("exported"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.CheckConstraint(
                condition=(Q(status=PayoutStatus.SKIPPED, amount_fen=0, journal_transaction__isnull=True))
                | (~Q(status=PayoutStatus.SKIPPED) & Q(amount_fen__gt=0, journal_transaction__isnull=False)),
                name="payments_payout_posted_unless_skipped",
            ),
            models.CheckConstraint(
                condition=Q(status=PayoutStatus.FAILED, reversal_transaction__isnull=False)
                | (~Q(status=PayoutStatus.FAILED) & Q(reversal_transaction__isnull=True)),
                name="payments_payout_failed_iff_reversed",
            ),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk} {self.amount_fen} fen ({self.status})"


# --- The sandbox provider's own records ---------------------------------------------------
class SandboxIntent(TimeStampedModel):
    """A PaymentIntent of the embedded sandbox provider (Stripe's statuses and shape)."""

    intent_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128)
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount_fen = models.BigIntegerField()
    amount_received_fen = models.BigIntegerField(default=0)
    amount_refunded_fen = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=40, default="requires_payment_method")
    payment_method_types = models.JSONField(default=list)
    metadata = models.JSONField(default=dict)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sandbox payment intent")
        verbose_name_plural = _("sandbox payment intents")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_refunded_fen__gte=0, amount_refunded_fen__lte=F("amount_received_fen")),
                name="payments_sandbox_refunds_within_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.intent_id} ({self.status})"


class SandboxOperation(TimeStampedModel):
    """A refund or transfer the sandbox made, kept by its idempotency key (as Stripe keeps
    keys) so that a retried call returns the first answer."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    object_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20)  # "refund" or "transfer"
    body = models.JSONField()

    class Meta:
        verbose_name = _("sandbox operation")
        verbose_name_plural = _("sandbox operations")

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
