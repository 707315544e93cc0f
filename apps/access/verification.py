"""Who may see and review real-name verifications (``ACCESS.md``: driver profile and verification).

The driver sees their own submissions; their carriers' admins see those of the drivers in their
fleets, but only the name, the masked ID number and the status; platform admins see and review
all of them. Full ID numbers are for platform admins only, through an audited reveal.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.access import Actor
from apps.accounts.models import Membership, RealNameVerification, Role


def visible_verifications(actor: Actor) -> QuerySet[RealNameVerification]:
    if actor.platform_admin:
        return RealNameVerification.objects.all()
    if not actor.signed_in:
        return RealNameVerification.objects.none()
    fleet_drivers = Membership.objects.filter(role=Role.DRIVER, organisation_id__in=actor.carrier_admin_of).values("user_id")
    return RealNameVerification.objects.filter(Q(user_id=actor.user_id) | Q(user_id__in=fleet_drivers))


def sees_verification_details(actor: Actor, verification: RealNameVerification) -> bool:
    """Licence, reason and review details (all masked): the driver themselves and the platform.
    A carrier admin who sees the row gets its name, masked ID number and status only."""
    return actor.platform_admin or (actor.signed_in and verification.user_id == actor.user_id)


def may_review_verifications(actor: Actor) -> bool:
    return actor.platform_admin


def may_review_verification(actor: Actor, verification: RealNameVerification) -> bool:
    """Platform admins review, but never their own submission (a second pair of eyes)."""
    return may_review_verifications(actor) and verification.user_id != actor.user_id


def may_reveal_id_number(actor: Actor) -> bool:
    return actor.platform_admin
