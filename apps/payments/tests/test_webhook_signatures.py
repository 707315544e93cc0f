"""RELIABILITY.md #1: the webhook signature matrix. Seven deliveries of one event — valid,
tampered body, wrong secret, v0 only, malformed header, 301 s old, 301 s in the future — give
1 accepted, 6 refused with 400, and 0 side effects from the refused ones. Signatures are made by
the stripe library's own helper; verification is the library's (plus the future check)."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

import pytest
from django.test import Client

from apps.payments.models import EventStatus, ProviderEvent, TopUpStatus
from apps.payments.tests.factories import (
    WEBHOOK_SECRET,
    credits_of,
    event,
    intent_object,
    payer,
    post_webhook,
    side_effects,
    signed,
    top_up,
    use_stripe,
    wallet_fen,
)

pytestmark = pytest.mark.django_db


def _matrix(body: dict) -> dict[str, Callable[[], tuple[bytes, str]]]:
    """Each case made right before it is posted: timestamps are whole seconds, so the one in the
    future is rounded up (301 to 302 s ahead when checked), the old one down."""
    payload, valid = signed(body)
    tampered = payload.replace(b'"amount_received":50000', b'"amount_received":5000000')
    assert tampered != payload

    def v0_only() -> tuple[bytes, str]:
        now = int(time.time())
        v0 = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.{payload.decode()}".encode(), hashlib.sha256).hexdigest()
        return payload, f"t={now},v0={v0}"

    return {
        "tampered body": lambda: (tampered, valid),
        "wrong secret": lambda: signed(body, secret="whsec_not_the_endpoint_secret"),
        "v0 only": v0_only,
        "malformed header": lambda: (payload, "this is not a signature header"),
        "301 s old": lambda: signed(body, timestamp=int(time.time()) - 301),
        "301 s in the future": lambda: signed(body, timestamp=math.ceil(time.time()) + 301),
        "valid": lambda: (payload, valid),  # last: the refusals must not depend on it having happened
    }


def test_signature_matrix_accepts_one_and_refuses_six_without_side_effects(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    client = Client()
    answers: dict[str, int] = {}
    before = side_effects()
    for case, make in _matrix(event("payment_intent.succeeded", intent_object(pending, "succeeded"))).items():
        response = post_webhook(client, *make())
        answers[case] = response.status_code
        if case != "valid":
            assert response.status_code == 400, (case, response.content)
            assert response.json()["error"]["code"] == "signature_invalid", case
            assert side_effects() == before, case

    refused = {case: code for case, code in answers.items() if case != "valid"}
    assert answers["valid"] == 200
    assert refused == dict.fromkeys(refused, 400)
    assert (sum(code == 200 for code in answers.values()), sum(code == 400 for code in answers.values())) == (1, 6)
    pending.refresh_from_db()
    assert pending.status == TopUpStatus.SUCCEEDED
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000
    assert list(ProviderEvent.objects.values_list("status", flat=True)) == [EventStatus.DONE]


@pytest.mark.parametrize("age_s", [-298, 0, 298])  # 298: whole-second timestamps, checked a moment later
def test_a_signature_within_the_tolerance_either_way_is_accepted(settings, age_s: int) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier)
    payload, header = signed(
        event("payment_intent.processing", intent_object(pending, "processing")), timestamp=int(time.time()) - age_s
    )
    assert post_webhook(Client(), payload, header).status_code == 200


def test_a_request_without_a_signature_is_refused(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier)
    payload, _header = signed(event("payment_intent.succeeded", intent_object(pending, "succeeded")))
    before = side_effects()
    response = post_webhook(Client(), payload, None)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "signature_invalid")
    assert side_effects() == before


def test_a_signed_body_that_is_not_an_event_is_refused(settings) -> None:
    use_stripe(settings)
    payload, header = signed({"hello": "world"})
    before = side_effects()
    response = post_webhook(Client(), payload, header)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "event_malformed")
    assert side_effects() == before


def test_a_sandbox_signature_is_refused_when_stripe_is_the_provider(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier)
    payload, header = signed(
        event("payment_intent.succeeded", intent_object(pending, "succeeded")), secret=settings.SANDBOX_WEBHOOK_SECRET
    )
    assert post_webhook(Client(), payload, header).status_code == 400
    assert credits_of(pending) == 0
