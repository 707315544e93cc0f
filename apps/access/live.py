"""Who may follow which live stream (``ACCESS.md``; the WebSocket streams of ``apps.live``).

A connection joins only the groups this module names for its actor; consumers never decide.

- ``/ws/driver/``: any signed-in user, for their own orders (``driver.<user>``) and the queues
  of the stations where they have an order waiting. Wallet balances go only to those who may
  read the wallet (``apps.access.ledger``: the payer's admins, e.g. an individual driver of
  their own account); a fleet driver gets none (not the fleet's balance).
- ``/ws/station/<code>/``: those who see the station's queue (its staff, its operator's
  admins, the platform). Anyone else is refused, exactly like a station that does not exist.
- ``/ws/ops/``: station operators' admins (their stations' status, stock and alerts), battery
  owners' admins (their own batteries' stock at each station) and the platform (everything).
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.access.ledger import WALLET_KINDS
from apps.accounts.models import Membership, Organisation, Role
from apps.assets.models import Station


def may_follow_driver_stream(actor: Actor) -> bool:
    return actor.signed_in


def may_follow_station(actor: Actor, station: Station) -> bool:
    return actor.signed_in and swap_access.sees_station_queue(actor, station)


def driver_wallet_organisations(actor: Actor) -> QuerySet[Organisation]:
    """The wallets whose balance the actor's driver stream shows: the payers they administer
    (not every wallet, even for the platform: the driver stream is about the actor's own)."""
    return Organisation.objects.filter(kind__in=WALLET_KINDS, pk__in=actor.carrier_admin_of)


def wallet_watchers(*, organisation_id: int) -> list[int]:
    """The users whose driver stream gets the organisation's wallet balance (its admins)."""
    return sorted(
        set(
            Membership.objects.filter(
                organisation_id=organisation_id, organisation__kind__in=WALLET_KINDS, role=Role.CARRIER_ADMIN
            ).values_list("user_id", flat=True)
        )
    )


# --- The ops stream ---------------------------------------------------------------------
OPS_ALL = "all"


def ops_scopes(actor: Actor) -> list[str]:
    """The ops scopes the actor follows: ``all`` (the platform), ``operator:<id>`` for each
    station operator they administer, ``owner:<id>`` for each battery owner; empty: refused."""
    if not actor.signed_in:
        return []
    if actor.platform_admin:
        return [OPS_ALL]
    return [f"operator:{pk}" for pk in sorted(actor.operator_admin_of)] + [f"owner:{pk}" for pk in sorted(actor.owner_admin_of)]


def ops_scopes_of_station(station: Station) -> list[str]:
    """Who sees a station's status, stock and alerts on the ops stream: its operator, the platform."""
    return [OPS_ALL, f"operator:{station.operator_id}"]


def ops_scope_of_owner(owner_id: int) -> str:
    """Where a battery owner sees its own batteries' stock."""
    return f"owner:{owner_id}"
