"""The sandbox provider's checkout page: the payer confirms or declines a top-up.

Reached from a sandbox top-up's ``checkout_url``; the intent's client secret in the URL is the
only credential (as a Stripe client secret is), and a wrong one answers 404. The buttons POST
with Django's CSRF token; the answer redirects back to the page (post/redirect/get), which then
shows the outcome. Served only while the sandbox is the payment provider.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.payments.models import Provider
from apps.payments.providers import sandbox

METHOD_NAMES = {"card": _("Bank card"), "alipay": _("Alipay"), "wechat_pay": _("WeChat Pay")}


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


@never_cache
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request: HttpRequest, intent_id: str) -> HttpResponse:
    if settings.PAYMENT_PROVIDER != Provider.SANDBOX or not settings.PAYMENT_SANDBOX_ENABLED:
        raise Http404
    secret = (request.POST if request.method == "POST" else request.GET).get("secret", "")
    intent = sandbox.intent_for_checkout(intent_id=intent_id, client_secret=secret)
    if intent is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "confirm":
            sandbox.intent_pay(intent_id=intent.intent_id)
        elif action == "decline":
            sandbox.intent_decline(intent_id=intent.intent_id)
        else:
            return HttpResponseBadRequest("action must be confirm or decline")
        see_other = HttpResponseRedirect(f"{request.path}?{urlencode({'secret': secret})}")
        see_other.status_code = 303
        return see_other
    context = {
        "intent": intent,
        "secret": secret,
        "amount_yuan": _yuan(intent.amount_fen),
        "currency": intent.currency.upper(),
        "methods": [METHOD_NAMES.get(name, name) for name in intent.payment_method_types],
        "open": intent.status in sandbox.OPEN_STATUSES,
        "succeeded": intent.status == "succeeded",
        "canceled": intent.status == "canceled",
    }
    # The site's LocaleMiddleware gives every path without a language prefix the default language
    # (i18n_patterns with prefix_default_language=False): the page reads the payer's own (the
    # django_language cookie, then Accept-Language), as the recommendation API does.
    language = translation.get_language_from_request(request)
    with translation.override(language):
        response = render(request, "payments/sandbox_checkout.html", context)
    response["Content-Language"] = language
    return response
