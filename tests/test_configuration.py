"""A malformed or unreachable setting stops start-up with one clear line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE_POSTGRES = "postgres://postgres@127.0.0.1:1/swapnet"


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("DATABASE_URL", "mysql://root@localhost/swapnet", "unsupported scheme 'mysql'"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:port/swapnet", "the port is not a number"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432", "names no database"),
        ("REDIS_URL", "http://127.0.0.1:6379", "unsupported scheme 'http'"),
        ("SWAPNET_DEBUG", "maybe", "expected 1/0"),
        ("SWAPNET_STATION_OFFLINE_AFTER_S", "two minutes", "expected a whole number"),
        ("STRIPE_SECRET_KEY", "sk_test_123", "STRIPE_WEBHOOK_SECRET"),
    ],
)
def test_malformed_setting_stops_with_one_line(variable: str, value: str, says: str) -> None:
    result = run(["manage.py", "check"], **{variable: value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("swapnet: configuration error: ")
    assert says in lines[0]


def test_secure_mode_refuses_the_embedded_secret_key() -> None:
    result = run(["manage.py", "check"], SWAPNET_SECURE="1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "swapnet: configuration error: SWAPNET_SECRET_KEY: must be set to a long random value when SWAPNET_SECURE=1"
    )


def test_unreachable_database_stops_migrate_with_one_line() -> None:
    result = run(["manage.py", "migrate"], DATABASE_URL=UNREACHABLE_POSTGRES)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "swapnet: configuration error: DATABASE_URL: cannot connect to postgresql 127.0.0.1:1/swapnet"
    )


def test_unreachable_redis_stops_the_wsgi_application_with_one_line() -> None:
    result = run(["-c", "import swapnet.wsgi"], REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("swapnet: configuration error: REDIS_URL: cannot connect to Redis")


def test_commands_that_need_no_services_run_without_them() -> None:
    result = run(["manage.py", "check"], DATABASE_URL=UNREACHABLE_POSTGRES)
    assert result.returncode == 0, result.stderr
