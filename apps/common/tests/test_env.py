from __future__ import annotations

from pathlib import Path

import pytest

from swapnet import env


def test_no_database_url_means_the_embedded_sqlite_file(monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    parsed = env.database("DATABASE_URL", default_sqlite_path=Path("/srv/swapnet.sqlite3"))
    assert parsed.engine == "sqlite"
    assert parsed.settings == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/swapnet.sqlite3"}


def test_postgres_url_is_split_into_django_settings(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://swap%40net:p%2Fw@db.internal:6432/swapnet?sslmode=require")
    parsed = env.database("DATABASE_URL", default_sqlite_path=Path("unused"))
    assert parsed.settings == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "swapnet",
        "USER": "swap@net",
        "PASSWORD": "p/w",
        "HOST": "db.internal",
        "PORT": "6432",
        "OPTIONS": {"sslmode": "require"},
    }
    assert parsed.description == "postgresql db.internal:6432/swapnet"


@pytest.mark.parametrize(
    ("url", "name"), [("sqlite:///var/db.sqlite3", "var/db.sqlite3"), ("sqlite:////srv/db.sqlite3", "/srv/db.sqlite3")]
)
def test_sqlite_urls_are_relative_with_three_slashes_and_absolute_with_four(monkeypatch, url: str, name: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert env.database("DATABASE_URL", default_sqlite_path=Path("unused")).settings["NAME"] == name


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", True)])
def test_flags(monkeypatch, raw: str, value: bool) -> None:
    monkeypatch.setenv("SWAPNET_X", raw)
    assert env.flag("SWAPNET_X", True) is value


def test_integer_below_its_minimum_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("SWAPNET_X", "3")
    with pytest.raises(env.ConfigError) as raised:
        env.integer("SWAPNET_X", 10, minimum=10)
    assert (raised.value.variable, raised.value.problem) == ("SWAPNET_X", "must be at least 10, got 3")
