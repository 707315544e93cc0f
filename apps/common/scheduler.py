"""The beat schedule run in-process, for the embedded default (no broker, no beat process).

In the real mode ``celery -A swapnet beat`` reads the same ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    name: str
    task: str
    schedule: Any
    last_run_at: datetime


class EmbeddedBeat(threading.Thread):
    def __init__(self, schedule: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(name="swapnet-embedded-beat", daemon=True)
        from swapnet.celery import app

        app.loader.import_default_modules()  # registers every app's tasks, as a worker would
        now = timezone.now()
        entries: dict[str, Any] = schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE
        self.entries: list[_Entry] = []
        for name, spec in entries.items():
            every: Any = maybe_schedule(spec["schedule"])
            # last_run_at one period ago: every entry runs once at start, then on its schedule.
            self.entries.append(_Entry(name, str(spec["task"]), every, now - every.run_every))
        self.stopping = threading.Event()

    def run_due(self) -> float:
        """Run every due entry once; return the seconds until the next one is due."""
        from swapnet.celery import app

        wait = 60.0
        for entry in self.entries:
            due, next_in = entry.schedule.is_due(entry.last_run_at)
            if due:
                entry.last_run_at = timezone.now()
                result = app.tasks[entry.task].apply()
                if result.failed():
                    logger.error("scheduled task %s failed: %s", entry.name, result.result)
                close_old_connections()
            wait = min(wait, float(next_in))
        return max(wait, 0.5)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.stopping.wait(self.run_due())

    def stop(self) -> None:
        self.stopping.set()
