"""Tickets for opening a WebSocket with an API token (``POST /api/v1/live/tickets``).

A ticket is 32 random bytes, valid for ``TICKET_LIFETIME`` and for one connection. Only its
SHA-256 is stored; redeeming marks it used in one conditional UPDATE, so of two processes
redeeming the same ticket exactly one wins.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from apps.access import Actor
from apps.access import live as live_access
from apps.accounts.models import User
from apps.common.errors import ApplicationError
from apps.live.models import LiveTicket

TICKET_LIFETIME = timedelta(seconds=60)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_in: int


def ticket_issue(*, actor: Actor) -> Ticket:
    """A fresh ticket for the signed-in actor. Tickets past their time are forgotten here."""
    if actor.user_id is None or not live_access.may_follow_driver_stream(actor):
        raise ApplicationError("not_authenticated", "Sign in first.", status_code=401)
    now = timezone.now()
    LiveTicket.objects.filter(expires_at__lt=now).delete()
    raw = secrets.token_urlsafe(32)
    LiveTicket.objects.create(user_id=actor.user_id, key_hash=_digest(raw), expires_at=now + TICKET_LIFETIME)
    return Ticket(ticket=raw, expires_in=int(TICKET_LIFETIME.total_seconds()))


def ticket_redeem(*, raw: str) -> User | None:
    """The ticket's user if it is unused, in time and the user active; the ticket is used up."""
    if not raw or len(raw) > 100:
        return None
    now = timezone.now()
    digest = _digest(raw)
    taken = LiveTicket.objects.filter(key_hash=digest, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if taken != 1:
        return None
    ticket = LiveTicket.objects.select_related("user").get(key_hash=digest)
    return ticket.user if ticket.user.is_active else None
