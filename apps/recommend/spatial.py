"""A spatial index of stations: nearest-station search that does not scan every station.

One scikit-learn ``BallTree`` (haversine metric, coordinates in radians) per pack standard, over
the stations that serve it, so a query only ever sees stations that could swap the vehicle's
pack. A query costs O(k log n); the whole network is read only when the index is (re)built.

Each process keeps its own index (nothing here assumes one process). It is keyed by a version of
the stations: their count, their latest ``updated_at``, and the count and highest id of the
station-to-pack-standard links (a link change does not touch ``updated_at``). Reading that
version scans the stations table, so a process reads it at most once every
``RECOMMEND_RECHECK_SECONDS`` (0: every time); a station added in between is found after at
most that long. Moved or removed stations are never answered wrongly meanwhile: the index only
proposes candidates, whose coordinates the caller reads again from the database.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max
from sklearn.neighbors import BallTree

from apps.assets.models import Station
from apps.recommend.geometry import EARTH_RADIUS_KM

StationsVersion = tuple[Any, ...]


@dataclass(frozen=True)
class Near:
    station_id: int
    km: float  # great-circle distance (a sphere of the mean Earth radius)


@dataclass(frozen=True)
class _Tree:
    tree: BallTree
    station_ids: np.ndarray[Any, np.dtype[np.int64]]


class StationIndex:
    def __init__(self, version: StationsVersion, trees: dict[int, _Tree], size: int) -> None:
        self.version = version
        self.size = size
        self._trees = trees

    @classmethod
    def build(cls, version: StationsVersion) -> StationIndex:
        coordinates = {
            pk: (float(lat), float(lon)) for pk, lat, lon in Station.objects.values_list("pk", "latitude", "longitude")
        }
        by_standard: dict[int, list[int]] = {}
        links = Station.pack_standards.through.objects.values_list("station_id", "packstandard_id")
        for station_id, standard_id in links.iterator(chunk_size=10_000):
            by_standard.setdefault(standard_id, []).append(station_id)
        trees = {}
        for standard_id, station_ids in by_standard.items():
            ids = np.array(sorted(station_ids), dtype=np.int64)
            points = np.radians(np.array([coordinates[pk] for pk in ids], dtype=np.float64))
            trees[standard_id] = _Tree(BallTree(points, metric="haversine"), ids)
        return cls(version, trees, len(coordinates))

    def nearest(
        self, *, pack_standard_id: int, latitude: float, longitude: float, k: int, within_km: float = math.inf
    ) -> list[Near]:
        """Up to ``k`` stations serving the pack standard, nearest first, within ``within_km``."""
        entry = self._trees.get(pack_standard_id)
        if entry is None or k < 1:
            return []
        count = min(k, len(entry.station_ids))
        distances, indices = entry.tree.query(np.radians([[latitude, longitude]]), k=count, sort_results=True)
        return [
            Near(int(entry.station_ids[index]), float(distance) * EARTH_RADIUS_KM)
            for distance, index in zip(distances[0], indices[0], strict=True)
            if distance * EARTH_RADIUS_KM <= within_km
        ]


def stations_version() -> StationsVersion:
    stations = Station.objects.aggregate(count=Count("pk"), last=Max("updated_at"))
    links = Station.pack_standards.through.objects.aggregate(count=Count("pk"), last=Max("pk"))
    return (stations["count"], stations["last"], links["count"], links["last"])


_lock = threading.Lock()
_index: StationIndex | None = None
_checked_at = -math.inf


def station_index() -> StationIndex:
    """This process's index, rebuilt when the stations changed (checked at most every
    ``RECOMMEND_RECHECK_SECONDS``)."""
    global _index, _checked_at
    index = _index
    if index is not None and time.monotonic() - _checked_at < settings.RECOMMEND_RECHECK_SECONDS:
        return index
    with _lock:
        if _index is not None and time.monotonic() - _checked_at < settings.RECOMMEND_RECHECK_SECONDS:
            return _index
        version = stations_version()
        if _index is None or _index.version != version:
            _index = StationIndex.build(version)
        _checked_at = time.monotonic()
        return _index


def station_index_forget() -> None:
    """Drop this process's index (tests, and the benchmark)."""
    global _index, _checked_at
    with _lock:
        _index, _checked_at = None, -math.inf
