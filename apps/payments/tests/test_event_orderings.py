"""RELIABILITY.md #3: events arrive at least once and in any order. Every ordering of a top-up's
created / processing / succeeded / canceled events (all 24, exhaustively) ends succeeded with 1
credit; and hypothesis sends random orders with repeats, checking after every delivery that the
wallet is credited exactly once from the first ``succeeded`` on and never before."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

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

STATES = ("created", "processing", "succeeded", "canceled")
INTENT_STATUS = {
    "created": "requires_payment_method",
    "processing": "processing",
    "succeeded": "succeeded",
    "canceled": "canceled",
}
T0 = 1_767_225_600


def _events(pending) -> dict[str, tuple[bytes, str]]:
    """One signed event per state, stamped by the provider in the order they happened."""
    return {
        state: signed(event(f"payment_intent.{state}", intent_object(pending, INTENT_STATUS[state]), created=T0 + 10 * index))
        for index, state in enumerate(STATES)
    }


@pytest.mark.parametrize("order", list(itertools.permutations(STATES)), ids="-".join)
def test_every_ordering_ends_succeeded_with_one_credit(settings, order: tuple[str, ...]) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    events = _events(pending)
    client = Client()

    for state in order:
        assert post_webhook(client, *events[state]).status_code == 200

    pending.refresh_from_db()
    assert pending.status == TopUpStatus.SUCCEEDED
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000
    assert set(ProviderEvent.objects.values_list("status", flat=True)) == {EventStatus.DONE}


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(st.sampled_from(STATES), min_size=1, max_size=10))
def test_random_orders_with_repeats_credit_once_from_the_first_success(settings, deliveries: list[str]) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    events = _events(pending)
    client = Client()
    seen: set[str] = set()

    for state in deliveries:
        response = post_webhook(client, *events[state])
        assert response.status_code == 200
        assert response.json()["duplicate"] == (state in seen)
        seen.add(state)
        pending.refresh_from_db()
        succeeded = "succeeded" in seen
        assert credits_of(pending) == int(succeeded)
        assert wallet_fen(world.carrier) == (50_000 if succeeded else 0)
        if succeeded:
            assert pending.status == TopUpStatus.SUCCEEDED
        elif "canceled" in seen:
            assert pending.status == TopUpStatus.CANCELED
        else:
            # Open states follow the provider's clock: the latest of those delivered.
            latest = max((s for s in seen), key=STATES.index)
            assert pending.status == {"created": TopUpStatus.PENDING, "processing": TopUpStatus.PROCESSING}[latest]
    assert ProviderEvent.objects.filter(payload__data__object__id=pending.provider_intent_id).count() == len(seen)
