"""Periodic upkeep of what apps/common keeps for every app."""

from __future__ import annotations

from celery import shared_task

from apps.common.idempotency import idempotency_records_purge


@shared_task
def purge_idempotency_records() -> int:
    """Forget Idempotency-Keys past their retention; returns how many."""
    return idempotency_records_purge()
