"""Reconciliation: repair what a lost webhook (or a crash after a commit) missed.

A periodic task reads the provider — Stripe's list of PaymentIntents, or the sandbox's own
table — for the intents created in ``PAYMENTS_RECONCILE_WINDOW`` (Stripe retries webhooks for
three days) and applies each as an event would (``topup_apply_intent``: a succeeded intent
credits its top-up once, whatever already happened). Top-ups still open that the list did not
show are looked up one by one. Refunds the provider was never asked about (the process died
after the commit) are submitted with their own idempotency key; refunds still processing at
the provider are looked up.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.payments.models import Refund, RefundStatus, TopUp, TopUpStatus
from apps.payments.providers import payment_provider
from apps.payments.providers.base import PaymentProvider, ProviderError
from apps.payments.services.refunds import refund_apply_result, refund_submit
from apps.payments.services.topups import topup_apply_intent

logger = logging.getLogger(__name__)

# A refund left pending this long was not submitted after its commit (the process died).
REFUND_SUBMIT_GRACE = timedelta(minutes=2)
# Stripe keeps idempotency keys at least 24 hours: an older pending refund is not asked again
# blindly (it might be made twice); it is logged for a person to look at.
REFUND_RESUBMIT_LIMIT = timedelta(hours=23)
LOOKUPS_PER_RUN = 200


def payments_reconcile(*, now: datetime | None = None, provider: PaymentProvider | None = None) -> dict[str, int]:
    """One reconciliation pass; returns how many of each outcome it saw."""
    moment = now or timezone.now()
    provider = provider or payment_provider()
    counts: Counter[str] = Counter()

    def apply(apply_one: Callable[[], str], label: str) -> None:
        try:
            with transaction.atomic():
                outcome = apply_one()
        except ApplicationError as refusal:
            logger.error("reconcile %s: %s %s", label, refusal.code, refusal.message)
            outcome = f"failed: {refusal.code}"
        counts[outcome.split(":")[0]] += 1

    seen: set[str] = set()
    try:
        for intent in provider.intents_created_since(moment - settings.PAYMENTS_RECONCILE_WINDOW):
            seen.add(intent.id)
            apply(partial(topup_apply_intent, intent=intent, observed_at=moment), intent.id)
    except ProviderError as error:
        logger.warning("reconcile: listing payment intents failed: %s", error.message)
        counts["provider_error"] += 1

    still_open = (
        TopUp.objects.filter(
            provider=provider.name, status__in=[TopUpStatus.PENDING, TopUpStatus.PROCESSING], provider_intent_id__isnull=False
        )
        .exclude(provider_intent_id__in=seen)
        .order_by("pk")
        .values_list("provider_intent_id", flat=True)[:LOOKUPS_PER_RUN]
    )
    for intent_id in list(still_open):
        assert intent_id is not None
        try:
            intent = provider.intent_get(intent_id)
        except ProviderError as error:
            logger.warning("reconcile: payment intent %s: %s", intent_id, error.message)
            counts["provider_error"] += 1
            continue
        apply(partial(topup_apply_intent, intent=intent, observed_at=moment), intent_id)

    unsubmitted = Refund.objects.filter(
        status=RefundStatus.PENDING, created_at__lte=moment - REFUND_SUBMIT_GRACE, top_up__provider=provider.name
    ).order_by("pk")
    for refund in unsubmitted[:LOOKUPS_PER_RUN]:
        if refund.created_at < moment - REFUND_RESUBMIT_LIMIT:
            logger.error("refund %s has been pending since %s: check it at the provider", refund.pk, refund.created_at)
            counts["refund_stuck"] += 1
            continue
        submitted = refund_submit(refund_id=refund.pk, provider=provider)
        counts[f"refund_{submitted.status}"] += 1

    processing = Refund.objects.filter(
        status=RefundStatus.PROCESSING, provider_refund_id__isnull=False, top_up__provider=provider.name
    ).order_by("pk")
    for refund in processing[:LOOKUPS_PER_RUN]:
        assert refund.provider_refund_id is not None
        try:
            result = provider.refund_get(refund.provider_refund_id)
        except ProviderError as error:
            logger.warning("reconcile: refund %s: %s", refund.pk, error.message)
            counts["provider_error"] += 1
            continue
        apply(partial(refund_apply_result, result=result, refund_id=refund.pk), str(refund.pk))
    return dict(counts)
