"""A whole swap on a phone-sized screen, in headless Chromium, against the ASGI application served
by uvicorn (HTTP and WebSocket on one port, as the embedded default serves them).

On a 390x844 viewport a new driver registers and submits their real-name details; the platform
approves them on its review page (a desktop browser); their carrier assigns them a truck; the
driver types the bay's code and joins the queue. In a second browser context station staff call
the driver and confirm the truck in the bay, and the driver's page follows each step over its
WebSocket without being reloaded; the station's controller reports the swap over the signed API,
and the driver sees the final bill. Once in Chinese and once in English; a screenshot of each step
goes to ``screenshots/`` (git-ignored).

PostgreSQL only (the PostgreSQL pass of ``.ci/run``): the server's threads and the test share the
database, which SQLite's in-memory test database does not allow across threads.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import translation
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from apps.accounts.models import Membership, Role, User
from apps.assets.models import VehicleAssignment
from apps.common.identifiers import id_check_character
from apps.swaps.controller_auth import signed_headers
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.tests.factories import SwapWorld, reading_for, report_body, swap_world
from apps.web import labels
from apps.web.templatetags.swapnet import yuan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"
PHONE = {"width": 390, "height": 844}
PHONE_CONTEXT: dict[str, Any] = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PASSWORD = "correct horse battery"
# Well under the pages' 10 s polling fallback: a change seen this fast came over the socket.
LIVE_TIMEOUT_MS = 6000


@pytest.fixture
def asgi_server(settings, monkeypatch) -> Iterator[str]:
    """``swapnet.asgi``'s routes under uvicorn in a thread of this process, on a free port; the
    static files served from the source folders (there is no ``collectstatic`` in a test)."""
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    from swapnet.asgi import application as swapnet_application

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.WHITENOISE_USE_FINDERS = True
    # Every test registers from 127.0.0.1, and the hourly limit per address lives in the shared
    # cache (Redis in the PostgreSQL pass): the suite's other registrations must not use it up.
    settings.THROTTLE_LIMITS = {**settings.THROTTLE_LIMITS, "register": {"address": (10_000, timedelta(hours=1))}}
    application = ProtocolTypeRouter(
        {"http": get_asgi_application(), "websocket": swapnet_application.application_mapping["websocket"]}
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def signed_in_context(browser: Browser, user: User, base_url: str, **options: Any) -> BrowserContext:
    """A browser context with the user's session cookie."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])
    return context


def shot(page: Page, language: str, step: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"phone-swap-{language}-{step}.png"), full_page=True)


