"""Sign in, register, sign out, and the home page that sends each person to their pages.

Sign-in starts a Django session (the cookie then authenticates the API through DRF's
SessionAuthentication and the live streams through channels' AuthMiddlewareStack)."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.services import auth as auth_services
from apps.accounts.throttling import client_address
from apps.common.errors import ApplicationError
from apps.web.forms import RegisterForm, SignInForm
from apps.web.pages import actor_of, form_errors, is_driver, is_platform, is_staff


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("web:home")


def home(request: HttpRequest) -> HttpResponse:
    """Each person's start page: drivers, station staff, the platform; else the sign-in page."""
    actor = actor_of(request)
    if not actor.signed_in:
        return HttpResponseRedirect(reverse("web:sign-in"))
    if is_platform(actor):
        return HttpResponseRedirect(reverse("web:platform-verifications"))
    if is_staff(actor):
        return HttpResponseRedirect(reverse("web:staff-home"))
    if is_driver(actor):
        return HttpResponseRedirect(reverse("web:driver-home"))
    return render(request, "web/home.html", {})


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = auth_services.auth_session_check(
                phone=form.cleaned_data["phone"], password=form.cleaned_data["password"], client_address=client_address(request)
            )
        except ApplicationError as error:
            form_errors(form, error)
            status = error.status_code
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    return render(request, "web/sign_in.html", {"form": form, "next": _next_url(request)}, status=status)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = auth_services.user_register(
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
                client_address=client_address(request),
            )
        except ApplicationError as error:
            form_errors(form, error)
            status = error.status_code
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(reverse("web:driver-verification"))
    elif request.method == "POST":
        status = 400
    return render(request, "web/register.html", {"form": form}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("web:sign-in"))
