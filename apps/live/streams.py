"""Stream names, channel-layer group names and per-stream sequence numbers.

A *stream* is what a client sees in a message's ``stream`` field: ``driver``, ``station:<code>``
or ``ops``. Every message published on a stream takes the next number of that stream's counter,
an atomic increment in the cache (Redis in the real mode, so every process shares it). Numbers
therefore only grow on a connection; on the shared streams (``driver``, ``ops``) they skip the
numbers that went to other people. A connection's snapshot carries the counter as it was just
before the database was read: a message whose ``seq`` is not above it is already in the
snapshot (the consumer drops such messages itself).

Groups (never shown to clients) name who receives: ``live.driver.<user id>``,
``live.queue.<station id>`` (drivers with an order waiting there), ``live.station.<station id>``
(its staff), ``live.ops.<scope>`` (``apps.access.live.ops_scopes``).
"""

from __future__ import annotations

from django.core.cache import cache

DRIVER = "driver"
OPS = "ops"
_KEY = "live:seq:{stream}"


def station_stream(code: str) -> str:
    return f"station:{code}"


def driver_group(user_id: int) -> str:
    return f"live.driver.{user_id}"


def queue_group(station_id: int) -> str:
    return f"live.queue.{station_id}"


def station_group(station_id: int) -> str:
    return f"live.station.{station_id}"


def ops_group(scope: str) -> str:
    return "live.ops." + scope.replace(":", ".")


def seq_take(stream: str, count: int = 1) -> int:
    """Take ``count`` numbers of the stream; returns the last (the first is ``last - count + 1``)."""
    key = _KEY.format(stream=stream)
    cache.add(key, 0, timeout=None)
    try:
        return int(cache.incr(key, count))
    except ValueError:  # evicted between add and incr
        cache.add(key, 0, timeout=None)
        return int(cache.incr(key, count))


def seq_current(stream: str) -> int:
    return int(cache.get(_KEY.format(stream=stream)) or 0)
