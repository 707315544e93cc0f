"""The sandbox's checkout page, without a browser (Django's test client): shown in Chinese by
default and English on request, only with the intent's client secret, buttons that POST with
Django's CSRF token; Decline cancels the top-up and credits nothing."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.access import Actor
from apps.payments import services
from apps.payments.models import EventStatus, ProviderEvent, SandboxIntent, TopUpStatus
from apps.payments.tests.factories import credits_of, payer, use_stripe, wallet_fen

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkout():
    world = payer()
    top_up = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=123_456)
    intent = SandboxIntent.objects.get(intent_id=top_up.provider_intent_id)
    return world, top_up, f"/payments/sandbox/checkout/{intent.intent_id}", intent.client_secret


def _form(page) -> dict[str, str]:
    html = page.content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    return {"csrfmiddlewaretoken": token.group(1), "secret": re.search(r'name="secret" value="([^"]+)"', html).group(1)}


def test_the_page_shows_the_amount_and_two_buttons_in_chinese_by_default(checkout) -> None:
    _world, _top_up, path, secret = checkout
    page = Client().get(path, {"secret": secret})
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "¥1,234.56" in html
    assert "确认支付" in html
    assert "拒绝" in html
    assert "银行卡 · 支付宝 · 微信支付" in html
    assert 'name="viewport"' in html
    assert "no-cache" in page["Cache-Control"]


def test_the_page_speaks_english_when_asked(checkout) -> None:
    _world, _top_up, path, secret = checkout
    html = Client().get(path, {"secret": secret}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "Confirm payment" in html
    assert "Bank card · Alipay · WeChat Pay" in html


@pytest.mark.parametrize("secret", ["", "pi_sandbox_wrong_secret_x"])
def test_without_the_client_secret_the_page_does_not_exist(checkout, secret: str) -> None:
    _world, _top_up, path, _secret = checkout
    assert Client().get(path, {"secret": secret}).status_code == 404
    assert Client().get("/payments/sandbox/checkout/pi_sandbox_missing", {"secret": secret}).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(checkout) -> None:
    _world, _top_up, path, secret = checkout
    response = Client(enforce_csrf_checks=True).post(path, {"secret": secret, "action": "confirm"})
    assert response.status_code == 403
    assert SandboxIntent.objects.get().status == "requires_payment_method"


def test_declining_cancels_the_top_up_and_credits_nothing(checkout, django_capture_on_commit_callbacks) -> None:
    world, top_up, path, secret = checkout
    browser = Client(enforce_csrf_checks=True)
    form = _form(browser.get(path, {"secret": secret}))
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(path, {**form, "action": "decline"})
    assert response.status_code == 303
    assert "拒绝" in browser.get(response["Location"]).content.decode()
    top_up.refresh_from_db()
    assert (top_up.status, credits_of(top_up), wallet_fen(world.carrier)) == (TopUpStatus.CANCELED, 0, 0)
    assert list(ProviderEvent.objects.values_list("type", "status")) == [("payment_intent.canceled", EventStatus.DONE)]
    # Confirming afterwards changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(path, {**form, "action": "confirm"})
    assert SandboxIntent.objects.get().status == "canceled"
    assert wallet_fen(world.carrier) == 0


def test_an_unknown_action_is_refused(checkout) -> None:
    _world, _top_up, path, secret = checkout
    assert Client().post(path, {"secret": secret, "action": "steal"}).status_code == 400


def test_the_page_is_not_served_when_stripe_is_the_provider(checkout, settings) -> None:
    _world, _top_up, path, secret = checkout
    use_stripe(settings)
    assert Client().get(path, {"secret": secret}).status_code == 404
