"""The embedded sandbox payment provider: Stripe's shapes and statuses, no money.

Its PaymentIntents live in its own table (``SandboxIntent``). The payer pays on a local page
(``/payments/sandbox/checkout/<intent id>``) by pressing Confirm or Decline; the sandbox then
sends the event Stripe would send — ``payment_intent.succeeded`` or ``payment_intent.canceled``,
and ``payment_intent.created`` when an intent is made — signed with Stripe's scheme and
``settings.SANDBOX_WEBHOOK_SECRET``, to the very webhook view Stripe's events arrive at
(in-process, after the commit). So a sandbox top-up takes exactly the path of a real one, and
reconciliation reads this table as it would read Stripe's list of intents.

Refunds and transfers succeed at once; each is kept under its idempotency key, so a retried
call returns the first answer, as at Stripe.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from apps.payments.clients.stripe_api import webhook_sign, webhook_verify
from apps.payments.models import Provider, SandboxIntent, SandboxOperation
from apps.payments.providers import checkout_path
from apps.payments.providers.base import Event, Intent, ProviderError, RefundResult, TransferResult, parse_event

logger = logging.getLogger(__name__)

OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def intent_json(intent: SandboxIntent) -> dict[str, Any]:
    """The intent as Stripe's API writes a PaymentIntent."""
    return {
        "id": intent.intent_id,
        "object": "payment_intent",
        "amount": intent.amount_fen,
        "amount_capturable": 0,
        "amount_received": intent.amount_received_fen,
        "canceled_at": int(intent.updated_at.timestamp()) if intent.status == "canceled" else None,
        "cancellation_reason": "abandoned" if intent.status == "canceled" else None,
        "capture_method": "automatic",
        "client_secret": intent.client_secret,
        "confirmation_method": "automatic",
        "created": int(intent.created_at.timestamp()),
        "currency": intent.currency,
        "description": intent.description or None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(intent.metadata),
        "payment_method": None,
        "payment_method_types": list(intent.payment_method_types),
        "status": intent.status,
    }


def _new_id(prefix: str) -> str:
    return f"{prefix}_sandbox_{secrets.token_hex(12)}"


