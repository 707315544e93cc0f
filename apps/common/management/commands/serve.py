"""``manage.py serve``: HTTP and WebSocket on one port (uvicorn), with the beat schedule run
in-process when there is no broker, and (``SWAPNET_SIMULATE_CONTROLLERS``, on in the embedded
default) stand-in controllers for the demo stations speaking the controller API to this server.
The embedded default's server; the real mode uses gunicorn + uvicorn + Celery instead (README.md)."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.common.scheduler import EmbeddedBeat
from apps.swaps.simulator import simulate_in_background


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket on one port; runs periodic tasks in-process in the embedded default."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-beat", action="store_true", help="Do not run the periodic tasks in this process.")
        parser.add_argument(
            "--no-controllers", action="store_true", help="Do not run the demo stations' stand-in controllers in this process."
        )

    def handle(self, *args: Any, host: str, port: int, no_beat: bool, no_controllers: bool, **options: Any) -> None:
        beat = None
        if settings.CELERY_TASK_ALWAYS_EAGER and not no_beat:
            beat = EmbeddedBeat()
            beat.start()
        local = {"127.0.0.1", "0.0.0.0"}  # noqa: S104 - only shown as "localhost", not bound
        shown_host = "localhost" if host in local else host
        controllers = None
        if settings.SIMULATE_CONTROLLERS and not no_controllers:
            own_address = "127.0.0.1" if host in local else host
            controllers = simulate_in_background(
                f"http://{own_address}:{port}", log=lambda message: self.stdout.write(f"  controller  {message}")
            )
        self.stdout.write(self.style.SUCCESS(f"swapnet is serving at http://{shown_host}:{port}/"))
        self.stdout.write(f"  API docs  http://{shown_host}:{port}/api/docs/")
        self.stdout.write(f"  admin     http://{shown_host}:{port}/admin/")
        self.stdout.write(
            f"  database  {settings.DATABASE_DESCRIPTION}; periodic tasks {'in-process' if beat else 'by celery beat'}"
        )
        if controllers is not None:
            self.stdout.write("  stations  stand-in controllers in-process (heartbeats, bay screens, swaps, charging)")
        try:
            uvicorn.run("swapnet.asgi:application", host=host, port=port, lifespan="off", log_level="warning")
        finally:
            if controllers is not None:
                controllers.set()
            if beat is not None:
                beat.stop()
