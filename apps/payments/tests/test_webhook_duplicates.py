"""RELIABILITY.md #2, one after another (on every database): one signed event posted 10× gives
1 event row and 1 wallet credit. The concurrent version is tests/test_payments_races.py."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.payments.models import EventStatus, ProviderEvent, TopUpStatus
from apps.payments.tests.factories import (
    credits_of,
    event,
    intent_object,
    payer,
    post_webhook,
    signed,
    top_up,
    use_stripe,
    wallet_fen,
)

pytestmark = pytest.mark.django_db


def test_one_event_posted_ten_times_in_a_row_credits_once(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    payload, header = signed(event("payment_intent.succeeded", intent_object(pending, "succeeded")))
    client = Client()

    answers = [post_webhook(client, payload, header) for _ in range(10)]

    assert [response.status_code for response in answers] == [200] * 10
    assert [response.json()["duplicate"] for response in answers] == [False] + [True] * 9
    assert ProviderEvent.objects.count() == 1
    stored = ProviderEvent.objects.get()
    assert (stored.status, stored.attempts, stored.outcome) == (EventStatus.DONE, 1, "credited")
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000
    pending.refresh_from_db()
    assert pending.status == TopUpStatus.SUCCEEDED
