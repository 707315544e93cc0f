"""The generic Idempotency-Key machinery: replay, reuse, in flight, release on refusal, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.response import Response

from apps.common.errors import ApplicationError
from apps.common.idempotency import idempotency_records_purge, idempotency_run, request_fingerprint
from apps.common.models import IdempotencyRecord, IdempotencyState

pytestmark = pytest.mark.django_db
HASH = request_fingerprint(method="POST", path="/api/v1/things", body=b'{"a":1}')


class Counter:
    def __init__(self, status: int = 201) -> None:
        self.calls = 0
        self.status = status

    def __call__(self) -> Response:
        self.calls += 1
        return Response({"call": self.calls}, status=self.status)


def run(handler, *, key: str | None = "key-1", request_hash: str = HASH, scope: str = "user:1") -> Response:
    return idempotency_run(scope=scope, key=key, request_hash=request_hash, handler=handler)


def test_without_a_key_every_request_runs() -> None:
    handler = Counter()
    run(handler, key=None)
    run(handler, key=None)
    assert handler.calls == 2
    assert not IdempotencyRecord.objects.exists()


def test_the_same_key_and_request_replay_the_first_response() -> None:
    handler = Counter()
    first = run(handler)
    again = run(handler)
    assert handler.calls == 1
    assert (again.status_code, again.data, again.headers["Idempotent-Replayed"]) == (201, {"call": 1}, "true")
    assert first.data == {"call": 1}
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.response_status) == (IdempotencyState.DONE, 201)


def test_the_fingerprint_covers_method_path_and_body() -> None:
    assert (
        len(
            {
                HASH,
                request_fingerprint(method="PUT", path="/api/v1/things", body=b'{"a":1}'),
                request_fingerprint(method="POST", path="/api/v1/things?x=1", body=b'{"a":1}'),
                request_fingerprint(method="POST", path="/api/v1/things", body=b'{"a":2}'),
            }
        )
        == 4
    )


def test_the_same_key_with_another_request_is_refused() -> None:
    handler = Counter()
    run(handler)
    with pytest.raises(ApplicationError) as refused:
        run(handler, request_hash=request_fingerprint(method="POST", path="/api/v1/things", body=b'{"a":2}'))
    assert (refused.value.code, refused.value.status_code) == ("idempotency_key_reused", 422)
    assert handler.calls == 1


def test_a_key_in_flight_answers_409() -> None:
    IdempotencyRecord.objects.create(scope="user:1", key="key-1", request_hash=HASH, claimed_at=timezone.now())
    handler = Counter()
    with pytest.raises(ApplicationError) as refused:
        run(handler)
    assert (refused.value.code, refused.value.status_code) == ("idempotency_in_flight", 409)
    assert handler.calls == 0


def test_an_abandoned_claim_is_taken_over() -> None:
    IdempotencyRecord.objects.create(
        scope="user:1", key="key-1", request_hash=HASH, claimed_at=timezone.now() - timedelta(minutes=5)
    )
    handler = Counter()
    assert run(handler).data == {"call": 1}
    assert IdempotencyRecord.objects.get().state == IdempotencyState.DONE


def test_a_refusal_releases_the_key_and_keeps_no_effect() -> None:
    def refuse() -> Response:
        IdempotencyRecord.objects.create(scope="other", key="side-effect", request_hash=HASH, claimed_at=timezone.now())
        raise ApplicationError("nope", "No.")

    with pytest.raises(ApplicationError):
        run(refuse)
    assert not IdempotencyRecord.objects.exists()  # neither the claim nor the effect
    handler = Counter()
    assert run(handler).data == {"call": 1}


def test_keys_are_per_scope() -> None:
    handler = Counter()
    run(handler, scope="user:1")
    run(handler, scope="controller:7")
    assert handler.calls == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        run(Counter(), key=key)
    assert refused.value.code == "idempotency_key_invalid"


def test_old_records_are_purged() -> None:
    run(Counter(), key="old")
    IdempotencyRecord.objects.filter(key="old").update(claimed_at=timezone.now() - timedelta(hours=49))
    run(Counter(), key="new")
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
