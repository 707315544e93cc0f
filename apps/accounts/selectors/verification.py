"""Reads of real-name verification state and of a driver's own profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from apps.access import Actor
from apps.access.verification import visible_verifications
from apps.accounts.licences import licence_allows
from apps.accounts.models import ACTIVE_VERIFICATION, Membership, RealNameVerification, User, VerificationStatus
from apps.assets.models import Vehicle
from apps.common.errors import NotFound


def verification_current(*, user: User) -> RealNameVerification | None:
    """The driver's live submission (pending or verified), else their latest one."""
    live = RealNameVerification.objects.filter(user=user, status__in=ACTIVE_VERIFICATION).first()
    return live or RealNameVerification.objects.filter(user=user).order_by("-created_at").first()


def is_verified(*, user: User) -> bool:
    return RealNameVerification.objects.filter(user=user, status=VerificationStatus.VERIFIED).exists()


def may_drive(*, user: User, segment: str, on: date | None = None) -> bool:
    """Verified, with a licence valid on that day (today) whose class drives the segment
    (a heavy truck needs A2; a car C2 or any class that includes it)."""
    verified = RealNameVerification.objects.filter(user=user, status=VerificationStatus.VERIFIED).first()
    if verified is None or verified.licence_expires_on < (on or timezone.localdate()):
        return False
    return licence_allows(verified.licence_class, segment)


def verification_list(*, actor: Actor, status: str | None = None) -> QuerySet[RealNameVerification]:
    """The submissions the actor may see, oldest first (the review queue's order)."""
    verifications = visible_verifications(actor)
    if status:
        verifications = verifications.filter(status=status)
    return verifications.order_by("created_at", "pk")


def verification_get(*, actor: Actor, verification_id: int) -> RealNameVerification:
    verification = visible_verifications(actor).filter(pk=verification_id).first()
    if verification is None:
        raise NotFound("verification")
    return verification


@dataclass(frozen=True)
class DriverProfile:
    user: User
    verification: RealNameVerification | None
    memberships: list[Membership]
    vehicles: list[Vehicle]


def driver_profile_get(*, actor: Actor) -> DriverProfile:
    """The signed-in person's own profile: verification, organisations and assigned vehicles."""
    user = User.objects.filter(pk=actor.user_id, is_active=True).first() if actor.user_id is not None else None
    if user is None:
        raise NotFound("driver")
    return DriverProfile(
        user=user,
        verification=verification_current(user=user),
        memberships=list(Membership.objects.filter(user=user).select_related("organisation").order_by("pk")),
        vehicles=list(Vehicle.objects.filter(assignments__driver=user).select_related("carrier").order_by("plate")),
    )
