from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.common.models import IdempotencyRecord
from apps.common.scheduler import EmbeddedBeat

pytestmark = pytest.mark.django_db(transaction=True)


def expired_idempotency_key(key: str) -> IdempotencyRecord:
    long_ago = timezone.now() - settings.IDEMPOTENCY_RETENTION - timedelta(hours=1)
    return IdempotencyRecord.objects.create(scope="user:1", key=key, request_hash="0" * 64, claimed_at=long_ago)


def test_embedded_beat_runs_each_entry_at_start_then_waits_for_its_period() -> None:
    expired_idempotency_key("first")
    beat = EmbeddedBeat({"purge": {"task": "apps.common.tasks.purge_idempotency_records", "schedule": timedelta(seconds=30)}})
    wait = beat.run_due()
    assert not IdempotencyRecord.objects.exists()
    assert 25 <= wait <= 30
    expired_idempotency_key("second")
    beat.run_due()  # not due again yet
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["second"]
