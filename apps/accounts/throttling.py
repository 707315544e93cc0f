"""Fixed-window attempt counters for sign-in and text-message codes, kept in Django's cache.

The cache is per process in the embedded default (LocMem) and Redis in the real mode, so the
limits hold across processes there. Limits come from ``settings.THROTTLE_LIMITS``:
``{action: {"phone" | "address": (attempts, window)}}``.

Like DRF's throttling this is best effort against guessing and text-message spam, not a
security control by itself: passwords are hashed slowly and codes expire after a few tries.

The client address is ``REMOTE_ADDR``. Behind a reverse proxy, the proxy must pass the real
address on (uWSGI/Daphne/Gunicorn ``--forwarded-allow-ips`` or the like), or set
``SWAPNET_TRUSTED_PROXY_COUNT`` to the number of proxies that append to ``X-Forwarded-For``;
the header is never trusted otherwise, since any client can send one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from rest_framework import status
from rest_framework.request import Request

from apps.common.errors import ApplicationError

Scope = Literal["phone", "address"]


class Throttled(ApplicationError):
    """Too many attempts in the window; ``retry_after`` is the seconds until it ends."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "throttled",
            gettext("Too many attempts. Try again in %(seconds)d seconds.") % {"seconds": retry_after},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottleTicket:
    """The counters one attempt increased, so that ``throttle_refund`` can give it back."""

    keys: tuple[str, ...] = ()


def _limit(action: str, scope: Scope) -> tuple[int, int] | None:
    limits: Mapping[str, Mapping[str, tuple[int, timedelta]]] = settings.THROTTLE_LIMITS
    configured = limits.get(action, {}).get(scope)
    if configured is None:
        return None
    attempts, window = configured
    return attempts, max(1, int(window.total_seconds()))


def _counter_key(action: str, scope: Scope, value: str, window_index: int) -> str:
    # Keyed hash: the cache (Redis in production) never holds a mobile number or an address.
    digest = salted_hmac("swapnet.accounts.throttling", value, algorithm="sha256").hexdigest()[:32]
    return f"throttle:{action}:{scope}:{digest}:{window_index}"


def _count(key: str, window_seconds: int) -> int:
    # add + incr are each atomic in LocMem and Redis, so concurrent attempts are all counted.
    cache.add(key, 0, timeout=window_seconds + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds + 1)
        return 1


def throttle_hit(*, action: str, phone: str | None = None, client_address: str | None = None) -> ThrottleTicket:
    """Count one attempt per phone and per address; raise ``Throttled`` once over a limit.

    Every attempt is counted before it is judged, so parallel requests cannot slip past the
    limit; ``throttle_refund`` gives back the attempts that turned out to be legitimate.
    """
    now = time.time()
    keys: list[str] = []
    retry_after = 0
    scopes: tuple[tuple[Scope, str | None], ...] = (("address", client_address), ("phone", phone))
    for scope, value in scopes:
        limit = _limit(action, scope) if value else None
        if limit is None or value is None:
            continue
        attempts, window_seconds = limit
        window_index = int(now // window_seconds)
        key = _counter_key(action, scope, value, window_index)
        if _count(key, window_seconds) > attempts:
            retry_after = max(retry_after, math.ceil((window_index + 1) * window_seconds - now))
        else:
            keys.append(key)
    if retry_after:
        raise Throttled(retry_after=max(1, retry_after))
    return ThrottleTicket(tuple(keys))


def throttle_refund(ticket: ThrottleTicket) -> None:
    """Take back the attempts of ``ticket`` (a successful sign-in should not use up the limit)."""
    for key in ticket.keys:
        with contextlib.suppress(ValueError):  # the window has ended: nothing to give back
            cache.decr(key)


def client_address(request: HttpRequest | Request) -> str:
    """The caller's address for per-address limits; an IPv6 caller counts as its /64 network
    (one subscriber usually holds a whole /64)."""
    address = str(request.META.get("REMOTE_ADDR") or "")
    proxies: int = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
        # Each trusted proxy appends the address it was called from; anything further left
        # was written by the client and may be forged.
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
