"""Top-ups: a PaymentIntent per top-up, and the wallet credited once it succeeded.

``topup_create`` makes the top-up row first and derives the provider's idempotency key from it
(``swapnet-topup-<public id>``); with an ``Idempotency-Key`` from the client, the public id is
derived from that key, so a retry after an unknown outcome (a timeout) asks the provider for
the same intent again instead of a second one.

``topup_apply_intent`` is the one place a provider's report of an intent (a webhook event, or
reconciliation reading the provider) changes a top-up, under the top-up's row lock:

- ``succeeded`` credits the wallet (ledger id ``payments:top-up:<intent id>``, so a second
  credit is impossible even without the lock) and is final: nothing moves a top-up back;
- ``canceled`` is final too, except that a later ``succeeded`` wins (the money was taken);
- the open states (awaiting payment, processing) follow the newest report by the provider's
  clock; an older report arriving late is ignored.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.access import Actor
from apps.access import payments as payments_access
from apps.accounts.models import Organisation
from apps.ledger import services as ledger_services
from apps.payments import errors
from apps.payments.models import CNY, TopUp, TopUpStatus
from apps.payments.providers import payment_provider
from apps.payments.providers.base import Intent, PaymentProvider, ProviderError

# Stripe's PaymentIntent statuses, as a top-up sees them.
INTENT_STATUS = {
    "requires_payment_method": TopUpStatus.PENDING,
    "requires_confirmation": TopUpStatus.PENDING,
    "requires_action": TopUpStatus.PENDING,
    "processing": TopUpStatus.PROCESSING,
    "requires_capture": TopUpStatus.PROCESSING,
    "succeeded": TopUpStatus.SUCCEEDED,
    "canceled": TopUpStatus.CANCELED,
}
_RANK = {TopUpStatus.PENDING: 0, TopUpStatus.PROCESSING: 1, TopUpStatus.CANCELED: 2, TopUpStatus.SUCCEEDED: 3}
_KEY_NAMESPACE = uuid.UUID("9b0c1a52-3f04-4d4e-8f1e-5d3c8a7e2b61")


def ledger_id(intent_id: str) -> str:
    return f"payments:top-up:{intent_id}"


def provider_error(error: ProviderError) -> Exception:
    return errors.provider_unavailable(error.message) if error.retryable else errors.provider_refused(error.message)


def _public_id(*, actor: Actor, request_key: str | None, organisation: Organisation, amount_fen: int) -> uuid.UUID:
    if request_key is None:
        return uuid.uuid4()
    return uuid.uuid5(_KEY_NAMESPACE, f"{actor.user_id}\n{request_key}\n{organisation.pk}\n{amount_fen}")


def topup_create(
    *,
    actor: Actor,
    organisation: Organisation,
    amount_fen: int,
    request_key: str | None = None,
    provider: PaymentProvider | None = None,
) -> TopUp:
    """A top-up of ``amount_fen`` into the organisation's wallet: a PaymentIntent in CNY for the
    payment method types of the settings. The wallet is credited when the provider reports the
    payment succeeded, never here. ``request_key``: the client's ``Idempotency-Key``, if any."""
    if not payments_access.may_top_up(actor, organisation):
        raise errors.top_up_not_allowed()
    if type(amount_fen) is not int or not settings.TOPUP_MIN_FEN <= amount_fen <= settings.TOPUP_MAX_FEN:
        raise errors.amount_out_of_range(minimum=settings.TOPUP_MIN_FEN, maximum=settings.TOPUP_MAX_FEN)
    provider = provider or payment_provider()
    public_id = _public_id(actor=actor, request_key=request_key, organisation=organisation, amount_fen=amount_fen)
    methods = list(settings.PAYMENT_METHOD_TYPES)
    with transaction.atomic():
        existing = TopUp.objects.filter(public_id=public_id).first()
        if existing is not None:  # the same request again, after its Idempotency-Key record was purged
            return existing
        top_up = TopUp.objects.create(
            public_id=public_id,
            organisation=organisation,
            created_by_id=actor.user_id,
            amount_fen=amount_fen,
            currency=CNY,
            provider=provider.name,
            idempotency_key=f"swapnet-topup-{public_id}",
            payment_method_types=methods,
        )
        try:
            intent = provider.intent_create(
                amount_fen=amount_fen,
                currency=CNY,
                payment_method_types=methods,
                idempotency_key=top_up.idempotency_key,
                metadata={"swapnet_top_up": str(public_id), "swapnet_organisation": str(organisation.pk)},
                description=f"swapnet wallet top-up, {organisation.code}",
            )
        except ProviderError as error:
            raise provider_error(error) from error
        top_up.provider_intent_id = intent.id
        top_up.client_secret = intent.client_secret
        top_up.status = INTENT_STATUS.get(intent.status, TopUpStatus.PENDING)
        if top_up.status == TopUpStatus.SUCCEEDED:  # only a confirmed-at-creation intent could; the event credits it
            top_up.status = TopUpStatus.PROCESSING
        top_up.status_observed_at = intent.created
        top_up.save(update_fields=["provider_intent_id", "client_secret", "status", "status_observed_at", "updated_at"])
    return top_up


