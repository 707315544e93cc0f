"""Periodic payment work. Each task calls one service; both are idempotent (every provider call
carries the idempotency key of its row, every ledger posting a unique id), so a redelivered
task (acks_late) does no harm.

Beat entries (``CELERY_BEAT_SCHEDULE`` in settings): ``payments-reconcile`` every 10 minutes,
``payments-run-payouts`` hourly.
"""

from __future__ import annotations

from celery import shared_task

from apps.payments import services


@shared_task
def reconcile_payments() -> dict[str, int]:
    """Read the provider's recent payment intents and repair what lost webhooks missed."""
    return services.payments_reconcile()


@shared_task
def run_payouts() -> int:
    """Pay out every statement that fell due; returns how many payouts were created."""
    return services.payouts_run()
