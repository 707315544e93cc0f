"""Start-up guard: a bad or unreachable setting stops the process with one clear line.

Used by ``manage.py``, ``wsgi.py``, ``asgi.py`` and ``celery.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from swapnet.env import ConfigError

T = TypeVar("T")

# Commands that talk to the database or Redis; the others (help, check, makemigrations, ...)
# must work without them.
COMMANDS_NEEDING_SERVICES = {"migrate", "serve", "seed_demo", "runserver", "shell", "createsuperuser"}


def fail(error: ConfigError) -> NoReturn:
    sys.stderr.write(f"swapnet: configuration error: {error.variable}: {error.problem}\n")
    raise SystemExit(2)


def check_services() -> None:
    """Connect to the database and to Redis once; raise ConfigError naming the variable."""
    from django.conf import settings
    from django.db import connection

    try:
        connection.ensure_connection()
        connection.close()  # only a probe: request threads open their own
    except Exception as exc:  # any driver error means: cannot start
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError("DATABASE_URL", f"cannot connect to {settings.DATABASE_DESCRIPTION}: {reason}") from None
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3).ping()
        except Exception as exc:
            raise ConfigError("REDIS_URL", f"cannot connect to Redis: {exc}") from None


def guarded(load: Callable[[], T], *, probe: bool = True) -> T:
    """Run ``load`` (which reads the settings), turning a ConfigError into one line and exit 2."""
    try:
        loaded = load()
        if probe:
            check_services()
        return loaded
    except ConfigError as error:
        fail(error)


def run_cli(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    command = argv[1] if len(argv) > 1 else ""
    try:
        if command in COMMANDS_NEEDING_SERVICES:
            import django

            django.setup()
            check_services()
        execute_from_command_line(argv)
    except ConfigError as error:
        fail(error)
