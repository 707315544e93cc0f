"""Settings read from the environment.

Every malformed value raises ``ConfigError`` naming the variable, so start-up can stop with one
clear line instead of a traceback (see ``swapnet.startup``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A setting from the environment is missing, malformed or unreachable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


def text(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, f"expected 1/0, true/false, yes/no or on/off, got {raw!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def listing(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class DatabaseSettings:
    engine: str
    settings: dict[str, object]
    description: str


def database(name: str, *, default_sqlite_path: Path) -> DatabaseSettings:
    """Parse ``postgres://user:password@host:port/dbname`` or ``sqlite:///path``."""
    raw = text(name)
    if not raw:
        return DatabaseSettings(
            engine="sqlite",
            settings={"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)},
            description=f"sqlite {default_sqlite_path}",
        )
    parts = urlsplit(raw)
    if parts.scheme == "sqlite":
        # sqlite:///var/db.sqlite3 is relative, sqlite:////srv/db.sqlite3 absolute.
        path = unquote(parts.path)[1:]
        if not path:
            raise ConfigError(name, "a sqlite URL needs a file path, e.g. sqlite:///var/swapnet.sqlite3")
        return DatabaseSettings(
            engine="sqlite",
            settings={"ENGINE": "django.db.backends.sqlite3", "NAME": path},
            description=f"sqlite {path}",
        )
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigError(name, f"unsupported scheme {parts.scheme!r}; use postgres:// or sqlite://")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ConfigError(name, "the URL names no database, e.g. postgres://user@127.0.0.1:5432/swapnet")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(name, "the port is not a number") from None
    options: dict[str, object] = {}
    for key, values in parse_qs(parts.query).items():
        options[key] = values[-1]
    return DatabaseSettings(
        engine="postgresql",
        settings={
            "ENGINE": "django.db.backends.postgresql",
            "NAME": dbname,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
        },
        description=f"postgresql {parts.hostname or 'local socket'}:{port or 5432}/{dbname}",
    )


def redis_url(name: str) -> str:
    raw = text(name)
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss"}:
        raise ConfigError(name, f"unsupported scheme {parts.scheme!r}; use redis:// or rediss://")
    if not parts.hostname:
        raise ConfigError(name, "the URL names no host, e.g. redis://127.0.0.1:6379/0")
    try:
        _ = parts.port  # urlsplit parses the port lazily
    except ValueError:
        raise ConfigError(name, "the port is not a number") from None
    return raw
