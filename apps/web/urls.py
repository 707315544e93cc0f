"""The pages' URL map (mounted at / for Chinese and /en/ for English by swapnet/urls.py)."""

from django.urls import path

from apps.web.views import accounts, driver, platform, staff

app_name = "web"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("sign-in", accounts.sign_in, name="sign-in"),
    path("register", accounts.register, name="register"),
    path("sign-out", accounts.sign_out, name="sign-out"),
    # Drivers (phone)
    path("driver/", driver.home, name="driver-home"),
    path("driver/verification", driver.verification, name="driver-verification"),
    path("driver/vehicle", driver.vehicle, name="driver-vehicle"),
    path("driver/stations", driver.stations, name="driver-stations"),
    path("driver/scan", driver.scan, name="driver-scan"),
    path("driver/orders/<int:order_id>", driver.order, name="driver-order"),
    path("driver/orders/<int:order_id>/cancel", driver.order_cancel, name="driver-order-cancel"),
    path("driver/orders/<int:order_id>/receipt", driver.receipt, name="driver-receipt"),
    path("driver/wallet", driver.wallet, name="driver-wallet"),
    path("driver/history", driver.history, name="driver-history"),
    # Station staff (phone or the bay's tablet)
    path("staff/", staff.home, name="staff-home"),
    path("staff/<str:code>/", staff.queue, name="staff-queue"),
    path("staff/<str:code>/call-next", staff.call_next, name="staff-call-next"),
    path("staff/<str:code>/orders/<int:order_id>/confirm", staff.confirm, name="staff-confirm"),
    path("staff/<str:code>/orders/<int:order_id>/abnormal", staff.abnormal, name="staff-abnormal"),
    path("staff/<str:code>/today", staff.today, name="staff-today"),
    path("staff/<str:code>/stock", staff.stock, name="staff-stock"),
    # The platform
    path("platform/verifications", platform.verifications, name="platform-verifications"),
    path(
        "platform/verifications/<int:verification_id>/approve",
        platform.verification_approve,
        name="platform-verification-approve",
    ),
    path(
        "platform/verifications/<int:verification_id>/reject", platform.verification_reject, name="platform-verification-reject"
    ),
]

# The consoles (carriers, operators, battery owners, the platform; statements): apps/web/console_urls.py
from apps.web.console_urls import urlpatterns as console_urlpatterns  # noqa: E402

urlpatterns += console_urlpatterns
