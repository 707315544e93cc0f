"""Reconciliation repairs what a lost webhook missed: it reads the provider's recent intents
(Stripe's list, answered with recorded JSON; the sandbox's own table) and applies them as their
events would, so a succeeded intent credits its top-up once, whatever already happened."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.access import Actor
from apps.payments import services
from apps.payments.models import ProviderEvent, TopUpStatus
from apps.payments.providers import sandbox
from apps.payments.tests.factories import (
    credits_of,
    event,
    intent_object,
    payer,
    post_webhook,
    recorded,
    signed,
    top_up,
    use_stripe,
    wallet_fen,
)

pytestmark = pytest.mark.django_db


def test_a_succeeded_intent_whose_webhook_was_lost_is_credited_once(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000, intent_id="pi_3QrecordedTopUp01")
    http.answer("get", "/v1/payment_intents", "payment_intent_list.json")

    assert services.payments_reconcile() == {"credited": 1}

    [listed] = http.requests
    assert listed.query["limit"] == "100"
    assert int(listed.query["created[gte]"]) > 0
    pending.refresh_from_db()
    assert (pending.status, credits_of(pending), wallet_fen(world.carrier)) == (TopUpStatus.SUCCEEDED, 1, 50_000)
    # The webhook arrives after all: stored, nothing more.
    late = post_webhook(Client(), *signed(event("payment_intent.succeeded", intent_object(pending, "succeeded"))))
    assert late.status_code == 200
    assert ProviderEvent.objects.get().outcome == "unchanged: already succeeded"
    assert credits_of(pending) == 1


def test_the_list_is_read_page_by_page(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    first = top_up(world.carrier, 50_000, intent_id="pi_3QpageOne")
    second = top_up(world.carrier, 50_000, intent_id="pi_3QpageTwo")
    intent = recorded("payment_intent_succeeded.json")
    http.answer("get", "/v1/payment_intents", "payment_intent_list.json", data=[{**intent, "id": "pi_3QpageOne"}], has_more=True)
    http.answer("get", "/v1/payment_intents", "payment_intent_list.json", data=[{**intent, "id": "pi_3QpageTwo"}])

    assert services.payments_reconcile() == {"credited": 2}
    assert http.requests[1].query["starting_after"] == "pi_3QpageOne"
    assert credits_of(first) == credits_of(second) == 1


def test_an_open_top_up_missing_from_the_list_is_looked_up(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    pending = top_up(world.carrier, 50_000, intent_id="pi_3QolderThanTheWindow")
    http.answer("get", "/v1/payment_intents", "payment_intent_list.json", data=[])
    http.answer(
        "get", "/v1/payment_intents/pi_3QolderThanTheWindow", "payment_intent_canceled.json", id="pi_3QolderThanTheWindow"
    )

    assert services.payments_reconcile() == {"canceled": 1}
    pending.refresh_from_db()
    assert (pending.status, credits_of(pending)) == (TopUpStatus.CANCELED, 0)


def test_the_sandbox_is_reconciled_from_its_own_table() -> None:
    world = payer()
    created = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=20_000)
    assert created.provider_intent_id is not None
    sandbox.intent_pay(intent_id=created.provider_intent_id)  # its event is never delivered (no commit here)
    assert wallet_fen(world.carrier) == 0

    assert services.payments_reconcile() == {"credited": 1}
    assert services.payments_reconcile() == {"unchanged": 1}
    assert wallet_fen(world.carrier) == 20_000
