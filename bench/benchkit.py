"""What the benchmarks share: their throwaway PostgreSQL database, a clean environment for the
processes they start, ``manage.py`` in such a process, percentiles and log tails.

Every bench talks to loopback addresses only; ``loopback_only`` is the check of its options.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = frozenset({LOOPBACK, "localhost"})


def loopback_only(parser: argparse.ArgumentParser, *hosts: str) -> None:
    for host in hosts:
        if host not in LOOPBACK_NAMES:
            parser.error(f"{host}: the bench only talks to loopback addresses")


@dataclass(frozen=True)
class Postgres:
    """A throwaway database of the bench: ``create`` drops it first; ``drop`` ends it, even with
    connections still open."""

    database: str
    host: str = LOOPBACK
    port: int = 5432
    user: str = "postgres"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True)

    def drop(self) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))

    def create(self) -> None:
        self.drop()
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def server_version(self) -> str:
        with self.admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without swapnet's own settings (``SWAPNET_*``, ``DATABASE_URL``,
    ``REDIS_URL``), plus ``settings``: a bench decides every setting of the processes it starts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SWAPNET_", "DATABASE_URL", "REDIS_URL"))}
    env.update(settings)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    """``manage.py *args`` in a new process with ``env``; its output, or RuntimeError with its end."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr.strip()[-3000:] or done.stdout.strip()[-3000:]}")
    return done.stdout


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
