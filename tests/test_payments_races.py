"""RELIABILITY.md #2 with real threads on PostgreSQL: one signed event posted 10× at once gives
1 event row and 1 wallet credit. Each thread has its own database connection; the deliveries
race on the event's unique id and on the top-up's row lock. (SQLite has no row locks to race
on; apps/payments/tests/test_webhook_duplicates.py runs the same 10 deliveries one after
another on both databases.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from apps.ledger.tests.factories import assert_ledger_invariants
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

DELIVERIES = 10


def _post_concurrently(deliveries: list[tuple[bytes, str]]) -> list[tuple[int, bool]]:
    answers: list[tuple[int, bool]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(deliveries))

    def deliver(payload: bytes, header: str) -> None:
        try:
            client = Client()
            start.wait()
            response = post_webhook(client, payload, header)
            with lock:
                answers.append((response.status_code, response.json().get("duplicate", False)))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=delivery) for delivery in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_one_event_posted_ten_times_at_once_credits_once(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    delivery = signed(event("payment_intent.succeeded", intent_object(pending, "succeeded")))

    answers = _post_concurrently([delivery] * DELIVERIES)

    assert sorted(answers) == [(200, False)] + [(200, True)] * (DELIVERIES - 1)
    assert ProviderEvent.objects.count() == 1
    assert ProviderEvent.objects.get().status == EventStatus.DONE
    assert ProviderEvent.objects.get().attempts == 1
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000
    pending.refresh_from_db()
    assert pending.status == TopUpStatus.SUCCEEDED
    assert_ledger_invariants()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_ten_different_succeeded_events_for_one_intent_at_once_credit_once(settings) -> None:
    """Not something Stripe sends, but the top-up's own lock must hold without the event's."""
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    deliveries = [signed(event("payment_intent.succeeded", intent_object(pending, "succeeded"))) for _ in range(DELIVERIES)]

    answers = _post_concurrently(deliveries)

    assert sorted(answers) == [(200, False)] * DELIVERIES
    assert ProviderEvent.objects.filter(status=EventStatus.DONE).count() == DELIVERIES
    assert sorted(ProviderEvent.objects.values_list("outcome", flat=True)) == ["credited"] + ["unchanged: already succeeded"] * 9
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000
    assert_ledger_invariants()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_the_whole_balance_refund_it_once() -> None:
    """Five admins' devices ask at once for all of the wallet back: one gets it, the others are
    told there is nothing left; the provider is asked once, the balance ends at 0, never below."""
    from apps.access import Actor
    from apps.common.errors import ApplicationError
    from apps.payments import services
    from apps.payments.models import Refund, RefundStatus, SandboxOperation
    from apps.payments.tests.factories import paid_top_up

    world = payer()
    paid_top_up(world, 30_000)
    paid_top_up(world, 20_000)
    assert wallet_fen(world.carrier) == 50_000
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(5)

    def ask() -> None:
        try:
            start.wait()
            try:
                parts = services.refund_create(actor=Actor.of(world.admin), organisation=world.carrier)
                outcome = f"refunded {sum(part.amount_fen for part in parts)}"
            except ApplicationError as refused:
                outcome = refused.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["nothing_to_refund"] * 4 + ["refunded 50000"]
    assert sorted(Refund.objects.values_list("amount_fen", "status")) == [
        (20_000, RefundStatus.SUCCEEDED),
        (30_000, RefundStatus.SUCCEEDED),
    ]
    assert SandboxOperation.objects.filter(kind="refund").count() == 2
    assert wallet_fen(world.carrier) == 0
    assert_ledger_invariants()
