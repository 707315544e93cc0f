"""Reads of real-name verification state."""

from __future__ import annotations

from apps.accounts.models import ACTIVE_VERIFICATION, RealNameVerification, User, VerificationStatus


def verification_current(*, user: User) -> RealNameVerification | None:
    """The driver's live submission (pending or verified), else their latest one."""
    live = RealNameVerification.objects.filter(user=user, status__in=ACTIVE_VERIFICATION).first()
    return live or RealNameVerification.objects.filter(user=user).order_by("-created_at").first()


def is_verified(*, user: User) -> bool:
    return RealNameVerification.objects.filter(user=user, status=VerificationStatus.VERIFIED).exists()
