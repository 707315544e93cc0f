"""Station staff's pages: the live queue (call next, confirm in the bay, mark abnormal), today's
swaps, and the battery stock by slot. For the station's staff and its operator's admins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.assets.models import Station
from apps.common.errors import ApplicationError
from apps.ledger.selectors import local_midnight
from apps.swaps import selectors as swap_selectors
from apps.swaps import services as swap_services
from apps.swaps.models import QUEUE_STATES, OrderState
from apps.web import labels, selectors
from apps.web.forms import AbnormalForm
from apps.web.pages import actor_of, page, render_page


def _station(request: HttpRequest, code: str) -> Station:
    return swap_selectors.station_for_queue(actor=actor_of(request), code=code)


def _common(request: HttpRequest, station: Station, tab: str) -> dict[str, Any]:
    language = translation.get_language()
    return {
        "station": station,
        "station_name": station.name_zh if language == "zh-hans" else station.name_en,
        "tab": tab,
        "stations": selectors.staff_stations(actor=actor_of(request)),
    }


@page("staff")
def home(request: HttpRequest) -> HttpResponse:
    stations = selectors.staff_stations(actor=actor_of(request))
    if len(stations) == 1:
        return HttpResponseRedirect(reverse("web:staff-queue", args=[stations[0].code]))
    return render_page(request, "web/staff/home.html", {"stations": stations})


def queue_context(request: HttpRequest, station: Station) -> dict[str, Any]:
    orders = swap_selectors.station_queue(station=station)
    waiting = [o for o in orders if o.state in QUEUE_STATES]
    positions = {o.pk: n for n, o in enumerate(waiting, start=1)}
    rows: list[dict[str, Any]] = [
        {
            "order": o,
            "position": positions.get(o.pk),
            "label": labels.ORDER_STATES.get(o.state, o.state),
            "tone": labels.ORDER_STATE_TONES.get(o.state, ""),
            "abnormal_words": labels.ABNORMAL_REASONS.get(o.abnormal_reason, o.abnormal_reason) if o.abnormal_reason else "",
        }
        for o in orders
    ]
    return {
        "rows": rows,
        "called": [r for r in rows if r["order"].state == OrderState.CALLED],
        "swapping": [r for r in rows if r["order"].state == OrderState.SWAPPING],
        "queued": [r for r in rows if r["order"].state == OrderState.QUEUED],
        "abnormal": [r for r in rows if r["order"].state == OrderState.ABNORMAL],
        "waiting": len(waiting),
        "online": station.is_online(),
        "abnormal_form": AbnormalForm(initial={"reason": "staff_reported"}),
    }


@page("staff")
def queue(request: HttpRequest, code: str) -> HttpResponse:
    station = _station(request, code)
    context = {**_common(request, station, "queue"), **queue_context(request, station)}
    return render_page(request, "web/staff/queue.html", context, fragment="web/staff/_queue_live.html")


def _back(station: Station) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:staff-queue", args=[station.code]))


@page("staff")
@require_POST
def call_next(request: HttpRequest, code: str) -> HttpResponse:
    station = _station(request, code)
    try:
        called = swap_services.queue_call_next(actor=actor_of(request), station=station)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(plate)s is called to bay %(bay)s.") % {"plate": called.vehicle.plate, "bay": called.bay.number}
        )
    return _back(station)


@page("staff")
@require_POST
def confirm(request: HttpRequest, code: str, order_id: int) -> HttpResponse:
    station = _station(request, code)
    actor = actor_of(request)
    try:
        order = swap_selectors.order_get(actor=actor, order_id=order_id)
        if order.station_id != station.pk:
            raise ApplicationError("not_found", _("No such order at this station."), status_code=404)
        swap_services.swap_confirm(actor=actor, order=order)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Swap started for %(plate)s.") % {"plate": order.vehicle.plate})
    return _back(station)


@page("staff")
@require_POST
def abnormal(request: HttpRequest, code: str, order_id: int) -> HttpResponse:
    station = _station(request, code)
    actor = actor_of(request)
    form = AbnormalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason."))
        return _back(station)
    try:
        order = swap_selectors.order_get(actor=actor, order_id=order_id)
        if order.station_id != station.pk:
            raise ApplicationError("not_found", _("No such order at this station."), status_code=404)
        swap_services.swap_mark_abnormal(
            actor=actor, order=order, reason=form.cleaned_data["reason"], detail=form.cleaned_data["detail"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The order is marked abnormal; the operator resolves it."))
    return _back(station)


@page("staff")
def today(request: HttpRequest, code: str) -> HttpResponse:
    station = _station(request, code)
    since = local_midnight(timezone.localdate())
    orders = list(selectors.station_day_orders(actor=actor_of(request), station=station, since=since))
    done = [o for o in orders if o.state in (OrderState.COMPLETED, OrderState.SETTLED)]
    rows = [
        {"order": o, "label": labels.ORDER_STATES.get(o.state, o.state), "tone": labels.ORDER_STATE_TONES.get(o.state, "")}
        for o in orders
    ]
    context = {
        **_common(request, station, "today"),
        "rows": rows,
        "swaps_done": len(done),
        "billed_fen": sum(o.bill_total_fen or 0 for o in done),
        "energy_kwh": sum((o.delivered_kwh or 0) - (o.returned_kwh or 0) for o in done),
        "abnormal_count": sum(1 for o in orders if o.state == OrderState.ABNORMAL),
    }
    return render_page(request, "web/staff/today.html", context, fragment="web/staff/_today_live.html")


@page("staff")
def stock(request: HttpRequest, code: str) -> HttpResponse:
    station = _station(request, code)
    batteries = {b.station_slot: b for b in selectors.station_slots(actor=actor_of(request), station=station)}
    ready_min = settings.BATTERY_READY_MIN_CHARGE_PCT
    hot = settings.BATTERY_MAX_TEMPERATURE_C
    slots = []
    for number in range(1, station.slot_count + 1):
        battery = batteries.get(number)
        tone = ""
        if battery is not None:
            if battery.temperature_c is not None and battery.temperature_c > hot:
                tone = "bad"
            elif battery.charge_pct >= ready_min:
                tone = "ok"
            else:
                tone = "warn"
        slots.append({"number": number, "battery": battery, "tone": tone})
    context = {
        **_common(request, station, "stock"),
        "slots": slots,
        "ready": sum(1 for s in slots if s["tone"] == "ok"),
        "charging": sum(1 for s in slots if s["tone"] == "warn"),
        "empty": sum(1 for s in slots if s["battery"] is None),
        "ready_min": ready_min,
        "hot": hot,
    }
    return render_page(request, "web/staff/stock.html", context, fragment="web/staff/_stock_live.html")
