"""What each kind of event does: handled types change one top-up or refund; unknown types are
stored and acknowledged; an event that cannot be applied is stored as failed, answers 500 so
that the provider delivers it again, and the retry applies it."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import Organisation, OrganisationKind
from apps.payments.models import EventStatus, ProviderEvent, TopUpStatus
from apps.payments.tests.factories import (
    credits_of,
    event,
    intent_object,
    payer,
    post_webhook,
    recorded,
    side_effects,
    signed,
    top_up,
    use_stripe,
    wallet_fen,
)

pytestmark = pytest.mark.django_db


def test_an_unknown_event_type_is_stored_acknowledged_and_ignored(settings) -> None:
    use_stripe(settings)
    world = payer()
    before = side_effects()[1:]
    customer: dict[str, object] = {"id": "cus_Qrecorded01", "object": "customer", "email": None, "metadata": {}}
    response = post_webhook(Client(), *signed(event("customer.created", customer)))
    assert (response.status_code, response.json()["duplicate"]) == (200, False)
    stored = ProviderEvent.objects.get()
    assert (stored.type, stored.status, stored.outcome) == (
        "customer.created",
        EventStatus.DONE,
        "ignored: event type not handled",
    )
    assert side_effects()[1:] == before
    assert wallet_fen(world.carrier) == 0


def test_an_event_for_an_intent_that_is_not_ours_is_ignored(settings) -> None:
    use_stripe(settings)
    obj = recorded("payment_intent_succeeded.json")
    obj["id"] = "pi_3QsomeoneElse"
    response = post_webhook(Client(), *signed(event("payment_intent.succeeded", obj)))
    assert response.status_code == 200
    assert ProviderEvent.objects.get().outcome == "ignored: no top-up for this payment intent"


def test_a_failed_payment_leaves_the_top_up_awaiting_payment_with_the_reason(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier)
    obj = intent_object(pending, "requires_payment_method")
    obj["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined.", "type": "card_error"}
    assert post_webhook(Client(), *signed(event("payment_intent.payment_failed", obj))).status_code == 200
    pending.refresh_from_db()
    assert (pending.status, pending.failure_message) == (TopUpStatus.PENDING, "Your card was declined.")
    assert credits_of(pending) == 0


def test_a_succeeded_event_with_another_amount_fails_and_credits_nothing(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    obj = intent_object(pending, "succeeded")
    obj.update(amount=5_000, amount_received=5_000)
    response = post_webhook(Client(), *signed(event("payment_intent.succeeded", obj)))
    assert response.status_code == 500
    stored = ProviderEvent.objects.get()
    assert stored.status == EventStatus.FAILED
    assert stored.error.startswith("amount_mismatch: ")
    pending.refresh_from_db()
    assert (pending.status, credits_of(pending), wallet_fen(world.carrier)) == (TopUpStatus.PENDING, 0, 0)


def test_a_failed_event_is_applied_when_delivered_again(settings) -> None:
    use_stripe(settings)
    world = payer()
    Organisation.objects.filter(kind=OrganisationKind.PLATFORM).delete()  # the ledger cannot post without it
    pending = top_up(world.carrier, 50_000)
    delivery = signed(event("payment_intent.succeeded", intent_object(pending, "succeeded")))
    client = Client()

    first = post_webhook(client, *delivery)
    assert first.status_code == 500
    assert ProviderEvent.objects.get().status == EventStatus.FAILED
    assert credits_of(pending) == 0

    payer()  # the platform is back
    second = post_webhook(client, *delivery)
    assert (second.status_code, second.json()["duplicate"]) == (200, False)
    stored = ProviderEvent.objects.get()
    assert (stored.status, stored.attempts, stored.error, stored.outcome) == (EventStatus.DONE, 2, "", "credited")
    assert credits_of(pending) == 1
    assert wallet_fen(world.carrier) == 50_000


def test_cancellation_after_success_changes_nothing(settings) -> None:
    use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000)
    client = Client()
    post_webhook(client, *signed(event("payment_intent.succeeded", intent_object(pending, "succeeded"))))
    post_webhook(client, *signed(event("payment_intent.canceled", intent_object(pending, "canceled"))))
    pending.refresh_from_db()
    assert (pending.status, credits_of(pending), wallet_fen(world.carrier)) == (TopUpStatus.SUCCEEDED, 1, 50_000)
    assert ProviderEvent.objects.order_by("id").last().outcome == "unchanged: already succeeded"
