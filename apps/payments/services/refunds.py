"""Refunds of unused wallet balance, back to the payment methods that paid it in.

A refund request is split over the organisation's succeeded top-ups, oldest first, each
giving at most what it brought in and has not refunded yet (the last one partially); at most
the wallet's own balance (never its credit line) is refundable. Each part is a ``Refund`` row
and a two-phase move in the ledger:

1. ``refund_create``, in one transaction: the parts' money is reserved by ledger holds (wallet →
   held; so a swap cannot spend it meanwhile), the top-ups' ``refunded_fen`` grow;
2. after the commit, ``refund_submit`` asks the provider to refund each part (idempotency key
   ``swapnet-refund-<public id>``);
3. ``refund_apply_result`` applies the provider's answer, or a later ``refund.*`` event:
   succeeded → the hold is captured into the platform's provider clearing (movement
   ``refund``); failed or canceled → the hold is voided, the balance is back as it was, and the
   failure is on the refund for the payer to see. A refund that fails after it had succeeded
   is reversed in the ledger.

Locks: the top-ups (ascending id), then the wallet's accounts (in the ledger's services), then
the refund rows — the order the webhook path takes too (event, top-up, accounts).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.access import Actor
from apps.access import payments as payments_access
from apps.accounts.models import Organisation
from apps.ledger import services as ledger_services
from apps.ledger.models import CNY, Account, AccountPurpose, MovementType
from apps.payments import errors
from apps.payments.models import Refund, RefundStatus, TopUp, TopUpStatus
from apps.payments.providers import payment_provider
from apps.payments.providers.base import PaymentProvider, ProviderError, RefundResult

logger = logging.getLogger(__name__)

# Stripe's refund statuses, as a refund sees them.
REFUND_STATUS = {
    "pending": RefundStatus.PROCESSING,
    "requires_action": RefundStatus.PROCESSING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def _ledger_id(refund: Refund, step: str = "") -> str:
    return f"payments:refund:{refund.public_id}" + (f":{step}" if step else "")


def refundable_fen(*, organisation: Organisation, top_ups: Sequence[TopUp] | None = None) -> int:
    """What may be refunded now: the wallet's own balance, up to what succeeded top-ups brought in
    and have not refunded."""
    if top_ups is None:
        top_ups = list(TopUp.objects.filter(organisation=organisation, status=TopUpStatus.SUCCEEDED))
    unrefunded = sum(top_up.amount_fen - top_up.refunded_fen for top_up in top_ups)
    wallet = Account.objects.filter(organisation=organisation, purpose=AccountPurpose.WALLET, currency=CNY).first()
    return max(0, min(wallet.balance_fen if wallet else 0, unrefunded))


def refund_create(*, actor: Actor, organisation: Organisation, amount_fen: int | None = None) -> list[Refund]:
    """Refund ``amount_fen`` (all that is refundable when None) of the organisation's wallet to
    the payment methods of its top-ups, oldest first. The provider is asked after the commit."""
    if not payments_access.may_top_up(actor, organisation):
        raise errors.top_up_not_allowed()
    if amount_fen is not None and (type(amount_fen) is not int or amount_fen <= 0):
        raise errors.refund_amount_invalid()
    now = timezone.now()
    with transaction.atomic():
        top_ups = list(
            TopUp.objects.select_for_update().filter(organisation=organisation, status=TopUpStatus.SUCCEEDED).order_by("pk")
        )
        # The wallet (and held) accounts in ascending id order, as the ledger locks them: the
        # balance read below cannot change before the holds are placed.
        list(
            Account.objects.select_for_update()
            .filter(organisation=organisation, currency=CNY, purpose__in=[AccountPurpose.WALLET, AccountPurpose.HELD])
            .order_by("pk")
        )
        refundable = refundable_fen(organisation=organisation, top_ups=top_ups)
        wanted = refundable if amount_fen is None else amount_fen
        if refundable == 0:
            raise errors.nothing_to_refund()
        if wanted > refundable:
            raise errors.refund_exceeds_refundable(refundable)
        batch = uuid.uuid4()
        refunds: list[Refund] = []
        left = wanted
        for top_up in sorted(top_ups, key=lambda t: (t.succeeded_at or t.created_at, t.pk)):
            part = min(left, top_up.amount_fen - top_up.refunded_fen)
            if part <= 0:
                continue
            public_id = uuid.uuid4()
            hold = ledger_services.hold_place(
                external_id=f"payments:refund:{public_id}:hold",
                payer=organisation,
                amount_fen=part,
                expires_at=now + settings.PAYMENTS_REFUND_HOLD_TTL,
                reference=f"refund:{public_id}",
            )
            refunds.append(
                Refund.objects.create(
                    public_id=public_id,
                    batch=batch,
                    organisation=organisation,
                    top_up=top_up,
                    requested_by_id=actor.user_id,
                    amount_fen=part,
                    idempotency_key=f"swapnet-refund-{public_id}",
                    hold=hold,
                )
            )
            TopUp.objects.filter(pk=top_up.pk).update(refunded_fen=F("refunded_fen") + part, updated_at=now)
            left -= part
            if left == 0:
                break
        ids = [refund.pk for refund in refunds]
        transaction.on_commit(lambda: refunds_submit(refund_ids=ids), robust=True)
    return refunds


def refunds_submit(*, refund_ids: Sequence[int], provider: PaymentProvider | None = None) -> list[Refund]:
    provider = provider or payment_provider()
    return [refund_submit(refund_id=refund_id, provider=provider) for refund_id in refund_ids]


def refund_submit(*, refund_id: int, provider: PaymentProvider | None = None) -> Refund:
    """Ask the provider to make a pending refund. An unknown outcome (timeout, 5xx) leaves it
    pending for the reconciliation task to ask again with the same idempotency key; a refusal
    fails it (the hold goes back to the wallet)."""
    refund = Refund.objects.select_related("top_up").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    provider = provider or payment_provider()
    assert refund.top_up.provider_intent_id is not None
    try:
        result = provider.refund_create(
            intent_id=refund.top_up.provider_intent_id,
            amount_fen=refund.amount_fen,
            idempotency_key=refund.idempotency_key,
            metadata={"swapnet_refund": str(refund.public_id), "swapnet_top_up": str(refund.top_up.public_id)},
        )
    except ProviderError as error:
        if error.retryable:
            logger.warning("refund %s: provider unreachable, left pending: %s", refund.pk, error.message)
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(failure_message=error.message[:500])
            return Refund.objects.get(pk=refund.pk)
        with transaction.atomic():
            _settle(refund_id=refund.pk, status=RefundStatus.FAILED, provider_refund_id=None, failure=error.message)
        return Refund.objects.get(pk=refund.pk)
    with transaction.atomic():
        refund_apply_result(result=result, refund_id=refund.pk)
    return Refund.objects.get(pk=refund.pk)


def refund_apply_result(*, result: RefundResult, refund_id: int | None = None) -> str:
    """Apply the provider's report of a refund (its answer, a ``refund.*`` event, or
    reconciliation). Runs in the caller's transaction; returns what it did."""
    refund = Refund.objects.filter(provider_refund_id=result.id).first()
    if refund is None and result.metadata.get("swapnet_refund"):
        try:
            refund = Refund.objects.filter(public_id=uuid.UUID(result.metadata["swapnet_refund"])).first()
        except ValueError:
            refund = None
    if refund is None and refund_id is not None:
        refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        return "ignored: no refund for this id"
    status = REFUND_STATUS.get(result.status)
    if status is None:
        return f"ignored: unknown refund status {result.status!r}"
    return _settle(refund_id=refund.pk, status=status, provider_refund_id=result.id, failure=result.failure_reason)


