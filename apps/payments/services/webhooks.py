"""Webhook events: verified, stored by their unique id, applied once.

``webhook_receive`` verifies the request with the provider (Stripe's library checks the
signature; a refusal changes nothing and answers 400), then in one database transaction:

1. stores the event by its id (status ``received``); a concurrent delivery of the same event
   waits on the unique index and then finds it;
2. locks the event's row; an event already ``done`` is a duplicate and changes nothing;
3. marks it ``processing`` and applies it in a savepoint — a top-up (under its row lock), a
   refund — then marks it ``done`` with what it did, or ``failed`` with why (the effect rolled
   back, the row kept), and commits the status with the effect.

Events arrive at least once and in any order: applying one is idempotent (a top-up credits at
most once, under its lock and its unique ledger id) and uses the state the event carries, not
the order of arrival. Types swapnet does not handle are stored as ``done`` and acknowledged.
A failed event answers 500, so the provider delivers it again; the retry applies it anew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.payments import errors
from apps.payments.models import EventStatus, ProviderEvent
from apps.payments.providers import payment_provider
from apps.payments.providers.base import Event, Intent, PaymentProvider, RefundResult, WebhookSignatureError
from apps.payments.services.refunds import refund_apply_result
from apps.payments.services.topups import topup_apply_intent

logger = logging.getLogger(__name__)

REFUND_EVENT_TYPES = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})


@dataclass(frozen=True)
class WebhookResult:
    event: ProviderEvent
    duplicate: bool

    @property
    def acknowledged(self) -> bool:
        """Whether to tell the provider it can stop delivering this event."""
        return self.event.status == EventStatus.DONE


def webhook_receive(*, payload: bytes, signature_header: str | None, provider: PaymentProvider | None = None) -> WebhookResult:
    """Verify, store and apply one webhook request."""
    provider = provider or payment_provider()
    try:
        event = provider.webhook_event(payload=payload, signature_header=signature_header)
    except WebhookSignatureError as refusal:
        raise errors.signature_invalid(str(refusal)) from None
    except ValueError as malformed:
        raise errors.event_malformed(str(malformed)) from None
    return event_handle(event=event, provider_name=provider.name)


def event_apply(event: Event) -> str:
    """The event's effect (in the caller's transaction); returns what it did."""
    kind = event.object.get("object")
    if event.type.startswith("payment_intent.") and kind == "payment_intent":
        return topup_apply_intent(intent=Intent.from_stripe(event.object), observed_at=event.created)
    if event.type in REFUND_EVENT_TYPES and kind == "refund":
        return refund_apply_result(result=RefundResult.from_stripe(event.object))
    return "ignored: event type not handled"


def event_handle(*, event: Event, provider_name: str) -> WebhookResult:
    """Store ``event`` by its id and apply it once (see the module's docstring)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProviderEvent.objects.create(
                    event_id=event.id, provider=provider_name, type=event.type, payload=dict(event.payload)
                )
        except IntegrityError:
            pass  # delivered before (or right now, by a concurrent request that has committed)
        row = ProviderEvent.objects.select_for_update().get(event_id=event.id)
        if row.status == EventStatus.DONE:
            return WebhookResult(event=row, duplicate=True)
        row.status = EventStatus.PROCESSING
        row.attempts += 1
        row.save(update_fields=["status", "attempts"])
        try:
            with transaction.atomic():
                outcome = event_apply(event)
        except ApplicationError as refusal:
            logger.error("event %s (%s) failed: %s %s", event.id, event.type, refusal.code, refusal.message)
            row.status, row.outcome, row.error = EventStatus.FAILED, "", f"{refusal.code}: {refusal.message}"
        except Exception as crash:  # recorded on the event; the provider's retry applies it again
            logger.exception("event %s (%s) crashed", event.id, event.type)
            row.status, row.outcome, row.error = EventStatus.FAILED, "", f"{type(crash).__name__}: {crash}"
        else:
            row.status, row.outcome, row.error = EventStatus.DONE, outcome[:200], ""
        row.processed_at = timezone.now()
        row.save(update_fields=["status", "outcome", "error", "processed_at"])
    return WebhookResult(event=row, duplicate=False)
