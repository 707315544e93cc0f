"""The payment provider in use (``settings.PAYMENT_PROVIDER``): Stripe or the embedded sandbox.

``payment_provider()`` builds it from the settings on every call (cheap), so that a test's
settings apply. The implementations are imported lazily: the Stripe one pulls in the SDK.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from apps.payments import errors
from apps.payments.models import Provider
from apps.payments.providers.base import PaymentProvider


def payment_provider() -> PaymentProvider:
    if settings.PAYMENT_PROVIDER == Provider.STRIPE:
        from apps.payments.providers.stripe import StripeProvider

        return StripeProvider.from_settings()
    if settings.PAYMENT_PROVIDER == Provider.SANDBOX and settings.PAYMENT_SANDBOX_ENABLED:
        from apps.payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    raise errors.payments_not_configured()


def checkout_path(*, provider: str, intent_id: str | None, client_secret: str) -> str | None:
    """Our own checkout page for a payment intent (the sandbox's), or None (the app pays with
    Stripe's SDK, given the client secret and the publishable key)."""
    if provider != Provider.SANDBOX or not intent_id:
        return None
    return reverse("payments-sandbox-checkout", args=[intent_id]) + "?" + urlencode({"secret": client_secret})
