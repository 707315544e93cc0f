"""The driver's printable receipt (``/swaps/{id}/receipt``): a page, session-authenticated, in
Chinese by default and English on request, with its own print styles; the driver, their
carrier's admins and the platform see it, anyone else 404 with nothing changed; a visitor not
signed in goes to the sign-in page when the site has one, else 404."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.swaps.models import OrderLine, SwapOrder
from apps.swaps.tests.factories import advanced, swap_world
from tests.test_access_matrix_swaps import ACTORS, Matrix, matrix, state

pytestmark = pytest.mark.django_db

__all__ = ["matrix"]  # the fixture, shared with the swaps matrix

SEES_RECEIPT = {"driver", "carrier_admin", "platform_admin"}


def page(user, path: str, **headers: str):
    browser = Client()
    if user is not None:
        browser.force_login(user)
    return browser.get(path, headers=headers)


def yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def test_the_receipt_is_in_chinese_by_default_with_the_bill_lines_and_total() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    response = page(world.driver, f"/swaps/{order.pk}/receipt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "换电小票" in html
    assert "电费 · 深谷" in html
    assert "服务费（按电量）" in html
    assert "电池使用费" in html
    assert "其中平台佣金" in html
    assert order.bill_total_fen is not None
    assert f'data-testid="total">{yuan(order.bill_total_fen)}<' in html
    assert world.station.name_zh in html
    assert world.vehicle.plate in html
    assert world.driver.masked_phone in html
    assert world.driver.phone not in html
    assert "扫码时预估" in html


def test_the_receipt_is_in_english_when_asked() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    response = page(world.driver, f"/swaps/{order.pk}/receipt", accept_language="en")
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert "Swap receipt" in html
    assert "energy · deep valley" in html
    assert "Of which, platform commission" in html
    assert "换电小票" not in html


def test_the_receipt_prints_on_its_own() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    html = page(world.driver, f"/swaps/{order.pk}/receipt").content.decode()
    assert "@media print" in html
    assert "@page" in html
    assert "<link" not in html  # no stylesheet of the site's: the page carries its own


def test_an_order_not_yet_billed_shows_its_quote_as_not_final() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    html = page(world.driver, f"/swaps/{order.pk}/receipt").content.decode()
    assert "换电预估（非最终账单）" in html
    assert f'data-testid="total">{yuan(order.quote_total_fen)}<' in html


@pytest.mark.parametrize("actor", [actor for actor in ACTORS if actor != "anonymous"])
def test_receipt_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "completed")
    before = state(), list(OrderLine.objects.values_list("pk", "amount_fen"))
    response = page(matrix.users[actor], f"/swaps/{order.pk}/receipt")
    if actor in SEES_RECEIPT:
        assert response.status_code == 200
        assert f"#{order.pk}" in response.content.decode()
    else:
        assert response.status_code == 404
        assert page(matrix.users[actor], "/swaps/999999/receipt").status_code == 404
    assert (state(), list(OrderLine.objects.values_list("pk", "amount_fen"))) == before


@pytest.mark.urls("apps.swaps.tests.urls_with_sign_in")
def test_a_visitor_not_signed_in_is_sent_to_sign_in() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    response = page(None, f"/swaps/{order.pk}/receipt")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/swaps/{order.pk}/receipt"


@pytest.mark.urls("apps.swaps.tests.urls_without_sign_in")
def test_without_a_sign_in_page_a_visitor_not_signed_in_gets_404() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    before = list(SwapOrder.objects.values_list("pk", "state"))
    assert page(None, f"/swaps/{order.pk}/receipt").status_code == 404
    assert list(SwapOrder.objects.values_list("pk", "state")) == before
