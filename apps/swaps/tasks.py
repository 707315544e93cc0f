"""Periodic swap work. Each task calls one service; the services re-check every order under its
lock, so a redelivered task (acks_late) does no harm.

Beat entries (``CELERY_BEAT_SCHEDULE`` in settings): ``swaps-cancel-no-shows`` and
``swaps-flag-stalled-swaps`` every minute, ``swaps-settle-orders`` every 15 minutes.
"""

from __future__ import annotations

from celery import shared_task

from apps.swaps import services


@shared_task
def cancel_no_shows() -> int:
    """Skip called drivers who did not arrive: cancel, release the battery, void the hold."""
    return services.orders_cancel_no_shows()


@shared_task
def flag_stalled_swaps() -> int:
    """Mark abnormal the swaps that timed out or whose controller went offline."""
    return services.orders_flag_stalled()


@shared_task
def settle_orders() -> int:
    """Settle the completed orders whose payment is in every party's closed statement."""
    return services.orders_settle()
