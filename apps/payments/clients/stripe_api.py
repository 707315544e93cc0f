"""Stripe, through the official library. The only module (with ``recorded``) that imports it.

Every call goes through one ``stripe.StripeClient``; its HTTP client is the library's own seam:
in production the library's requests-based client, in tests a ``stripe.HTTPClient`` subclass
that answers with recorded JSON (``apps.payments.clients.recorded``). Library errors become
``ProviderError`` (``retryable`` when the outcome is unknown), and webhook signatures are
checked by the library's ``WebhookSignature`` — plus a check it does not make: a timestamp
more than the tolerance in the *future* is refused too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import stripe

from apps.payments.providers.base import ProviderError, WebhookSignatureError

T = TypeVar("T")
WEBHOOK_TOLERANCE_S = 300  # Stripe's own default: RELIABILITY.md


def stripe_client(
    *, api_key: str, http_client: stripe.HTTPClient | None = None, timeout_s: float = 20, max_network_retries: int = 2
) -> stripe.StripeClient:
    """A client with its own HTTP client. ``max_network_retries`` makes the library retry
    connection errors and 409/5xx answers, always with the same idempotency key."""
    return stripe.StripeClient(
        api_key,
        http_client=http_client or stripe.RequestsClient(timeout=timeout_s),
        max_network_retries=max_network_retries,
    )


def _call(operation: Callable[[], T]) -> T:
    try:
        return operation()
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise ProviderError(str(error.user_message or error), code=error.code or "", retryable=True) from error
    except stripe.StripeError as error:
        retryable = error.http_status is not None and error.http_status >= 500
        raise ProviderError(str(error.user_message or error), code=error.code or "", retryable=retryable) from error


def _as_dict(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict(recursive=True))


class StripeApi:
    """The few Stripe calls swapnet makes, answering plain dicts (Stripe's JSON)."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def payment_intent_create(self, *, params: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return _as_dict(
            _call(
                lambda: self._client.v1.payment_intents.create(
                    params=dict(params),  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key},
                )
            )
        )

    def payment_intent_retrieve(self, intent_id: str) -> dict[str, Any]:
        return _as_dict(_call(lambda: self._client.v1.payment_intents.retrieve(intent_id)))

    def payment_intents_created_since(self, *, since: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every PaymentIntent created at or after ``since`` (Unix seconds), newest first, page by page."""
        page = _call(lambda: self._client.v1.payment_intents.list(params={"created": {"gte": since}, "limit": page_size}))
        while True:
            for intent in page.data:
                yield _as_dict(intent)
            if not page.has_more or not page.data:
                return
            last = page.data[-1].id
            page = _call(
                lambda last=last: self._client.v1.payment_intents.list(  # type: ignore[misc]
                    params={"created": {"gte": since}, "limit": page_size, "starting_after": last}
                )
            )

    def refund_create(self, *, params: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return _as_dict(
            _call(
                lambda: self._client.v1.refunds.create(
                    params=dict(params),  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key},
                )
            )
        )

    def refund_retrieve(self, refund_id: str) -> dict[str, Any]:
        return _as_dict(_call(lambda: self._client.v1.refunds.retrieve(refund_id)))

    def transfer_create(self, *, params: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return _as_dict(
            _call(
                lambda: self._client.v1.transfers.create(
                    params=dict(params),  # type: ignore[arg-type]
                    options={"idempotency_key": idempotency_key},
                )
            )
        )


# --- Webhook signatures -------------------------------------------------------------------
def _header_timestamp(header: str) -> int:
    """The ``t=`` of a ``Stripe-Signature`` header (already parsed once by the library)."""
    for item in header.split(","):
        key, _sep, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def webhook_verify(
    *, payload: bytes, signature_header: str | None, secret: str, tolerance_s: int = WEBHOOK_TOLERANCE_S, now: float | None = None
) -> None:
    """Refuse (``WebhookSignatureError``) a body not signed with ``secret`` by the ``v1`` scheme
    within ``tolerance_s`` of now, either way."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance_s)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureError(str(error.user_message or "signature not valid")) from None
    except UnicodeDecodeError:
        raise WebhookSignatureError("the body is not UTF-8") from None
    assert signature_header is not None  # the library refuses a missing header
    # The library only refuses timestamps older than the tolerance; a signature claiming a time
    # in the future is as suspect (a clock far off, or a header made to outlive the window).
    if _header_timestamp(signature_header) > (time.time() if now is None else now) + tolerance_s:
        raise WebhookSignatureError("Timestamp outside the tolerance zone (in the future)")


def webhook_sign(*, payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, made by the library's own helper (the
    sandbox signs its events with it; tests sign theirs)."""
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp))
