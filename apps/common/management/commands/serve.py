"""``manage.py serve``: HTTP and WebSocket on one port (uvicorn), with the beat schedule run
in-process when there is no broker. The embedded default's server; the real mode uses
gunicorn + uvicorn + Celery instead (README.md)."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.common.scheduler import EmbeddedBeat


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket on one port; runs periodic tasks in-process in the embedded default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-beat", action="store_true", help="Do not run the periodic tasks in this process.")

    def handle(self, *args: Any, host: str, port: int, no_beat: bool, **options: Any) -> None:
        beat = None
        if settings.CELERY_TASK_ALWAYS_EAGER and not no_beat:
            beat = EmbeddedBeat()
            beat.start()
        local = {"127.0.0.1", "0.0.0.0"}  # noqa: S104 - only shown as "localhost", not bound
        shown_host = "localhost" if host in local else host
        self.stdout.write(self.style.SUCCESS(f"swapnet is serving at http://{shown_host}:{port}/"))
        self.stdout.write(f"  API docs  http://{shown_host}:{port}/api/docs/")
        self.stdout.write(f"  admin     http://{shown_host}:{port}/admin/")
        self.stdout.write(
            f"  database  {settings.DATABASE_DESCRIPTION}; periodic tasks {'in-process' if beat else 'by celery beat'}"
        )
        try:
            uvicorn.run("swapnet.asgi:application", host=host, port=port, lifespan="off", log_level="warning")
        finally:
            if beat is not None:
                beat.stop()
