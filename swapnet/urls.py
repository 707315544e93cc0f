from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.common.health import healthz

api_v1 = [
    path("", include("apps.accounts.urls")),
    # Before assets: "stations/recommend" must not be taken for "stations/<code>".
    path("", include("apps.recommend.urls")),
    path("", include("apps.assets.urls")),
    path("", include("apps.billing.urls")),
    path("", include("apps.swaps.urls")),
    path("", include("apps.ledger.urls")),
    path("", include("apps.payments.urls")),
    path("", include("apps.live.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("payments/", include("apps.payments.sandbox_urls")),  # the sandbox provider's checkout page
    path("", include("apps.swaps.page_urls")),  # the driver's printable receipt
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The pages (apps/web): Chinese at /, English under /en/ (set_language switches between them).
    *i18n_patterns(path("admin/", admin.site.urls), path("", include("apps.web.urls")), prefix_default_language=False),
]

handler404 = "apps.common.views.not_found"
handler500 = "apps.common.views.server_error"
