"""Pages of the swaps app for people (outside the API): the driver's printable receipt.

``GET /swaps/{id}/receipt``: session-authenticated. The order's driver, the admins of the carrier
that pays and the platform see it; anyone else gets 404, exactly like a missing order. A visitor
who is not signed in is sent to the sign-in page (``?next=`` back here) when the site has one
(the URL named ``login``), else answers 404. The page is in the visitor's language (the
``django_language`` cookie, then Accept-Language; Chinese by default) and carries its own print
styles: it needs no site template.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.access import Actor
from apps.common.errors import NotFound
from apps.swaps import selectors
from apps.swaps.explanation import bill_explanation
from apps.swaps.models import OrderState, SwapOrder

SIGN_IN_URL_NAME = "login"


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def _sign_in(request: HttpRequest) -> HttpResponse:
    try:
        login_url = reverse(SIGN_IN_URL_NAME)
    except NoReverseMatch:
        raise Http404 from None
    return redirect_to_login(request.get_full_path(), login_url)


def _receipt_context(order: SwapOrder, explanation: dict[str, Any]) -> dict[str, Any]:
    bill = explanation["bill"]
    stage = bill or explanation["quote"]
    lines = [{**line, "amount_yuan": _yuan(line["amount"]["amount_fen"])} for line in stage["lines"]]
    commissions = [{**line, "amount_yuan": _yuan(line["amount"]["amount_fen"])} for line in stage["commissions"]]
    comparison = explanation["comparison"]
    return {
        "order": order,
        "final": bill is not None,
        "state_label": OrderState(order.state).label,
        "stage": stage,
        "lines": lines,
        "commissions": commissions,
        "total_yuan": _yuan(stage["total"]["amount_fen"]),
        "quote_yuan": _yuan(comparison["quote"]["amount_fen"]),
        "difference_yuan": _yuan(comparison["difference"]["amount_fen"]) if comparison["difference"] else None,
        "comparison": comparison,
        "completed_at": timezone.localtime(order.completed_at) if order.completed_at else None,
        "swap_started_at": timezone.localtime(order.swap_started_at) if order.swap_started_at else None,
        "printed_at": timezone.localtime(),
    }


@never_cache
@require_GET
def swap_receipt(request: HttpRequest, order_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _sign_in(request)
    actor = Actor.of(request.user)
    try:
        order = selectors.receipt_order_get(actor=actor, order_id=order_id)
    except NotFound:
        raise Http404 from None
    language = translation.get_language_from_request(request)
    with translation.override(language):
        context = _receipt_context(order, bill_explanation(actor=actor, order=order))
        response = render(request, "swaps/receipt.html", context)
    response["Content-Language"] = language
    return response
