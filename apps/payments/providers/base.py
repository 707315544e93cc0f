"""The payment-provider interface and the plain data it speaks (no SDK types leak out).

A provider creates top-ups (PaymentIntents), refunds and transfers, looks up their status,
lists recent intents for reconciliation, and turns a webhook request into a verified event.
``StripeProvider`` talks to Stripe through ``apps.payments.clients``; ``SandboxProvider`` keeps
its intents in its own table and delivers events signed the way Stripe signs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class ProviderError(Exception):
    """The provider refused a call, or its outcome is unknown (``retryable``: a timeout, a lost
    connection, a 5xx; the same call with the same idempotency key may be made again)."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


class WebhookSignatureError(Exception):
    """The webhook request is not signed by the provider (or not recently enough)."""


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the provider reports it. Amounts in minor units (fen)."""

    id: str
    # Stripe's: requires_payment_method, requires_confirmation, requires_action, processing,
    # requires_capture, canceled, succeeded
    status: str
    amount: int
    amount_received: int
    currency: str  # lower case, as Stripe writes it
    client_secret: str
    created: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)
    payment_method_types: tuple[str, ...] = ()
    last_error: str = ""

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Intent:
        """From a PaymentIntent object as Stripe's API and events write it."""
        error = data.get("last_payment_error") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            amount=int(data["amount"]),
            amount_received=int(data.get("amount_received") or 0),
            currency=str(data["currency"]),
            client_secret=str(data.get("client_secret") or ""),
            created=_from_timestamp(data.get("created")),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            payment_method_types=tuple(str(t) for t in data.get("payment_method_types") or ()),
            last_error=str(error.get("message") or "") if isinstance(error, Mapping) else "",
        )


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: int
    payment_intent: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    failure_reason: str = ""

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> RefundResult:
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or "pending"),
            amount=int(data["amount"]),
            payment_intent=str(data.get("payment_intent") or ""),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            failure_reason=str(data.get("failure_reason") or ""),
        )


@dataclass(frozen=True)
class TransferResult:
    id: str
    amount: int
    destination: str


@dataclass(frozen=True)
class Event:
    """A verified webhook event: Stripe's event object, with the object it is about."""

    id: str
    type: str
    created: datetime
    object: Mapping[str, Any]
    payload: Mapping[str, Any]

    @classmethod
    def from_stripe(cls, payload: Mapping[str, Any]) -> Event:
        data = payload.get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
            raise ValueError("no data.object")
        if payload.get("object") != "event" or not isinstance(payload.get("id"), str) or not payload["id"]:
            raise ValueError("not an event object with an id")
        if not isinstance(payload.get("type"), str):
            raise ValueError("no event type")
        return cls(
            id=payload["id"],
            type=payload["type"],
            created=_from_timestamp(payload.get("created")),
            object=data["object"],
            payload=payload,
        )


def parse_event(payload: bytes) -> Event:
    """The event in a verified body; ``ValueError`` if it is not one."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return Event.from_stripe(data)


def _from_timestamp(value: object) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromtimestamp(0, tz=UTC)


class PaymentProvider(Protocol):
    name: str

    def intent_create(
        self,
        *,
        amount_fen: int,
        currency: str,
        payment_method_types: list[str],
        idempotency_key: str,
        metadata: Mapping[str, str],
        description: str,
    ) -> Intent: ...

    def intent_get(self, intent_id: str) -> Intent: ...

    def intents_created_since(self, since: datetime) -> Iterator[Intent]: ...

    def refund_create(
        self, *, intent_id: str, amount_fen: int, idempotency_key: str, metadata: Mapping[str, str]
    ) -> RefundResult: ...

    def refund_get(self, refund_id: str) -> RefundResult: ...

    def transfer_create(
        self,
        *,
        destination: str,
        amount_fen: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        transfer_group: str,
    ) -> TransferResult: ...

    def webhook_event(self, *, payload: bytes, signature_header: str | None) -> Event:
        """Verify the request's signature and parse its event; ``WebhookSignatureError`` if it is
        not the provider's, ``ValueError`` if the signed body is not an event."""
        ...

    def checkout_path(self, intent_id: str, client_secret: str) -> str | None:
        """A page of ours where the payer pays (the sandbox); None: the app pays with the provider's SDK."""
        ...
