from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from apps.assets.models import Station


def simulated_heartbeats_send() -> int:
    """Stamp a heartbeat on every station, standing in for controllers in the demo."""
    if not settings.SIMULATE_CONTROLLERS:
        return 0
    return Station.objects.update(last_heartbeat_at=timezone.now())
