"""The platform's verification review queue: approve or reject drivers' real-name submissions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import VerificationStatus
from apps.accounts.selectors.verification import verification_get, verification_list
from apps.accounts.services import verification as verification_services
from apps.common.errors import ApplicationError
from apps.web.forms import RejectForm
from apps.web.pages import actor_of, page, render_page


@page("platform")
def verifications(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    pending = list(verification_list(actor=actor, status=VerificationStatus.PENDING).select_related("user")[:100])
    recent = list(
        verification_list(actor=actor)
        .exclude(status=VerificationStatus.PENDING)
        .select_related("user", "reviewed_by")
        .order_by("-reviewed_at", "-pk")[:10]
    )
    context = {"pending": pending, "recent": recent, "reject_form": RejectForm(), "tab": "verifications"}
    return render_page(request, "web/platform/verifications.html", context, fragment="web/platform/_verifications_live.html")


@page("platform")
@require_POST
def verification_approve(request: HttpRequest, verification_id: int) -> HttpResponse:
    actor = actor_of(request)
    verification = verification_get(actor=actor, verification_id=verification_id)
    try:
        verification_services.verification_approve(actor=actor, verification=verification)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s is verified.") % {"name": verification.legal_name})
    return HttpResponseRedirect(reverse("web:platform-verifications"))


@page("platform")
@require_POST
def verification_reject(request: HttpRequest, verification_id: int) -> HttpResponse:
    actor = actor_of(request)
    verification = verification_get(actor=actor, verification_id=verification_id)
    form = RejectForm(request.POST)
    reason = form.data.get("reason", "") if not form.is_valid() else form.cleaned_data["reason"]
    try:
        verification_services.verification_reject(actor=actor, verification=verification, reason=str(reason))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s's submission was rejected.") % {"name": verification.legal_name})
    return HttpResponseRedirect(reverse("web:platform-verifications"))
