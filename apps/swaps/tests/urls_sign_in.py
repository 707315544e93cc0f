"""URL confs for the receipt's sign-in tests: with a sign-in page named ``login``, and without any."""

from django.contrib.auth.views import LoginView
from django.urls import include, path

from swapnet.urls import urlpatterns as site

with_sign_in = [path("accounts/login/", LoginView.as_view(), name="login"), *site]
without_sign_in = [path("", include("apps.swaps.page_urls"))]
