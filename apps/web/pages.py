"""What every page shares: who may open it, and how refusals look.

A page names the role it is for. An anonymous visitor is sent to the sign-in page (and brought
back after); a signed-in person without the role gets the same 404 as a page that does not
exist, as the API answers for objects that are not the caller's (``ACCESS.md``). A selector's
``NotFound`` inside a page is a 404 too.

Roles (from ``apps.access.Actor``):

- ``driver``: a person who drives: a driver in some carrier (an individual is their own carrier's
  driver), or a newly registered person with no role yet (they verify and add a vehicle first).
- ``staff``: station staff (the stations they are bound to), or a station operator's admin.
- ``platform``: a platform admin.
- ``signed_in``: anyone signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from apps.access import Actor
from apps.common.errors import ApplicationError, NotFound

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def is_driver(actor: Actor) -> bool:
    return actor.signed_in and (bool(actor.driver_of) or not actor.member_of) and not actor.platform_admin


def is_staff(actor: Actor) -> bool:
    return bool(actor.staff_of_stations) or bool(actor.operator_admin_of)


def is_platform(actor: Actor) -> bool:
    return actor.platform_admin


ROLES: dict[str, Callable[[Actor], bool]] = {
    "driver": is_driver,
    "staff": is_staff,
    "platform": is_platform,
    "signed_in": lambda actor: actor.signed_in,
}


def actor_of(request: HttpRequest) -> Actor:
    actor = getattr(request, "_swapnet_actor", None)
    if actor is None:
        actor = Actor.of(request.user)
        request._swapnet_actor = actor  # type: ignore[attr-defined]
    return actor


def sign_in_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('web:sign-in')}?{urlencode({'next': request.get_full_path()})}")


def page(role: str) -> Callable[[View[P]], View[P]]:
    """Open the view to ``role`` only (module docstring); views read the actor with ``actor_of``."""
    allowed = ROLES[role]

    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            actor = actor_of(request)
            if not actor.signed_in:
                return sign_in_redirect(request)
            if not allowed(actor):
                raise Http404
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        wrapped.swapnet_role = role  # type: ignore[attr-defined]
        return wrapped

    return decorator


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, fragment: str | None = None, status: int = 200
) -> HttpResponse:
    """The page, or only its live part (``?fragment=1``: what the page's script re-reads)."""
    if fragment is not None and request.GET.get("fragment"):
        return render(request, fragment, context, status=status)
    return render(request, template, context, status=status)


def form_errors(form: Any, error: ApplicationError) -> None:
    """Put a service's refusal on the form: on its fields when it names them, else on the form."""
    placed = False
    for name, messages in error.fields.items():
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
    form.error_code = error.code
