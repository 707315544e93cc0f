"""Stripe as the payment provider, through ``apps.payments.clients.stripe_api``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from django.conf import settings

from apps.payments.clients.stripe_api import StripeApi, stripe_client, webhook_verify
from apps.payments.models import Provider
from apps.payments.providers.base import Event, Intent, RefundResult, TransferResult, parse_event


class StripeProvider:
    name = Provider.STRIPE.value

    def __init__(self, *, api: StripeApi, webhook_secret: str) -> None:
        self.api = api
        self.webhook_secret = webhook_secret

    @classmethod
    def from_settings(cls) -> StripeProvider:
        client = stripe_client(
            api_key=settings.STRIPE_SECRET_KEY,
            http_client=settings.STRIPE_HTTP_CLIENT,
            timeout_s=settings.STRIPE_TIMEOUT_S,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )
        return cls(api=StripeApi(client), webhook_secret=settings.STRIPE_WEBHOOK_SECRET)

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
        params = {
            "amount": amount_fen,
            "currency": currency.lower(),
            "payment_method_types": list(payment_method_types),
            "metadata": dict(metadata),
            "description": description,
        }
        return Intent.from_stripe(self.api.payment_intent_create(params=params, idempotency_key=idempotency_key))

    def intent_get(self, intent_id: str) -> Intent:
        return Intent.from_stripe(self.api.payment_intent_retrieve(intent_id))

    def intents_created_since(self, since: datetime) -> Iterator[Intent]:
        for data in self.api.payment_intents_created_since(since=int(since.timestamp())):
            yield Intent.from_stripe(data)

    def refund_create(
        self, *, intent_id: str, amount_fen: int, idempotency_key: str, metadata: Mapping[str, str]
    ) -> RefundResult:
        params = {"payment_intent": intent_id, "amount": amount_fen, "metadata": dict(metadata)}
        return RefundResult.from_stripe(self.api.refund_create(params=params, idempotency_key=idempotency_key))

    def refund_get(self, refund_id: str) -> RefundResult:
        return RefundResult.from_stripe(self.api.refund_retrieve(refund_id))

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
        params = {
            "amount": amount_fen,
            "currency": currency.lower(),
            "destination": destination,
            "metadata": dict(metadata),
            "transfer_group": transfer_group,
        }
        data = self.api.transfer_create(params=params, idempotency_key=idempotency_key)
        return TransferResult(id=str(data["id"]), amount=int(data["amount"]), destination=str(data.get("destination") or ""))

    def webhook_event(self, *, payload: bytes, signature_header: str | None) -> Event:
        webhook_verify(payload=payload, signature_header=signature_header, secret=self.webhook_secret)
        return parse_event(payload)

    def checkout_path(self, intent_id: str, client_secret: str) -> str | None:
        return None
