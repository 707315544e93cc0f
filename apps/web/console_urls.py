"""The consoles' URL map, appended to ``apps.web.urls`` (same ``web`` namespace)."""

from django.urls import path

from apps.web.views import carrier, operations, statements

urlpatterns = [
    # Carriers
    path("carrier/", carrier.home, name="carrier-home"),
    path("carrier/vehicles", carrier.vehicles, name="carrier-vehicles"),
    path("carrier/vehicles/assign", carrier.vehicle_assign, name="carrier-vehicle-assign"),
    path("carrier/drivers", carrier.drivers, name="carrier-drivers"),
    path("carrier/drivers/invite", carrier.driver_invite, name="carrier-driver-invite"),
    path("carrier/drivers/<int:user_id>/limits", carrier.driver_limits, name="carrier-driver-limits"),
    path("carrier/invitations/<int:invitation_id>/revoke", carrier.invitation_revoke, name="carrier-invitation-revoke"),
    path("carrier/wallet", carrier.wallet, name="carrier-wallet"),
    # Station operators, battery owners, the platform
    path("ops/", operations.home, name="ops-home"),
    path("ops/telemetry", operations.telemetry, name="ops-telemetry"),
    path("ops/abnormal", operations.abnormal, name="ops-abnormal"),
    path("ops/abnormal/<int:order_id>/resolve", operations.resolve, name="ops-resolve"),
    path("ops/tariffs", operations.tariffs, name="ops-tariffs"),
    path("ops/tariffs/<str:code>", operations.tariff_set, name="ops-tariff-set"),
    path("ops/rates/<int:owner_id>", operations.rate_set, name="ops-rate-set"),
    # Statements (every party)
    path("statements/", statements.index, name="statements"),
    path("statements/<int:organisation_id>/<int:statement_id>", statements.detail, name="statement"),
]
