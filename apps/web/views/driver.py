"""The driver's pages: home, verification, vehicle, stations, scan, the order live, wallet, history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.access import Actor, visible_pack_standards
from apps.accounts.selectors.verification import driver_profile_get
from apps.accounts.services import carriers as carrier_services
from apps.accounts.services import verification as verification_services
from apps.assets.selectors import StationFilters, station_list
from apps.common.errors import ApplicationError, NotFound
from apps.ledger.selectors import Wallet, wallet_get, wallet_movement_list
from apps.payments import selectors as payment_selectors
from apps.payments.providers import checkout_path
from apps.payments.services.topups import topup_create
from apps.recommend.services.recommendations import recommendation_make
from apps.swaps import selectors as swap_selectors
from apps.swaps import services as swap_services
from apps.swaps.models import ACTIVE_STATES, LineKind, LineStage, OrderState, SwapOrder
from apps.web import labels, selectors
from apps.web.forms import ScanForm, TopUpForm, VehicleForm, VerificationForm
from apps.web.pages import actor_of, form_errors, page, render_page
from apps.web.photos import qr_text_from_photo
from apps.web.svg import MapStation, corridor_map_svg


def verification_state(profile: Any) -> str:
    return profile.verification.status if profile.verification is not None else "unverified"


def _common(request: HttpRequest, tab: str) -> dict[str, Any]:
    return {"tab": tab, "actor": actor_of(request)}


@page("driver")
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    profile = driver_profile_get(actor=actor)
    state = verification_state(profile)
    order = selectors.driver_active_order(actor=actor)
    context = {
        **_common(request, "home"),
        "profile": profile,
        "verification_state": state,
        "verification_label": labels.VERIFICATION_STATES[state],
        "verification_tone": labels.VERIFICATION_TONES[state],
        "order": order,
        "order_label": labels.ORDER_STATES.get(order.state) if order else None,
        "wallet": _wallet(actor),
    }
    return render_page(request, "web/driver/home.html", context)


def _wallet(actor: Actor) -> Wallet | None:
    """The wallet the driver pays from themselves (an individual's); None for a fleet driver."""
    if not actor.carrier_admin_of:
        return None
    try:
        return wallet_get(actor=actor)
    except ApplicationError:
        return None


@page("driver")
@require_http_methods(["GET", "POST"])
def verification(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    profile = driver_profile_get(actor=actor)
    state = verification_state(profile)
    form = VerificationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                verification_services.verification_submit(user=profile.user, **form.cleaned_data)
            except ApplicationError as error:
                form_errors(form, error)
                status = error.status_code
            else:
                messages.success(request, _("Thank you. Your details are waiting for review."))
                return HttpResponseRedirect(reverse("web:driver-verification"))
        else:
            status = 400
    context = {
        **_common(request, "home"),
        "profile": profile,
        "form": form,
        "verification_state": state,
        "verification_label": labels.VERIFICATION_STATES[state],
        "verification_tone": labels.VERIFICATION_TONES[state],
        "may_submit": state in ("unverified", "rejected"),
    }
    return render_page(request, "web/driver/verification.html", context, status=status)


# --- My vehicle ---------------------------------------------------------------------------
@page("driver")
@require_http_methods(["GET", "POST"])
def vehicle(request: HttpRequest) -> HttpResponse:
    """The vehicles assigned to the driver with the batteries they carry; a private owner adds
    their own vehicle here (and so becomes a carrier of one)."""
    actor = actor_of(request)
    profile = driver_profile_get(actor=actor)
    standards = list(visible_pack_standards(actor).order_by("code"))
    form = VehicleForm(request.POST or None)
    form.fields["pack_standard"].choices = [(s.code, f"{s.code} · {s.name}") for s in standards]  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                carrier_services.individual_vehicle_add(
                    user=profile.user,
                    plate=form.cleaned_data["plate"],
                    vin=form.cleaned_data["vin"],
                    pack_standard_code=form.cleaned_data["pack_standard"],
                    model_name=form.cleaned_data["model_name"],
                )
            except ApplicationError as error:
                form_errors(form, error)
                status = error.status_code
            else:
                messages.success(request, _("Your vehicle was added."))
                return HttpResponseRedirect(reverse("web:driver-vehicle"))
        else:
            status = 400
    vehicles = [
        {"vehicle": v, "batteries": list(v.batteries.select_related("pack_standard").order_by("vehicle_position"))}
        for v in profile.vehicles
    ]
    context = {**_common(request, "home"), "vehicles": vehicles, "form": form, "profile": profile}
    return render_page(request, "web/driver/vehicle.html", context, status=status)


# --- Stations -----------------------------------------------------------------------------
def _position(request: HttpRequest, stations: list[Any], actor: Actor) -> tuple[Decimal, Decimal, bool]:
    """Where the driver is: the browser's position when it was shared (``?lat=&lon=``), else the
    station of their last order, else the start of the corridor."""
    try:
        lat, lon = Decimal(request.GET["lat"]), Decimal(request.GET["lon"])
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon, True
    except (KeyError, InvalidOperation):
        pass
    last = selectors.driver_orders(actor=actor).first()
    if last is not None:
        return last.station.latitude, last.station.longitude, False
    first = stations[0] if stations else None
    if first is not None:
        return first.latitude, first.longitude, False
    return Decimal(0), Decimal(0), False


@page("driver")
def stations(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    profile = driver_profile_get(actor=actor)
    every = list(station_list(actor=actor, filters=StationFilters()))
    lat, lon, shared = _position(request, every, actor)
    plate = request.GET.get("vehicle") or (profile.vehicles[0].plate if profile.vehicles else "")
    chosen = next((v for v in profile.vehicles if v.plate == plate), None)
    recommendation = None
    refusal = None
    if chosen is not None:
        try:
            recommendation = recommendation_make(actor=actor, vehicle=chosen, latitude=lat, longitude=lon)
        except ApplicationError as error:
            refusal = error.message
    ranks = {item.facts.code: item.rank for item in recommendation.results} if recommendation else {}
    language = translation.get_language()
    map_svg = corridor_map_svg(
        stations=[
            MapStation(
                code=s.code,
                name=s.name_zh if language == "zh-hans" else s.name_en,
                latitude=float(s.latitude),
                longitude=float(s.longitude),
                km=s.km_from_start,
                ready=s.batteries_ready,  # type: ignore[attr-defined]  # station_list's annotation
                online=s.is_online(),
                rank=ranks.get(s.code),
            )
            for s in every
        ],
        here=(float(lat), float(lon)),
        title=_("Map of the corridor's stations"),
        legend={"ok": _("charged stock"), "low": _("low stock"), "offline": _("offline"), "here": _("you")},
    )
    context = {
        **_common(request, "stations"),
        "vehicles": profile.vehicles,
        "vehicle": chosen,
        "recommendation": recommendation,
        "refusal": refusal,
        "map_svg": map_svg,
        "position_shared": shared,
        "stations": every,
    }
    return render_page(request, "web/driver/stations.html", context)


# --- Scan ---------------------------------------------------------------------------------
@page("driver")
@require_http_methods(["GET", "POST"])
def scan(request: HttpRequest) -> HttpResponse:
    """Scan a bay's code with the camera (BarcodeDetector), send a photo of it (decoded here), or
    type the code on the bay's plate."""
    actor = actor_of(request)
    profile = driver_profile_get(actor=actor)
    active = selectors.driver_orders(actor=actor).filter(state__in=ACTIVE_STATES).first()
    form = ScanForm(request.POST or None, request.FILES or None, initial={"code": request.GET.get("code", "")})
    form.fields["plate"].choices = [(v.plate, v.plate) for v in profile.vehicles]  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                photo = form.cleaned_data["photo"]
                code = qr_text_from_photo(photo) if photo is not None else form.cleaned_data["code"]
                scanned = swap_services.swap_scan(actor=actor, qr_payload=code, plate=form.cleaned_data["plate"])
            except ApplicationError as error:
                form_errors(form, error)
                status = error.status_code
            else:
                return HttpResponseRedirect(reverse("web:driver-order", args=[scanned.order.pk]))
        else:
            status = 400
    context = {**_common(request, "scan"), "form": form, "profile": profile, "active": active}
    return render_page(request, "web/driver/scan.html", context, status=status)


# --- The order, live ----------------------------------------------------------------------
STEPS = (OrderState.QUEUED, OrderState.CALLED, OrderState.SWAPPING, OrderState.COMPLETED)


def _lines(order: SwapOrder, stage: str) -> list[dict[str, Any]]:
    """The stage's lines as the driver pays them (the platform's commission is inside the others)."""
    return [
        {
            "line": line,
            "label": labels.LINE_KINDS.get(line.kind, line.kind),
            "period": labels.PERIODS.get(line.period, line.period) if line.period else "",
        }
        for line in order.lines.all()
        if line.stage == stage and line.kind != LineKind.COMMISSION
    ]


def order_context(order: SwapOrder) -> dict[str, Any]:
    state = order.state
    reached = {t.to_state for t in order.transitions.all()}
    steps = []
    for step in STEPS:
        done = step in reached and step != state
        steps.append({"label": labels.ORDER_STATES[step], "done": done or (state == OrderState.SETTLED), "now": step == state})
    return {
        "order": order,
        "state_label": labels.ORDER_STATES.get(state, state),
        "state_tone": labels.ORDER_STATE_TONES.get(state, ""),
        "queue": swap_selectors.queue_position(order=order),
        "steps": steps,
        "quote_lines": _lines(order, LineStage.QUOTE),
        "bill_lines": _lines(order, LineStage.BILL),
        "billed": order.bill_total_fen is not None,
        "active": state in ACTIVE_STATES,
        "may_cancel": state in (OrderState.QUEUED, OrderState.CALLED),
        "abnormal_words": labels.ABNORMAL_REASONS.get(order.abnormal_reason, order.abnormal_detail)
        if order.abnormal_reason
        else "",
    }


@page("driver")
def order(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = actor_of(request)
    found = swap_selectors.order_get(actor=actor, order_id=order_id)
    if found.driver_id != actor.user_id:  # the driver's pages show the driver's own orders
        raise NotFound("swap order")
    context = {**_common(request, "scan"), **order_context(found)}
    return render_page(request, "web/driver/order.html", context, fragment="web/driver/_order_live.html")


@page("driver")
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = actor_of(request)
    found = swap_selectors.order_get(actor=actor, order_id=order_id)
    if found.driver_id != actor.user_id:
        raise NotFound("swap order")
    try:
        swap_services.swap_cancel(actor=actor, order=found)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The order was cancelled; the held money was released."))
    return HttpResponseRedirect(reverse("web:driver-order", args=[order_id]))


@page("driver")
def receipt(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = actor_of(request)
    found = swap_selectors.order_get(actor=actor, order_id=order_id)
    if found.driver_id != actor.user_id or found.bill_total_fen is None:
        raise NotFound("receipt")
    context = {**_common(request, "history"), **order_context(found)}
    return render_page(request, "web/driver/receipt.html", context)


# --- Wallet -------------------------------------------------------------------------------
@page("driver")
@require_http_methods(["GET", "POST"])
def wallet(request: HttpRequest) -> HttpResponse:
    """An individual's own wallet: balance, top-up through the payment provider, movements. A
    fleet driver's swaps are paid by the fleet, whose balance they do not see."""
    actor = actor_of(request)
    mine = _wallet(actor)
    form = TopUpForm(request.POST or None, initial={"amount_yuan": 500})
    status = 200
    if request.method == "POST" and mine is not None:
        if form.is_valid():
            try:
                payer = payment_selectors.payer_get(actor=actor, organisation_id=mine.organisation.pk)
                top_up = topup_create(actor=actor, organisation=payer, amount_fen=form.cleaned_data["amount_yuan"] * 100)
            except ApplicationError as error:
                form_errors(form, error)
                status = error.status_code
            else:
                path = checkout_path(
                    provider=top_up.provider, intent_id=top_up.provider_intent_id, client_secret=top_up.client_secret
                )
                if path is None:  # Stripe: the phone app pays with the client secret; not on this page yet
                    messages.error(request, _("Top-ups with this payment provider are made in the app."))
                    return HttpResponseRedirect(reverse("web:driver-wallet"))
                return HttpResponseRedirect(path)
        else:
            status = 400
    movements = [
        {"at": m.created_at, "label": labels.MOVEMENTS.get(m.movement_type, m.movement_type), "net_fen": m.net_fen}  # type: ignore[attr-defined]
        for m in (wallet_movement_list(wallet=mine)[:30] if mine is not None else [])
    ]
    top_ups = list(payment_selectors.top_up_list(actor=actor, organisation=mine.organisation)[:5]) if mine is not None else []
    context = {
        **_common(request, "wallet"),
        "wallet": mine,
        "form": form,
        "movements": movements,
        "top_ups": top_ups,
        "sandbox": settings.PAYMENT_PROVIDER == "sandbox",
    }
    return render_page(request, "web/driver/wallet.html", context, status=status)


# --- History ------------------------------------------------------------------------------
@page("driver")
def history(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    orders = list(selectors.driver_orders(actor=actor)[:50])
    rows = [
        {"order": o, "label": labels.ORDER_STATES.get(o.state, o.state), "tone": labels.ORDER_STATE_TONES.get(o.state, "")}
        for o in orders
    ]
    return render_page(request, "web/driver/history.html", {**_common(request, "history"), "rows": rows})
