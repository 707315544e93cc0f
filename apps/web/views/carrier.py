"""The carrier's console: the fleet at a glance (spend and swaps over time, spend by driver and
by vehicle), vehicles and their assignments, drivers with invitations and spending limits, and
the fleet wallet. For the carrier's admins; every write goes through apps.accounts' services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.access import Actor, visible_pack_standards
from apps.accounts.models import Organisation
from apps.accounts.selectors import carriers as carrier_selectors
from apps.accounts.services import carriers as carrier_services
from apps.common.errors import ApplicationError
from apps.ledger.selectors import wallet_get, wallet_movement_list
from apps.web import console_selectors as selectors
from apps.web import labels
from apps.web.charts import Bar, column_chart
from apps.web.console_forms import AssignForm, InviteForm, LimitsForm, fen_of
from apps.web.consoles import carrier_for, console_nav
from apps.web.forms import VehicleForm
from apps.web.pages import actor_of, form_errors, page, render_page
from apps.web.templatetags.swapnet import yuan

SPEND_DAYS = 14


def _common(request: HttpRequest, carrier: Organisation, tab: str) -> dict[str, Any]:
    actor = actor_of(request)
    return {
        "carrier": carrier,
        "carriers": list(actor.carrier_admin_of),
        "tab": tab,
        "nav": console_nav(actor),
    }


def _back(name: str, carrier: Organisation) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?carrier={carrier.pk}")


@page("carrier")
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    days = selectors.carrier_spend_by_day(actor=actor, carrier=carrier, days=SPEND_DAYS)
    _first, since = selectors.days_back(SPEND_DAYS)
    label_every = 2
    spend_chart = column_chart(
        bars=[Bar(label=d.day.strftime("%m-%d"), value=d.fen, text=yuan(d.fen)) for d in days],
        title=_("Spend per day, last %(days)s days") % {"days": SPEND_DAYS},
        empty=_("No swaps in these days."),
        label_every=label_every,
    )
    swaps_chart = column_chart(
        bars=[Bar(label=d.day.strftime("%m-%d"), value=d.swaps, text=str(d.swaps), tone="ok") for d in days],
        title=_("Swaps per day, last %(days)s days") % {"days": SPEND_DAYS},
        empty=_("No swaps in these days."),
        label_every=label_every,
    )
    context = {
        **_common(request, carrier, "carrier"),
        "wallet": wallet_get(actor=actor, organisation_id=carrier.pk),
        "spend_chart": spend_chart,
        "swaps_chart": swaps_chart,
        "total_fen": sum(d.fen for d in days),
        "total_swaps": sum(d.swaps for d in days),
        "days": SPEND_DAYS,
        "by_driver": selectors.carrier_spend_by(actor=actor, carrier=carrier, since=since, by="driver"),
        "by_vehicle": selectors.carrier_spend_by(actor=actor, carrier=carrier, since=since, by="vehicle"),
    }
    return render_page(request, "web/console/carrier_home.html", context)


def _vehicle_form(actor: Actor, data: Any) -> VehicleForm:
    form = VehicleForm(data)
    standards = visible_pack_standards(actor).order_by("code")
    form.fields["pack_standard"].choices = [(s.code, f"{s.code} · {s.name}") for s in standards]  # type: ignore[attr-defined]
    return form


@page("carrier")
@require_http_methods(["GET", "POST"])
def vehicles(request: HttpRequest) -> HttpResponse:
    """The fleet with its batteries and drivers; a POST adds a vehicle to it."""
    actor = actor_of(request)
    carrier = carrier_for(request)
    form = _vehicle_form(actor, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                added = carrier_services.vehicle_add(
                    actor=actor,
                    carrier=carrier,
                    plate=form.cleaned_data["plate"],
                    vin=form.cleaned_data["vin"],
                    pack_standard_code=form.cleaned_data["pack_standard"],
                    model_name=form.cleaned_data["model_name"],
                )
            except ApplicationError as error:
                form_errors(form, error)
                status = error.status_code
            else:
                messages.success(request, _("%(plate)s was added to the fleet.") % {"plate": added.plate})
                return _back("web:carrier-vehicles", carrier)
        else:
            status = 400
    fleet = list(carrier_selectors.carrier_vehicle_list(actor=actor, carrier=carrier))
    drivers = list(carrier_selectors.carrier_driver_list(actor=actor, carrier=carrier))
    rows = [
        {
            "vehicle": v,
            "drivers": [a.driver for a in v.assignments.all()],
            "batteries": sorted(v.batteries.all(), key=lambda b: b.vehicle_position or 0),
        }
        for v in fleet
    ]
    context = {
        **_common(request, carrier, "carrier-vehicles"),
        "rows": rows,
        "drivers": drivers,
        "assign_form": AssignForm(),
        "vehicle_form": form,
    }
    return render_page(request, "web/console/carrier_vehicles.html", context, status=status)


@page("carrier")
@require_POST
def vehicle_assign(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a vehicle and a driver."))
        return _back("web:carrier-vehicles", carrier)
    try:
        vehicle = carrier_selectors.carrier_vehicle_get(actor=actor, carrier=carrier, plate=form.cleaned_data["plate"])
        driver = carrier_selectors.assignment_driver_get(actor=actor, vehicle=vehicle, user_id=form.cleaned_data["driver"])
        if request.POST.get("unassign"):
            carrier_services.vehicle_unassign(actor=actor, vehicle=vehicle, driver=driver)
            messages.success(
                request, _("%(name)s no longer drives %(plate)s.") % {"name": driver.display_name, "plate": vehicle.plate}
            )
        else:
            carrier_services.vehicle_assign(actor=actor, vehicle=vehicle, driver=driver)
            messages.success(request, _("%(name)s now drives %(plate)s.") % {"name": driver.display_name, "plate": vehicle.plate})
    except ApplicationError as error:
        messages.error(request, error.message)
    return _back("web:carrier-vehicles", carrier)


def _limit_yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


@page("carrier")
def drivers(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    memberships = list(carrier_selectors.carrier_driver_list(actor=actor, carrier=carrier))
    rows = []
    for m in memberships:
        latest = m.user.verifications.all()[:1]
        state = latest[0].status if latest else "unverified"
        rows.append(
            {
                "membership": m,
                "user": m.user,
                "vehicles": [a.vehicle for a in getattr(m.user, "fleet_assignments", [])],
                "state_label": labels.VERIFICATION_STATES.get(state, state),
                "state_tone": labels.VERIFICATION_TONES.get(state, ""),
                "per_swap": _limit_yuan(m.limit_per_swap_fen),
                "per_day": _limit_yuan(m.limit_per_day_fen),
            }
        )
    invitations = list(carrier_selectors.carrier_invitation_list(actor=actor, carrier=carrier).order_by("-created_at")[:20])
    context = {
        **_common(request, carrier, "carrier-drivers"),
        "rows": rows,
        "invitations": invitations,
        "invite_form": InviteForm(),
    }
    return render_page(request, "web/console/carrier_drivers.html", context)


@page("carrier")
@require_POST
def driver_limits(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    membership = carrier_selectors.carrier_driver_get(actor=actor, carrier=carrier, user_id=user_id)
    form = LimitsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A limit is an amount in yuan with at most two decimals, or empty for no limit."))
        return _back("web:carrier-drivers", carrier)
    try:
        carrier_services.driver_limits_set(
            actor=actor,
            carrier=carrier,
            driver=membership.user,
            per_swap_fen=fen_of(form.cleaned_data["per_swap_yuan"]),
            per_day_fen=fen_of(form.cleaned_data["per_day_yuan"]),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Limits saved for %(name)s.") % {"name": membership.user.display_name})
    return _back("web:carrier-drivers", carrier)


@page("carrier")
@require_POST
def driver_invite(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = carrier_services.driver_invite(actor=actor, carrier=carrier, phone=form.cleaned_data["phone"])
        except ApplicationError as error:
            form_errors(form, error)
            messages.error(request, error.message)
        else:
            messages.success(request, _("Invitation sent to %(phone)s.") % {"phone": invitation.phone})
    else:
        messages.error(request, _("Enter a mobile number."))
    return _back("web:carrier-drivers", carrier)


@page("carrier")
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    invitation = carrier_selectors.carrier_invitation_get(actor=actor, carrier=carrier, invitation_id=invitation_id)
    try:
        carrier_services.invitation_revoke(actor=actor, invitation=invitation)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation to %(phone)s was withdrawn.") % {"phone": invitation.phone})
    return _back("web:carrier-drivers", carrier)


@page("carrier")
def wallet(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    carrier = carrier_for(request)
    mine = wallet_get(actor=actor, organisation_id=carrier.pk)
    movements = [
        {
            "at": m.created_at,
            "label": labels.MOVEMENTS.get(m.movement_type, m.movement_type),
            "net_fen": m.net_fen,  # type: ignore[attr-defined]
            "reference": m.reference,
        }
        for m in wallet_movement_list(wallet=mine)[:50]
    ]
    context = {**_common(request, carrier, "carrier-wallet"), "wallet": mine, "movements": movements}
    return render_page(request, "web/console/carrier_wallet.html", context)
