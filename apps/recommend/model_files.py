"""The recommender's model files under ``settings.RECOMMEND_MODEL_DIR`` (default ``var/models/``).

Each training run that fits a model writes, atomically:

- ``recommender-v0007.joblib``: the fitted scikit-learn estimator (joblib);
- ``recommender-v0007.json``: its metadata: version, trained_at, feature names, the learned
  weights, the number of choices it was trained and tested on, the top-1 and top-3 hit rates on
  the held-out choices of the model and of the documented weighted score, and ``better``;
- ``current.json``: a copy of the newest metadata. The API reads only this file.

The API uses the learned weights only when ``current.json`` exists, says ``better`` and its
estimator loads with the expected features; otherwise (no model yet, a model that lost to the
weighted score, an unreadable file) it uses the documented weighted score. Each process loads a
model once and reloads when ``current.json`` changes. The files are the server's own: a joblib
file is a pickle, so never point the directory at files from anyone else.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings

from apps.recommend.scoring import FEATURES, Weights

logger = logging.getLogger(__name__)

CURRENT = "current.json"
PREFIX = "recommender-v"


@dataclass(frozen=True)
class LearnedModel:
    version: str
    weights: Weights
    metadata: dict[str, Any]


def model_dir() -> Path:
    return Path(settings.RECOMMEND_MODEL_DIR)


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _claim_version(directory: Path) -> tuple[str, Path]:
    """The next version number, claimed by creating its model file exclusively (two trainings
    at once get two numbers)."""
    numbers = [
        int(path.stem.removeprefix(PREFIX)) for path in directory.glob(f"{PREFIX}*.json") if path.stem[len(PREFIX) :].isdigit()
    ]
    number = max(numbers, default=0) + 1
    while True:
        path = directory / f"{PREFIX}{number:04d}.joblib"
        try:
            path.touch(exist_ok=False)
        except FileExistsError:
            number += 1
            continue
        return f"v{number:04d}", path


def model_save(*, estimator: Any, metadata: dict[str, Any]) -> tuple[str, Path]:
    """Write a new version (estimator, metadata, then ``current.json``); returns (version, metadata path)."""
    directory = model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    version, model_path = _claim_version(directory)
    document = {**metadata, "version": version, "model_file": model_path.name}
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        scratch_file = Path(scratch) / "model.joblib"
        joblib.dump({"estimator": estimator, "features": list(FEATURES)}, scratch_file)
        os.replace(scratch_file, model_path)
    encoded = json.dumps(document, indent=2, sort_keys=True).encode()
    metadata_path = model_path.with_suffix(".json")
    _write_atomically(metadata_path, encoded)
    _write_atomically(directory / CURRENT, encoded)
    _prune(directory, keep=settings.RECOMMEND_MODELS_KEPT)
    return version, metadata_path


def _prune(directory: Path, *, keep: int) -> None:
    versions = sorted(path.stem for path in directory.glob(f"{PREFIX}*.json"))
    for stem in versions[:-keep] if keep > 0 else []:
        for suffix in (".json", ".joblib"):
            (directory / f"{stem}{suffix}").unlink(missing_ok=True)


_lock = threading.Lock()
_loaded: tuple[tuple[str, int, int], LearnedModel | None] | None = None


def active_model() -> LearnedModel | None:
    """The learned weights to use now, or None for the documented weighted score."""
    global _loaded
    current = model_dir() / CURRENT
    try:
        stat = current.stat()
    except FileNotFoundError:
        return None
    key = (str(current), stat.st_mtime_ns, stat.st_size)
    loaded = _loaded
    if loaded is not None and loaded[0] == key:
        return loaded[1]
    with _lock:
        model = _load(current)
        _loaded = (key, model)
        return model


def _load(current: Path) -> LearnedModel | None:
    try:
        metadata = json.loads(current.read_text())
        if not metadata.get("better"):
            return None
        stored = joblib.load(current.parent / metadata["model_file"])
        if list(stored["features"]) != list(FEATURES):
            logger.warning(
                "recommender model %s has features %s, expected %s", metadata.get("version"), stored["features"], FEATURES
            )
            return None
        coefficients = stored["estimator"].coef_[0]
        return LearnedModel(
            version=str(metadata["version"]), weights=Weights.of([float(c) for c in coefficients]), metadata=metadata
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        logger.exception("recommender model in %s cannot be used; the weighted score is used", current.parent)
        return None
