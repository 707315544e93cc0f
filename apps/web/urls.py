"""The pages' URL map (mounted at / for Chinese and /en/ for English by swapnet/urls.py)."""

from django.urls import path

from apps.web.views import accounts

app_name = "web"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("sign-in", accounts.sign_in, name="sign-in"),
    path("register", accounts.register, name="register"),
    path("sign-out", accounts.sign_out, name="sign-out"),
]
