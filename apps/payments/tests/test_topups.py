"""Top-ups through Stripe: the library's HTTP calls are answered with recorded JSON at its own
HTTP-client seam; what the library sent is asserted. The wallet is never credited by creating."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.access import Actor
from apps.accounts.models import OrganisationKind
from apps.common.errors import ApplicationError
from apps.ledger.models import JournalTransaction
from apps.payments import services
from apps.payments.models import Provider, TopUp, TopUpStatus
from apps.payments.tests.factories import payer, use_stripe, wallet_fen

pytestmark = pytest.mark.django_db


def test_a_top_up_creates_a_payment_intent_in_cny_keyed_by_its_own_row(settings) -> None:
    http = use_stripe(settings)
    settings.PAYMENT_METHOD_TYPES = ["card", "alipay", "wechat_pay"]
    world = payer()
    http.answer("post", "/v1/payment_intents", "payment_intent_created.json", amount=50_000)

    top_up = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=50_000)

    [sent] = http.requests
    assert (sent.method, sent.path) == ("post", "/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == f"swapnet-topup-{top_up.public_id}" == top_up.idempotency_key
    assert sent.form == {
        "amount": "50000",
        "currency": "cny",
        "payment_method_types[0]": "card",
        "payment_method_types[1]": "alipay",
        "payment_method_types[2]": "wechat_pay",
        "metadata[swapnet_top_up]": str(top_up.public_id),
        "metadata[swapnet_organisation]": str(world.carrier.pk),
        "description": f"swapnet wallet top-up, {world.carrier.code}",
    }
    assert (top_up.provider, top_up.provider_intent_id, top_up.status) == (
        Provider.STRIPE,
        "pi_3QrecordedTopUp01",
        TopUpStatus.PENDING,
    )
    assert top_up.client_secret.startswith("pi_3QrecordedTopUp01_secret_")
    assert wallet_fen(world.carrier) == 0
    assert not JournalTransaction.objects.exists()


def test_the_api_answers_the_client_secret_and_the_publishable_key(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    http.answer("post", "/v1/payment_intents", "payment_intent_created.json", amount=20_000)
    client = APIClient()
    client.force_authenticate(world.admin)

    response = client.post("/api/v1/wallet/topups", {"amount_fen": 20_000}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["payment_intent"] == "pi_3QrecordedTopUp01"
    assert body["client_secret"].startswith("pi_3QrecordedTopUp01_secret_")
    assert (body["publishable_key"], body["checkout_url"], body["status"]) == ("pk_test_recorded", None, "pending")


def test_the_same_idempotency_key_after_a_timeout_asks_stripe_for_the_same_intent(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    http.answer("post", "/v1/payment_intents", "error_api_error.json", status=500)
    http.answer("post", "/v1/payment_intents", "payment_intent_created.json", amount=50_000)
    client = APIClient()
    client.force_authenticate(world.admin)

    failed = client.post("/api/v1/wallet/topups", {"amount_fen": 50_000}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (failed.status_code, failed.json()["error"]["code"]) == (502, "payment_provider_unavailable")
    assert not TopUp.objects.exists()
    retried = client.post("/api/v1/wallet/topups", {"amount_fen": 50_000}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert retried.status_code == 201
    keys = [request.headers["Idempotency-Key"] for request in http.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1] == TopUp.objects.get().idempotency_key


def test_a_refusal_by_stripe_stores_nothing(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    http.answer("post", "/v1/payment_intents", "error_charge_already_refunded.json", status=400)

    with pytest.raises(ApplicationError) as refused:
        services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=50_000)

    assert (refused.value.code, refused.value.status_code) == ("payment_provider_refused", 502)
    assert not TopUp.objects.exists()


@pytest.mark.parametrize("amount_fen", [999, 5_000_001, 0])
def test_amounts_outside_the_limits_are_refused_before_stripe_is_asked(settings, amount_fen: int) -> None:
    http = use_stripe(settings)
    settings.TOPUP_MIN_FEN, settings.TOPUP_MAX_FEN = 1_000, 5_000_000
    world = payer()

    with pytest.raises(ApplicationError) as refused:
        services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=amount_fen)

    assert refused.value.code == "amount_out_of_range"
    assert http.requests == []
    assert not TopUp.objects.exists()


@pytest.mark.parametrize("amount_fen", [1_000, 5_000_000])
def test_the_limits_themselves_are_allowed(settings, amount_fen: int) -> None:
    settings.TOPUP_MIN_FEN, settings.TOPUP_MAX_FEN = 1_000, 5_000_000
    world = payer()
    top_up = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=amount_fen)
    assert (top_up.amount_fen, top_up.provider) == (amount_fen, Provider.SANDBOX)


def test_payments_not_configured_answers_503(settings) -> None:
    settings.PAYMENT_SANDBOX_ENABLED = False
    world = payer()
    client = APIClient()
    client.force_authenticate(world.admin)
    response = client.post("/api/v1/wallet/topups", {"amount_fen": 5_000}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "payments_not_configured")
    assert not TopUp.objects.exists()


def test_an_individual_owner_tops_up_too() -> None:
    world = payer(kind=OrganisationKind.INDIVIDUAL)
    created = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=10_000)
    assert (created.organisation, created.status) == (world.carrier, TopUpStatus.PENDING)


def test_the_beat_runs_reconciliation_and_payouts() -> None:
    from django.conf import settings as django_settings

    from swapnet.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.payments.tasks.reconcile_payments", "apps.payments.tasks.run_payouts"} <= tasks
    assert {"apps.payments.tasks.reconcile_payments", "apps.payments.tasks.run_payouts"} <= set(app.tasks)
