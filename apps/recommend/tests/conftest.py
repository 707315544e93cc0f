import pytest

from apps.recommend import selectors


@pytest.fixture(autouse=True)
def _recommend_settings(settings, tmp_path):
    # Each test builds its own stations: check the stations' version on every request, and
    # keep model files in the test's own directory.
    settings.RECOMMEND_RECHECK_SECONDS = 0
    settings.RECOMMEND_MODEL_DIR = tmp_path / "models"
    selectors.caches_forget()
    yield
    selectors.caches_forget()