def _settle(*, refund_id: int, status: str, provider_refund_id: str | None, failure: str) -> str:
    """Move a refund to ``status`` with its ledger effect, under the top-up's and the refund's locks."""
    top_up_id = Refund.objects.filter(pk=refund_id).values_list("top_up_id", flat=True).get()
    TopUp.objects.select_for_update().filter(pk=top_up_id).get()
    refund = Refund.objects.select_for_update(of=("self",)).select_related("hold", "capture_transaction").get(pk=refund_id)
    now = timezone.now()
    fields = ["status", "updated_at"]
    if provider_refund_id and not refund.provider_refund_id:
        refund.provider_refund_id = provider_refund_id
        fields.append("provider_refund_id")
    current = refund.status
    outcome: str
    if current == RefundStatus.FAILED:
        outcome = "unchanged: already failed"
    elif status == RefundStatus.SUCCEEDED and current in (RefundStatus.PENDING, RefundStatus.PROCESSING):
        clearing = ledger_services.account_get(
            organisation=ledger_services.platform_organisation(), purpose=AccountPurpose.PROVIDER_CLEARING
        )
        payment = ledger_services.hold_capture(
            hold=refund.hold,
            amount_fen=refund.amount_fen,
            external_id=_ledger_id(refund, "capture"),
            destination=clearing,
            movement_type=MovementType.REFUND,
        )
        refund.status = RefundStatus.SUCCEEDED
        refund.capture_transaction = payment.transaction
        refund.failure_message = ""
        refund.finished_at = now
        fields += ["capture_transaction", "failure_message", "finished_at"]
        outcome = "refunded"
    elif status == RefundStatus.FAILED and current in (RefundStatus.PENDING, RefundStatus.PROCESSING):
        ledger_services.hold_void(hold=refund.hold, external_id=_ledger_id(refund, "void"))
        outcome = _fail(refund, failure, now, fields)
    elif status == RefundStatus.FAILED and current == RefundStatus.SUCCEEDED:
        # Failed after it had succeeded (a closed card, say): the money is back with the provider.
        assert refund.capture_transaction is not None
        ledger_services.transaction_reverse(
            original=refund.capture_transaction, external_id=_ledger_id(refund, "failed"), movement_type=MovementType.ADJUSTMENT
        )
        outcome = _fail(refund, failure, now, fields)
    elif status == RefundStatus.PROCESSING and current == RefundStatus.PENDING:
        refund.status = RefundStatus.PROCESSING
        outcome = "processing"
    else:
        outcome = f"unchanged: already {current}"
    refund.save(update_fields=fields)
    return outcome


def _fail(refund: Refund, failure: str, now: datetime, fields: list[str]) -> str:
    TopUp.objects.filter(pk=refund.top_up_id).update(refunded_fen=F("refunded_fen") - refund.amount_fen, updated_at=now)
    refund.status = RefundStatus.FAILED
    refund.failure_message = (failure or "refused by the payment provider")[:500]
    refund.finished_at = now
    fields += ["failure_message", "finished_at"]
    return "failed"
