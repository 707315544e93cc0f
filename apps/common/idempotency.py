"""``Idempotency-Key`` for POSTs that create or move something (API.md, RELIABILITY.md).

A key is unique per caller (``scope``: ``user:<id>``, or whatever the authenticated principal
names as its ``idempotency_scope``, e.g. a station controller) and per key string, by a unique
constraint on ``IdempotencyRecord``:

1. **claim**: the first request inserts the record *in flight*, in its own short transaction,
   so that a concurrent request with the same key sees it at once;
2. **run**: the view runs inside one database transaction, and its response is written to the
   record in that same transaction: the effect and the stored response commit together, or
   neither does;
3. **retry**: the same key with the same request (method, path and body) gets the stored response
   again, with ``Idempotent-Replayed: true``, and changes nothing; the same key with another
   request is ``422 idempotency_key_reused``; while the first is still running,
   ``409 idempotency_in_flight``.

A refusal (an exception: ``ApplicationError``, a validation error, a crash) rolls the effect back
and releases the claim, so the same key may be retried: a refusal changes nothing, and what it
would answer may change (a top-up arrives, a battery is charged). A claim whose request died
without releasing it (a killed worker) may be taken over after ``IDEMPOTENCY_IN_FLIGHT_TIMEOUT``.
Records are kept ``IDEMPOTENCY_RETENTION`` (at least the 24 h Stripe promises), then purged by a
periodic task.

Requests without the header run as they are, without a record (their services are atomic). Use
``@idempotent`` on an ``APIView`` method; ``idempotency_run`` is the same without DRF.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.errors import ApplicationError, Conflict
from apps.common.models import IdempotencyRecord, IdempotencyState

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


def key_reused() -> ApplicationError:
    return ApplicationError(
        "idempotency_key_reused",
        _("This Idempotency-Key was already used for a different request; use a new key for a new request."),
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def in_flight() -> Conflict:
    return Conflict("idempotency_in_flight", _("A request with this Idempotency-Key is still being processed; retry shortly."))


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ApplicationError(
            "idempotency_key_invalid",
            _("An Idempotency-Key is 1 to %(n)d printable characters.") % {"n": MAX_KEY_LENGTH},
        )
    return key


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """What a retry must repeat exactly: method, path with query, body bytes."""
    digest = hashlib.sha256()
    digest.update(f"{method.upper()} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    assert record.response_status is not None
    return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


def _claim(*, scope: str, key: str, request_hash: str, now: datetime) -> IdempotencyRecord | None:
    """Claim the key for this request. Returns the finished record to replay, or None when the
    caller now holds the claim; refuses a reused key or one in flight."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=request_hash, claimed_at=now)
            return None
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # released between our insert and our read: claim it anew
        if existing.request_hash != request_hash:
            raise key_reused()
        if existing.state == IdempotencyState.DONE:
            return existing
        stale_before = now - settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT
        if existing.claimed_at < stale_before:
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, state=IdempotencyState.IN_FLIGHT, claimed_at=existing.claimed_at
            ).update(claimed_at=now)
            if taken:
                return None
        raise in_flight()
    raise in_flight()


def _release(*, scope: str, key: str, claimed_at: datetime) -> None:
    IdempotencyRecord.objects.filter(scope=scope, key=key, state=IdempotencyState.IN_FLIGHT, claimed_at=claimed_at).delete()


def idempotency_run(*, scope: str, key: str | None, request_hash: str, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` (which returns a DRF response) at most once per ``(scope, key)``."""
    if key is None:
        return handler()  # its services are atomic themselves; nothing to remember
    key = _check_key(key)
    now = timezone.now()
    finished = _claim(scope=scope, key=key, request_hash=request_hash, now=now)
    if finished is not None:
        return _replay(finished)
    try:
        with transaction.atomic():
            response = handler()
            IdempotencyRecord.objects.filter(scope=scope, key=key, claimed_at=now).update(
                state=IdempotencyState.DONE,
                response_status=response.status_code,
                response_body=response.data,
                completed_at=timezone.now(),
            )
            return response
    except BaseException:
        _release(scope=scope, key=key, claimed_at=now)
        raise


def idempotency_scope(request: Request) -> str:
    """Whose keys these are: the principal's ``idempotency_scope`` (controllers), else the user."""
    principal = request.user
    scope = getattr(principal, "idempotency_scope", None)
    if isinstance(scope, str):
        return scope
    return f"user:{principal.pk}"


def _body(request: Request) -> bytes:
    try:
        return request.body
    except RawPostDataException:
        # A form body already consumed as a stream: its parsed content stands in for the bytes.
        return json.dumps(request.data, sort_keys=True, default=str).encode()


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an ``APIView`` method (after authentication has run) to honour ``Idempotency-Key``."""

    @functools.wraps(method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        return idempotency_run(
            scope=idempotency_scope(request),
            key=request.headers.get(HEADER),
            request_hash=request_fingerprint(method=request.method or "", path=request.get_full_path(), body=_body(request)),
            handler=lambda: method(view, request, *args, **kwargs),
        )

    return wrapper


def idempotency_records_purge(*, now: datetime | None = None, older_than: timedelta | None = None) -> int:
    """Delete finished records older than the retention (and abandoned claims); returns how many."""
    cutoff = (now or timezone.now()) - (older_than or settings.IDEMPOTENCY_RETENTION)
    deleted, _by_model = IdempotencyRecord.objects.filter(claimed_at__lt=cutoff).delete()
    return deleted