def topup_apply_intent(*, intent: Intent, observed_at: datetime) -> str:
    """Apply the provider's report of ``intent`` (as of ``observed_at``, the provider's clock) to
    its top-up. Runs in the caller's transaction; returns what it did, in a few words."""
    top_up = (
        TopUp.objects.select_for_update(of=("self",)).select_related("organisation").filter(provider_intent_id=intent.id).first()
    )
    if top_up is None:
        return "ignored: no top-up for this payment intent"
    target = INTENT_STATUS.get(intent.status)
    if target is None:
        return f"ignored: unknown payment intent status {intent.status!r}"
    if top_up.status == TopUpStatus.SUCCEEDED:
        return "unchanged: already succeeded"
    if target == TopUpStatus.SUCCEEDED:
        if intent.currency.upper() != top_up.currency or intent.amount_received != top_up.amount_fen:
            raise errors.amount_mismatch(expected=top_up.amount_fen, got=intent.amount_received, currency=intent.currency)
        credit = ledger_services.wallet_top_up(
            external_id=ledger_id(intent.id),
            payer=top_up.organisation,
            amount_fen=top_up.amount_fen,
            reference=f"top-up:{top_up.pk}",
        )
        top_up.status = TopUpStatus.SUCCEEDED
        top_up.credited_transaction = credit
        top_up.succeeded_at = timezone.now()
        top_up.failure_message = ""
        top_up.status_observed_at = observed_at
        top_up.save(
            update_fields=[
                "status",
                "credited_transaction",
                "succeeded_at",
                "failure_message",
                "status_observed_at",
                "updated_at",
            ]
        )
        from apps.live import publish  # the live push of the new balance, after the commit

        organisation_id = top_up.organisation_id
        transaction.on_commit(lambda: publish.wallet_changed(organisation_id))
        return "credited"
    if top_up.status == TopUpStatus.CANCELED:
        return "unchanged: already canceled"
    if target == TopUpStatus.CANCELED:
        top_up.status = TopUpStatus.CANCELED
        top_up.status_observed_at = observed_at
        top_up.save(update_fields=["status", "status_observed_at", "updated_at"])
        return "canceled"
    last = top_up.status_observed_at
    if last is not None and (observed_at, _RANK[target]) < (last, _RANK[TopUpStatus(top_up.status)]):
        return "unchanged: an older report"
    top_up.status = target
    top_up.failure_message = intent.last_error[:500]
    top_up.status_observed_at = observed_at
    top_up.save(update_fields=["status", "failure_message", "status_observed_at", "updated_at"])
    return str(target)
