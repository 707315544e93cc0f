"""Who checks a real-name submission. The provider is chosen by ``SWAPNET_VERIFICATION_PROVIDER``
(a dotted path to a class that takes no arguments).

The embedded default, ``ManualReviewProvider``, leaves every submission pending for the
platform's review queue. An automatic provider (a licensed identity-check service, say) may
decide at once through ``verification_provider_approve`` / ``verification_provider_reject`` in
``apps.accounts.services.verification``; whatever it does not decide stays pending for people.
A provider that needs the full ID number decrypts it itself and must never log it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from apps.accounts.models import RealNameVerification


class VerificationProvider(Protocol):
    # Recorded on each submission it receives ("checked by"); at most 40 characters.
    name: str

    def review(self, verification: RealNameVerification) -> None:
        """Look at a new pending submission; may approve or reject it at once, or leave it."""
        ...


class ManualReviewProvider:
    """Platform admins review every submission (API review queue and admin)."""

    name = "manual"

    def review(self, verification: RealNameVerification) -> None:
        return None


@lru_cache(maxsize=4)
def _provider(path: str) -> VerificationProvider:
    provider: VerificationProvider = import_string(path)()
    return provider


def verification_provider() -> VerificationProvider:
    return _provider(settings.VERIFICATION_PROVIDER)
