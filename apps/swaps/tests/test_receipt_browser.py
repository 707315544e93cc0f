"""The receipt in a real headless Chromium: the driver, signed in, opens it, sees the bill; printed,
the print button is gone and the page makes a PDF."""

from __future__ import annotations

import shutil

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

from apps.swaps.tests.factories import advanced, swap_world

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_driver_opens_and_prints_the_receipt_in_chromium(live_server) -> None:
    assert CHROMIUM, "the browser tests need Debian's chromium (scripts/setup-browser)"
    world = swap_world()
    order = advanced(world, "completed")
    signed_in = Client()
    signed_in.force_login(world.driver)
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    assert order.bill_total_fen is not None
    total = f"¥{order.bill_total_fen // 100:,}.{order.bill_total_fen % 100:02d}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(locale="zh-CN")
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
            page = context.new_page()
            response = page.goto(f"{live_server.url}/swaps/{order.pk}/receipt")
            assert response is not None
            assert response.status == 200
            assert page.title().startswith(f"换电小票 第 {order.pk} 号")
            assert page.get_by_test_id("total").inner_text() == total
            assert page.get_by_test_id("lines").locator("tbody tr").count() == 3
            print_button = page.get_by_role("button", name="打印")
            assert print_button.is_visible()
            page.emulate_media(media="print")
            assert not print_button.is_visible()
            pdf = page.pdf(format="A5")
            assert pdf.startswith(b"%PDF")
        finally:
            browser.close()
