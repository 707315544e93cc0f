"""Periodic ledger work. Each task calls one service; both are idempotent, so a redelivered
task (acks_late) does no harm.

Beat entries to add to ``CELERY_BEAT_SCHEDULE``::

    "ledger-expire-holds": {"task": "apps.ledger.tasks.expire_holds", "schedule": timedelta(minutes=1)},
    "ledger-close-statements": {"task": "apps.ledger.tasks.close_statements", "schedule": timedelta(hours=1)},
"""

from __future__ import annotations

from celery import shared_task

from apps.ledger import services


@shared_task
def expire_holds() -> int:
    """Void the holds past their expiry; returns how many."""
    return services.holds_expire()


@shared_task
def close_statements() -> int:
    """Close every ended account period into statements; returns how many."""
    return services.statements_close_due()
