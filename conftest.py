import uuid

import pytest
from django.conf import settings as django_settings

# On SQLite the ledger's immutability triggers refuse the flush after a transaction=True test;
# this plugin deletes the ledger's rows first (see its docstring).
pytest_plugins = ["apps.ledger.testing"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgresql`` prove row locks and concurrent writers, which SQLite does not
    have; they run in the PostgreSQL pass of ``.ci/run`` and are left out of the SQLite one."""
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    postgres_only = [item for item in items if item.get_closest_marker("postgresql")]
    if postgres_only:
        config.hook.pytest_deselected(items=postgres_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # A cache of its own for each test: what one test counted (sign-in and registration
    # throttles, above all) is never seen by another, nor by the next run of the suite against
    # the same Redis. A key prefix, not a FLUSHDB: both xdist workers share one Redis database.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    # Real hashing costs ~0.3 s a user; the tests check access, not hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The real mode's manifest storage needs collectstatic; tests render pages without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