def controller_report(world: SwapWorld, base_url: str, order: SwapOrder) -> dict[str, object]:
    """The station controller's signed swap report, over HTTP to the server."""
    path = f"/api/v1/station-control/{world.station.code}/swaps/{order.pk}/report"
    body = json.dumps(report_body(reading_for(order)), default=str).encode()
    headers = signed_headers(key_id=world.credential.key_id, secret=world.secret, method="POST", path=path, body=body)
    request = urllib.request.Request(  # noqa: S310 - the loopback test server
        base_url + path, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - the loopback test server
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "prefix", "locale"), [("zh-hans", "", "zh-CN"), ("en", "/en", "en-GB")])
def test_a_new_driver_swaps_on_a_phone_while_staff_confirm(asgi_server: str, language: str, prefix: str, locale: str) -> None:
    assert CHROMIUM, "the browser tests need Debian's chromium (scripts/setup-browser)"
    world = swap_world()
    base = asgi_server
    phone = "13900000077" if language == "en" else "13900000078"
    with translation.override(language):
        state_words = {state: str(labels.ORDER_STATES[state]) for state in ("queued", "called", "swapping", "completed")}
        verified_words = str(labels.VERIFICATION_STATES["verified"])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            driver = browser.new_context(locale=locale, **PHONE_CONTEXT)
            page = driver.new_page()

            # 1. Register, then the real-name details.
            page.goto(f"{base}{prefix}/register")
            page.get_by_label(_("Your name", language)).fill("王师傅" if language == "zh-hans" else "Wang Wei")
            page.get_by_label(_("Mobile number", language)).fill(phone)
            page.get_by_label(_("Password", language)).fill(PASSWORD)
            shot(page, language, "1-register")
            page.get_by_test_id("register").click()
            page.wait_for_url(f"**{prefix}/driver/**")
            page.goto(f"{base}{prefix}/driver/verification")
            id_body = "13098319850712061"
            page.locator("[name=legal_name]").fill("王伟")
            page.locator("[name=id_number]").fill(id_body + id_check_character(id_body))
            page.locator("[name=licence_number]").fill(id_body + id_check_character(id_body))
            page.locator("[name=licence_class]").select_option("A2")
            page.locator("[name=licence_expires_on]").fill("2032-05-31")
            page.get_by_test_id("submit-verification").click()
            shot(page, language, "2-verification-pending")
            user = User.objects.get(phone=phone)
            verification = user.verifications.get()
            assert verification.status == "pending"

            # 2. The platform approves, on its review page.
            platform = signed_in_context(
                browser, world.users["platform_admin"], base, viewport={"width": 1280, "height": 800}, locale=locale
            )
            review = platform.new_page()
            review.goto(f"{base}{prefix}/platform/verifications")
            review.get_by_test_id(f"approve-{verification.pk}").click()
            expect(review.get_by_test_id(f"verification-{verification.pk}")).to_have_count(0)
            page.reload()
            expect(page.get_by_test_id("verification-status")).to_have_text(verified_words)
            shot(page, language, "3-verified")

            # 3. Their carrier takes them on and assigns them the truck.
            Membership.objects.create(user=user, organisation=world.carrier, role=Role.DRIVER)
            VehicleAssignment.objects.filter(vehicle=world.vehicle).delete()
            VehicleAssignment.objects.create(vehicle=world.vehicle, driver=user)

            # 4. The driver types the bay's code and joins the queue.
            page.goto(f"{base}{prefix}/driver/scan")
            page.get_by_test_id("bay-code").fill(f"{world.station.code}-{world.printed_bay.number}")
            page.locator("[name=plate]").select_option(world.vehicle.plate)
            shot(page, language, "4-scan")
            page.get_by_test_id("scan-submit").click()
            page.wait_for_url(f"**{prefix}/driver/orders/*")
            order = SwapOrder.objects.get(driver=user)
            live = page.get_by_test_id("order-live")
            expect(live).to_have_attribute("data-live-state", "open", timeout=LIVE_TIMEOUT_MS)
            expect(page.get_by_test_id("order-state")).to_have_text(state_words["queued"])
            expect(page.get_by_test_id("queue-position")).to_have_text("1")
            quote = page.get_by_test_id("quote")
            expect(quote).to_contain_text(_yuan(order.quote_total_fen))
            shot(page, language, "5-queued")
            loads = page.evaluate("performance.getEntriesByType('navigation').length")

            # 5. Staff, on their own phone, call the driver and confirm the truck in the bay.
            staff = signed_in_context(
                browser,
                world.users["staff"],
                base,
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale=locale,
            )
            bay = staff.new_page()
            bay.goto(f"{base}{prefix}/staff/{world.station.code}/")
            expect(bay.get_by_test_id(f"queued-{order.pk}")).to_contain_text(world.vehicle.plate)
            bay.get_by_test_id("call-next").click()
            expect(page.get_by_test_id("order-state")).to_have_text(state_words["called"], timeout=LIVE_TIMEOUT_MS)
            shot(page, language, "6-called")
            expect(bay.get_by_test_id("called-plate")).to_have_text(world.vehicle.plate)
            shot(bay, language, "6-staff-called")
            bay.get_by_test_id(f"confirm-{order.pk}").click()
            expect(page.get_by_test_id("order-state")).to_have_text(state_words["swapping"], timeout=LIVE_TIMEOUT_MS)
            shot(page, language, "7-swapping")

            # 6. The controller reports the swap; the bill reaches the phone.
            receipt = controller_report(world, base, order)
            order.refresh_from_db()
            assert order.state == OrderState.COMPLETED
            assert receipt["order"] == order.pk
            expect(page.get_by_test_id("order-state")).to_have_text(state_words["completed"], timeout=LIVE_TIMEOUT_MS)
            expect(page.get_by_test_id("bill-total")).to_have_text(_yuan(order.bill_total_fen))
            shot(page, language, "8-billed")
            # Every step arrived without the driver's page being loaded again.
            assert page.evaluate("performance.getEntriesByType('navigation').length") == loads
            assert page.url.endswith(f"{prefix}/driver/orders/{order.pk}")
        finally:
            browser.close()
            # Inside Playwright's event loop Django keeps this test's connections apart from the
            # ones outside it: close them here, or they outlive the test.
            connections.close_all()
    assert receipt["state"] == OrderState.COMPLETED
    assert receipt["bill"] == {"amount_fen": order.bill_total_fen, "currency": "CNY"}


def _(words: str, language: str) -> str:
    with translation.override(language):
        return str(translation.gettext(words))


def _yuan(fen: int | None) -> str:
    return yuan(fen)
