"""A carrier tops up its wallet through the sandbox provider, end to end over HTTP with real
bearer tokens: the top-up answers a checkout page; the payer confirms there (a form with
Django's CSRF token); the sandbox delivers the signed ``payment_intent.succeeded`` to the same
webhook view Stripe's events reach; the wallet is credited once however often the event comes;
then part of the balance is refunded to the payment method."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.ledger.models import JournalTransaction
from apps.ledger.tests.factories import assert_ledger_invariants
from apps.payments import services
from apps.payments.clients.stripe_api import webhook_sign
from apps.payments.models import EventStatus, ProviderEvent, RefundStatus, SandboxIntent, TopUp, TopUpStatus

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def signed_in(phone: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/login", {"phone": phone, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def test_a_carrier_tops_up_through_the_sandbox_and_refunds_part(django_capture_on_commit_callbacks) -> None:
    OrganisationFactory(kind=OrganisationKind.PLATFORM)
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    member(Role.CARRIER_ADMIN, carrier, phone="13800000031")
    as_admin = signed_in("13800000031")

    # 1. The admin asks for a top-up of ¥800.00: a checkout page to pay on, nothing credited yet.
    with django_capture_on_commit_callbacks(execute=True):
        created = as_admin.post("/api/v1/wallet/topups", {"amount_fen": 80_000}, format="json", HTTP_IDEMPOTENCY_KEY="top-up-1")
    assert created.status_code == 201, created.json()
    top_up = created.json()
    assert (top_up["status"], top_up["amount"], top_up["provider"]) == (
        "pending",
        {"amount_fen": 80_000, "currency": "CNY"},
        "sandbox",
    )
    assert top_up["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    retried = as_admin.post("/api/v1/wallet/topups", {"amount_fen": 80_000}, format="json", HTTP_IDEMPOTENCY_KEY="top-up-1")
    assert (retried.status_code, retried.json(), retried.headers["Idempotent-Replayed"]) == (201, top_up, "true")
    assert TopUp.objects.count() == SandboxIntent.objects.count() == 1
    assert as_admin.get("/api/v1/wallet").json()["balance"]["amount_fen"] == 0
    # The sandbox sent payment_intent.created through the webhook: stored, nothing credited.
    assert list(ProviderEvent.objects.values_list("type", "status")) == [("payment_intent.created", EventStatus.DONE)]

    # 2. The payer opens the checkout page (a browser: no token, CSRF enforced) and confirms.
    browser = Client(enforce_csrf_checks=True)
    checkout = urlsplit(top_up["checkout_url"])
    page = browser.get(f"{checkout.path}?{checkout.query}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "¥800.00" in html
    assert "Confirm payment" in html
    assert "Decline" in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    secret = re.search(r'name="secret" value="([^"]+)"', html)
    assert secret is not None
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = browser.post(
            checkout.path, {"csrfmiddlewaretoken": token.group(1), "secret": secret.group(1), "action": "confirm"}
        )
    assert confirmed.status_code == 303
    done_page = browser.get(confirmed["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "Payment confirmed" in done_page.content.decode()

    # 3. The webhook credited the wallet, once.
    detail = as_admin.get(f"/api/v1/wallet/topups/{top_up['id']}").json()
    assert (detail["status"], detail["client_secret"], detail["checkout_url"]) == ("succeeded", None, None)
    assert as_admin.get("/api/v1/wallet").json()["balance"]["amount_fen"] == 80_000
    movements = as_admin.get("/api/v1/wallet/movements").json()["results"]
    assert [(m["movement_type"], m["amount"]["amount_fen"]) for m in movements] == [("top_up", 80_000)]

    # 4. The same event delivered again (over HTTP, signed as the sandbox signs), the payer
    #    confirming again, and a reconciliation pass: still one credit.
    succeeded = ProviderEvent.objects.get(type="payment_intent.succeeded")
    body = json.dumps(succeeded.payload, separators=(",", ":"))
    header = webhook_sign(payload=body, secret=settings.SANDBOX_WEBHOOK_SECRET)
    again = APIClient().post(
        "/api/v1/payments/stripe/webhook", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(checkout.path, {"csrfmiddlewaretoken": token.group(1), "secret": secret.group(1), "action": "confirm"})
    assert services.payments_reconcile()["unchanged"] == 1
    assert JournalTransaction.objects.filter(movement_type="top_up").count() == 1
    assert as_admin.get("/api/v1/wallet").json()["balance"]["amount_fen"] == 80_000

    # 5. ¥300.00 back to the payment method: held at once, refunded after the commit.
    assert as_admin.get("/api/v1/wallet/refundable").json()["refundable"]["amount_fen"] == 80_000
    with django_capture_on_commit_callbacks(execute=True):
        refund = as_admin.post("/api/v1/wallet/refunds", {"amount_fen": 30_000}, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    assert refund.status_code == 202, refund.json()
    assert refund.json()["amount"] == {"amount_fen": 30_000, "currency": "CNY"}
    [part] = refund.json()["refunds"]
    assert (part["top_up"], part["amount"]["amount_fen"]) == (top_up["id"], 30_000)
    assert as_admin.get(f"/api/v1/wallet/refunds/{part['id']}").json()["status"] == RefundStatus.SUCCEEDED
    wallet = as_admin.get("/api/v1/wallet").json()
    assert (wallet["balance"]["amount_fen"], wallet["held"]["amount_fen"]) == (50_000, 0)
    movements = as_admin.get("/api/v1/wallet/movements").json()["results"]
    assert [(m["movement_type"], m["amount"]["amount_fen"]) for m in movements] == [("refund", -30_000), ("top_up", 80_000)]
    assert SandboxIntent.objects.get().amount_refunded_fen == 30_000
    assert TopUp.objects.get().refunded_fen == 30_000
    assert TopUp.objects.get().status == TopUpStatus.SUCCEEDED
    assert as_admin.get("/api/v1/wallet/refundable").json()["refundable"]["amount_fen"] == 50_000
    assert_ledger_invariants()
