"""The operations console of station operators, battery owners and the platform: the network
map (stations online or offline, stock, queue), station utilisation and energy by time-of-use
period, a live telemetry table, abnormal orders to resolve, and tariffs and usage rates.

What each one sees comes from ``apps.access`` (``ACCESS.md``): station telemetry is its
operator's (and the platform's); battery telemetry is its owner's and the operator's where it
is now. Writes go through the swaps and billing services, which check again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.access import Actor, visible_station_internals
from apps.access import swaps as swap_access
from apps.accounts.models import Organisation
from apps.billing import selectors as billing_selectors
from apps.billing import services as billing_services
from apps.billing.models import BatteryRate
from apps.billing.tou import PERIOD_ORDER
from apps.common.errors import ApplicationError, NotFound
from apps.swaps import selectors as swap_selectors
from apps.swaps import services as swap_services
from apps.swaps.services import SwapReading
from apps.web import console_selectors as selectors
from apps.web import labels
from apps.web.charts import Bar, bar_chart
from apps.web.console_forms import RateForm, ResolveForm, TariffForm
from apps.web.consoles import console_nav
from apps.web.pages import actor_of, page, render_page
from apps.web.svg import MapStation, corridor_map_svg
from apps.web.templatetags.swapnet import yuan

WINDOW_DAYS = 7


def _common(request: HttpRequest, tab: str) -> dict[str, Any]:
    actor = actor_of(request)
    return {"tab": tab, "nav": console_nav(actor), "actor": actor}


def _name(station: Any) -> str:
    return station.name_zh if translation.get_language() == "zh-hans" else station.name_en


def _may_resolve(actor: Actor) -> bool:
    return actor.platform_admin or bool(actor.operator_admin_of)


# --- The network -------------------------------------------------------------------------
@page("ops")
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    stations = selectors.network_stations(actor=actor)
    ready = selectors.ready_counts(stations=stations)
    online = selectors.stations_online(stations=stations)
    rows = [
        {
            "number": n,
            "station": s,
            "name": _name(s),
            "online": s.pk in online,
            "ready": ready.get(s.pk, 0),
            "stock": s.stock_total,  # type: ignore[attr-defined]
            "queue": s.queue_length,  # type: ignore[attr-defined]
        }
        for n, s in enumerate(stations, start=1)
    ]
    map_svg = corridor_map_svg(
        stations=[
            MapStation(
                code=r["station"].code,
                name=r["name"],
                latitude=float(r["station"].latitude),
                longitude=float(r["station"].longitude),
                km=r["station"].km_from_start,
                ready=r["ready"],
                online=r["online"],
                href=f"#station-{r['station'].code}",
            )
            for r in rows
        ],
        here=None,
        title=_("Map of the network's stations"),
        legend={"ok": _("charged stock"), "low": _("low stock"), "offline": _("offline")},
    )
    now = timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    context: dict[str, Any] = {
        **_common(request, "ops"),
        "rows": rows,
        "map_svg": map_svg,
        "online_count": len(online),
        "queue_total": sum(r["queue"] for r in rows),
        "ready_total": sum(r["ready"] for r in rows),
        "window_days": WINDOW_DAYS,
    }
    if actor.platform_admin or actor.operator_admin_of:
        usage = selectors.station_utilisation(actor=actor, since=since, until=now)
        context["utilisation_chart"] = bar_chart(
            bars=[
                Bar(
                    label=f"{u.station.code}",
                    value=u.pct,
                    text=f"{u.pct}% · {u.swaps}",
                    tone="ok" if u.pct >= 20 else ("warn" if u.pct >= 5 else "muted"),
                )
                for u in usage
            ],
            title=_("Station utilisation, last %(days)s days") % {"days": WINDOW_DAYS},
            empty=_("No stations."),
            maximum=max([Decimal(25)] + [u.pct for u in usage]),
        )
        energy = selectors.energy_by_period(actor=actor, since=since)
        context["energy_chart"] = bar_chart(
            bars=[
                Bar(
                    label=str(labels.PERIODS.get(period.value, period.value)),
                    value=energy[period.value][0],
                    text=f"{energy[period.value][0].quantize(Decimal('0.1'))} kWh · {yuan(energy[period.value][1])}",
                    tone={"sharp": "bad", "peak": "warn", "flat": "", "valley": "ok", "deep_valley": "ok"}[period.value],
                )
                for period in PERIOD_ORDER
                if period.value in energy
            ],
            title=_("Energy sold by time-of-use period, last %(days)s days") % {"days": WINDOW_DAYS},
            empty=_("No energy sold in these days."),
        )
    return render_page(request, "web/console/ops_home.html", context)


# --- Telemetry ------------------------------------------------------------------------------
@page("ops")
def telemetry(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    stations = selectors.telemetry_stations(actor=actor)
    online = selectors.stations_online(stations=stations)
    code = request.GET.get("station", "")
    batteries = selectors.telemetry_batteries(actor=actor, station_code=code)
    ready = selectors.ready_counts(stations=stations)
    context = {
        **_common(request, "ops-telemetry"),
        "stations": [
            {
                "station": s,
                "name": _name(s),
                "online": s.pk in online,
                "ready": ready.get(s.pk, 0),
                "stock": s.stock_total,  # type: ignore[attr-defined]
                "queue": s.queue_length,  # type: ignore[attr-defined]
            }
            for s in stations
        ],
        "batteries": batteries,
        "station_filter": code,
        "hot": Decimal(45),
        "now": timezone.now(),
    }
    return render_page(request, "web/console/ops_telemetry.html", context, fragment="web/console/_telemetry_live.html")


# --- Abnormal orders --------------------------------------------------------------------------
@page("ops")
def abnormal(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if not _may_resolve(actor):
        raise NotFound("page")
    now = timezone.localtime()
    rows = []
    for order in selectors.abnormal_orders(actor=actor):
        delivered = order.delivered_battery or order.reserved_battery
        returned = order.returned_battery or order.expected_return_battery
        rows.append(
            {
                "order": order,
                "station_name": _name(order.station),
                "words": labels.ABNORMAL_REASONS.get(order.abnormal_reason, order.abnormal_reason),
                "from_label": labels.ORDER_STATES.get(order.abnormal_from, order.abnormal_from),
                "initial": {
                    "delivered_battery": delivered.code if delivered else "",
                    "returned_battery": returned.code if returned else "",
                    "delivered_kwh": order.delivered_kwh if order.delivered_kwh is not None else order.quote_delivered_kwh,
                    "returned_kwh": order.returned_kwh if order.returned_kwh is not None else order.quote_returned_kwh,
                },
            }
        )
    context = {**_common(request, "ops-abnormal"), "rows": rows, "now": now}
    return render_page(request, "web/console/ops_abnormal.html", context, fragment="web/console/_abnormal_live.html")


@page("ops")
@require_POST
def resolve(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = actor_of(request)
    if not _may_resolve(actor):
        raise NotFound("page")
    order = swap_selectors.order_get(actor=actor, order_id=order_id)
    if not swap_access.may_flag_order(actor, order):
        raise NotFound("swap order")
    back = HttpResponseRedirect(reverse("web:ops-abnormal"))
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the readings: energy in kWh with at most three decimals."))
        return back
    data = form.cleaned_data
    reading = None
    if data["action"] == "complete":
        if not data["delivered_battery"] or data["delivered_kwh"] is None or data["returned_kwh"] is None:
            messages.error(request, _("To complete the order give the battery handed out and both energy readings."))
            return back
        ended = timezone.now()
        reading = SwapReading(
            delivered_battery=data["delivered_battery"].strip(),
            returned_battery=data["returned_battery"].strip() or None,
            delivered_kwh=data["delivered_kwh"],
            returned_kwh=data["returned_kwh"],
            started_at=order.swap_started_at or order.confirmed_at or ended - timedelta(minutes=5),
            ended_at=order.swap_ended_at or ended,
        )
    try:
        swap_services.swap_resolve(actor=actor, order=order, action=data["action"], reading=reading, note=data["note"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        done = (
            _("Order %(id)s completed with the corrected readings.")
            if data["action"] == "complete"
            else _("Order %(id)s cancelled; the battery and the held money are released.")
        )
        messages.success(request, done % {"id": order.pk})
    return back


# --- Tariffs and usage rates ------------------------------------------------------------------
def _tariff_initial(tariff: Any) -> dict[str, Any]:
    if tariff is None:
        return {}
    return {
        **{f"price_{p.value}": getattr(tariff, f"price_{p.value}") for p in PERIOD_ORDER},
        "service_fee_per_kwh": tariff.service_fee_per_kwh,
        "service_fee_per_swap": tariff.service_fee_per_swap,
    }


def _owner_default_rate(owner: Organisation) -> BatteryRate | None:
    return (
        BatteryRate.objects.filter(owner=owner, battery__isnull=True, health_grade="", effective_from__lte=timezone.now())
        .order_by("-effective_from")
        .first()
    )


@page("ops")
def tariffs(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = timezone.now()
    stations = []
    for station in visible_station_internals(actor).order_by("km_from_start", "code"):
        tariff = billing_selectors.tariff_in_force(station=station, at=now)
        stations.append(
            {
                "station": station,
                "name": _name(station),
                "tariff": tariff,
                "prices": [
                    (labels.PERIODS[p.value], getattr(tariff, f"price_{p.value}") if tariff else None) for p in PERIOD_ORDER
                ],
                "form": TariffForm(initial=_tariff_initial(tariff), prefix=station.code),
                "may_change": station.operator_id in actor.operator_admin_of,
            }
        )
    owners = []
    for owner in Organisation.objects.filter(pk__in=actor.owner_admin_of).order_by("name"):
        rate = _owner_default_rate(owner)
        owners.append(
            {
                "owner": owner,
                "rate": rate,
                "form": RateForm(initial={"fee_per_kwh": rate.fee_per_kwh if rate else None}, prefix=f"owner-{owner.pk}"),
                "special": list(
                    BatteryRate.objects.filter(owner=owner)
                    .exclude(battery__isnull=True, health_grade="")
                    .select_related("battery")
                    .order_by("-effective_from")[:20]
                ),
            }
        )
    context = {**_common(request, "ops-tariffs"), "stations": stations, "owners": owners}
    return render_page(request, "web/console/ops_tariffs.html", context)


@page("ops")
@require_POST
def tariff_set(request: HttpRequest, code: str) -> HttpResponse:
    actor = actor_of(request)
    station = visible_station_internals(actor).filter(code=code).first()
    if station is None:
        raise NotFound("station")
    form = TariffForm(request.POST, prefix=station.code)
    back = HttpResponseRedirect(reverse("web:ops-tariffs") + f"#tariff-{station.code}")
    if not form.is_valid():
        messages.error(request, _("Every price is a number of yuan, zero or more, with at most four decimals."))
        return back
    data = form.cleaned_data
    try:
        billing_services.station_tariff_set(
            actor=actor,
            station=station,
            energy_prices={p.value: data[f"price_{p.value}"] for p in PERIOD_ORDER},
            service_fee_per_kwh=data["service_fee_per_kwh"],
            service_fee_per_swap=data["service_fee_per_swap"],
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The new tariff of %(station)s is in force.") % {"station": _name(station)})
    return back


@page("ops")
@require_POST
def rate_set(request: HttpRequest, owner_id: int) -> HttpResponse:
    actor = actor_of(request)
    owner = Organisation.objects.filter(pk=owner_id, pk__in=actor.owner_admin_of).first()
    if owner is None:
        raise NotFound("owner")
    form = RateForm(request.POST, prefix=f"owner-{owner.pk}")
    back = HttpResponseRedirect(reverse("web:ops-tariffs") + "#rates")
    if not form.is_valid():
        messages.error(request, _("The usage fee is a number of yuan per kWh, zero or more, with at most four decimals."))
        return back
    try:
        billing_services.battery_rate_set(actor=actor, owner=owner, fee_per_kwh=form.cleaned_data["fee_per_kwh"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The usage rate of your batteries is in force."))
    return back