# --- Events -------------------------------------------------------------------------------
def event_json(event_type: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _new_id("evt"),
        "object": "event",
        "api_version": None,
        "created": int(time.time()),
        "data": {"object": dict(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def deliver(event: Mapping[str, Any]) -> int:
    """Sign the event and hand it to the webhook view, as Stripe's servers would; returns the
    view's status code."""
    from apps.payments.apis import StripeWebhookApi  # the view imports the services, which import this

    body = json.dumps(event, separators=(",", ":")).encode()
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = reverse("payments-stripe-webhook")
    request.META = {
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_STRIPE_SIGNATURE": webhook_sign(payload=body.decode(), secret=settings.SANDBOX_WEBHOOK_SECRET),
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "sandbox",
        "SERVER_PORT": "443",
    }
    request._body = body
    response = StripeWebhookApi.as_view()(request)
    if response.status_code != 200:
        logger.error("sandbox event %s %s answered %s", event["id"], event["type"], response.status_code)
    return int(response.status_code)


def send_after_commit(event_type: str, obj: Mapping[str, Any]) -> None:
    """Deliver the event once the current transaction has committed (a failure is logged: the
    reconciliation task repairs what an undelivered event missed)."""
    event = event_json(event_type, obj)
    transaction.on_commit(lambda: deliver(event), robust=True)


# --- The payer's side: the checkout page --------------------------------------------------
def intent_for_checkout(*, intent_id: str, client_secret: str) -> SandboxIntent | None:
    """The intent, if ``client_secret`` is its secret (the page's only credential)."""
    intent = SandboxIntent.objects.filter(intent_id=intent_id).first()
    if intent is None or not constant_time_compare(intent.client_secret, client_secret or ""):
        return None
    return intent


def intent_pay(*, intent_id: str) -> SandboxIntent:
    """The payer confirmed: the intent succeeds and ``payment_intent.succeeded`` is sent."""
    with transaction.atomic():
        intent = SandboxIntent.objects.select_for_update().get(intent_id=intent_id)
        if intent.status not in OPEN_STATUSES:
            return intent
        intent.status = "succeeded"
        intent.amount_received_fen = intent.amount_fen
        intent.save(update_fields=["status", "amount_received_fen", "updated_at"])
        send_after_commit("payment_intent.succeeded", intent_json(intent))
    return intent


def intent_decline(*, intent_id: str) -> SandboxIntent:
    """The payer declined: the intent is canceled and ``payment_intent.canceled`` is sent."""
    with transaction.atomic():
        intent = SandboxIntent.objects.select_for_update().get(intent_id=intent_id)
        if intent.status not in OPEN_STATUSES:
            return intent
        intent.status = "canceled"
        intent.save(update_fields=["status", "updated_at"])
        send_after_commit("payment_intent.canceled", intent_json(intent))
    return intent


# --- The provider -------------------------------------------------------------------------
def _missing(kind: str, object_id: str) -> ProviderError:
    return ProviderError(f"No such {kind}: '{object_id}'", code="resource_missing")


class SandboxProvider:
    name = Provider.SANDBOX.value

    def intent_create(
        self,
        *,
        amount_fen: int,
        currency: str,
        payment_method_types: list[str],
        idempotency_key: str,
        metadata: Mapping[str, str],
        description: str,
    ) -> Intent:
        existing = SandboxIntent.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.amount_fen != amount_fen or existing.currency != currency.lower():
                raise ProviderError(
                    "Keys for idempotent requests can only be used with the same parameters", code="idempotency_error"
                )
            return Intent.from_stripe(intent_json(existing))
        intent_id = _new_id("pi")
        intent = SandboxIntent.objects.create(
            intent_id=intent_id,
            client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            idempotency_key=idempotency_key,
            amount_fen=amount_fen,
            currency=currency.lower(),
            payment_method_types=list(payment_method_types),
            metadata=dict(metadata),
            description=description,
        )
        data = intent_json(intent)
        send_after_commit("payment_intent.created", data)
        return Intent.from_stripe(data)

    def intent_get(self, intent_id: str) -> Intent:
        intent = SandboxIntent.objects.filter(intent_id=intent_id).first()
        if intent is None:
            raise _missing("payment_intent", intent_id)
        return Intent.from_stripe(intent_json(intent))

    def intents_created_since(self, since: datetime) -> Iterator[Intent]:
        for intent in SandboxIntent.objects.filter(created_at__gte=since).order_by("-created_at", "-id").iterator():
            yield Intent.from_stripe(intent_json(intent))

    def _operation(self, idempotency_key: str) -> dict[str, Any] | None:
        existing = SandboxOperation.objects.filter(idempotency_key=idempotency_key).first()
        return None if existing is None else dict(existing.body)

    def refund_create(
        self, *, intent_id: str, amount_fen: int, idempotency_key: str, metadata: Mapping[str, str]
    ) -> RefundResult:
        with transaction.atomic():
            done = self._operation(idempotency_key)
            if done is not None:
                return RefundResult.from_stripe(done)
            intent = SandboxIntent.objects.select_for_update().filter(intent_id=intent_id).first()
            if intent is None:
                raise _missing("payment_intent", intent_id)
            if intent.status != "succeeded":
                raise ProviderError(f"PaymentIntent {intent_id} has not succeeded.", code="charge_not_refundable")
            if amount_fen <= 0 or intent.amount_refunded_fen + amount_fen > intent.amount_received_fen:
                raise ProviderError(
                    f"Refund amount ({amount_fen}) is greater than the unrefunded amount on the charge.", code="amount_too_large"
                )
            intent.amount_refunded_fen += amount_fen
            intent.save(update_fields=["amount_refunded_fen", "updated_at"])
            refund: dict[str, Any] = {
                "id": _new_id("re"),
                "object": "refund",
                "amount": amount_fen,
                "created": int(time.time()),
                "currency": intent.currency,
                "metadata": dict(metadata),
                "payment_intent": intent_id,
                "reason": None,
                "status": "succeeded",
            }
            SandboxOperation.objects.create(idempotency_key=idempotency_key, object_id=refund["id"], kind="refund", body=refund)
        return RefundResult.from_stripe(refund)

    def refund_get(self, refund_id: str) -> RefundResult:
        operation = SandboxOperation.objects.filter(object_id=refund_id, kind="refund").first()
        if operation is None:
            raise _missing("refund", refund_id)
        return RefundResult.from_stripe(operation.body)

    def transfer_create(
        self,
        *,
        destination: str,
        amount_fen: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        transfer_group: str,
    ) -> TransferResult:
        with transaction.atomic():
            body: dict[str, Any] | None = self._operation(idempotency_key)
            if body is None:
                body = {
                    "id": _new_id("tr"),
                    "object": "transfer",
                    "amount": amount_fen,
                    "created": int(time.time()),
                    "currency": currency.lower(),
                    "destination": destination,
                    "metadata": dict(metadata),
                    "reversed": False,
                    "transfer_group": transfer_group,
                }
                SandboxOperation.objects.create(idempotency_key=idempotency_key, object_id=body["id"], kind="transfer", body=body)
        return TransferResult(id=str(body["id"]), amount=int(body["amount"]), destination=str(body["destination"]))

    def webhook_event(self, *, payload: bytes, signature_header: str | None) -> Event:
        webhook_verify(payload=payload, signature_header=signature_header, secret=settings.SANDBOX_WEBHOOK_SECRET)
        return parse_event(payload)

    def checkout_path(self, intent_id: str, client_secret: str) -> str | None:
        return checkout_path(provider=self.name, intent_id=intent_id, client_secret=client_secret)
