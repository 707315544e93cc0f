"""The seam where other code learns that an order changed state.

Services call ``order_state_changed(order_id, new_state)`` through ``transaction.on_commit`` (so
only committed changes are announced, once per transition). Nothing is published here yet: the
live-push issue (``apps/live``) will ``subscribe`` a receiver that sends ``order.state`` to the
driver's phone and ``queue.changed`` to the station's staff.

It is safe whatever the receivers do: with none subscribed it does nothing, and a receiver that
raises is logged and skipped, never failing the request that made the change (pushes are hints,
RELIABILITY.md: a phone that reconnects re-reads the order over HTTP). Receivers get plain values
(ids and state strings), never model instances, and must not write to the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Receiver = Callable[[int, str], None]
_receivers: list[Receiver] = []


def subscribe(receiver: Receiver) -> None:
    """Call ``receiver(order_id, new_state)`` after every committed transition (idempotent)."""
    if receiver not in _receivers:
        _receivers.append(receiver)


def unsubscribe(receiver: Receiver) -> None:
    if receiver in _receivers:
        _receivers.remove(receiver)


def order_state_changed(order_id: int, state: str) -> None:
    """Announce a committed transition to every receiver; never raises."""
    for receiver in list(_receivers):
        try:
            receiver(order_id, state)
        except Exception:
            logger.exception("order event receiver %r failed for order %s → %s", receiver, order_id, state)
