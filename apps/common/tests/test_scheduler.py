from __future__ import annotations

from datetime import timedelta

import pytest

from apps.assets.models import Station
from apps.assets.tests.factories import StationFactory
from apps.common.scheduler import EmbeddedBeat

pytestmark = pytest.mark.django_db(transaction=True)


def test_embedded_beat_runs_each_entry_at_start_then_waits_for_its_period(settings) -> None:
    settings.SIMULATE_CONTROLLERS = True
    StationFactory()
    beat = EmbeddedBeat(
        {"heartbeats": {"task": "apps.demo.tasks.simulate_controller_heartbeats", "schedule": timedelta(seconds=30)}}
    )
    wait = beat.run_due()
    assert Station.objects.filter(last_heartbeat_at__isnull=False).count() == 1
    assert 25 <= wait <= 30
    stamped = Station.objects.get().last_heartbeat_at
    beat.run_due()  # not due again yet
    assert Station.objects.get().last_heartbeat_at == stamped
