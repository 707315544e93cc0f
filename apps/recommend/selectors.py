"""Reads for station recommendation: the vehicle's state and range, and the facts about every
reachable station that scoring needs (``scoring.CandidateFacts``). All its queries are here.

A request costs a bounded number of queries whatever the size of the network: the spatial index
proposes at most ``RECOMMEND_MAX_CANDIDATES`` stations, and stations, batteries, queues, tariffs
and charging intervals are each read for all of them at once.

Energy is Decimal kWh throughout; distances and times are floats (geometry).
"""

from __future__ import annotations

import functools
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from itertools import pairwise
from types import ModuleType
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import get_language

from apps.assets.models import Battery, BatteryLocation, Bay, BayStatus, Station, Vehicle
from apps.billing import pricing
from apps.billing.models import BatteryRate, ChargingInterval, StationTariff, health_grade
from apps.billing.selectors import calendar_for_zone
from apps.billing.tou import Calendar, Period
from apps.common.compiled import CompiledRead, model_instance
from apps.common.errors import ApplicationError
from apps.common.money import kwh
from apps.recommend import spatial
from apps.recommend.geometry import Point, geodesic_km, haversine_km, heading_alignment, route_alignment
from apps.recommend.models import RecommendationLog
from apps.recommend.scoring import CandidateFacts

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
PERCENT = Decimal(100)
# Consumption from the vehicle's own history: pairs of its recommendations on the same batteries.
HISTORY_WINDOW = timedelta(days=30)
HISTORY_MAX_GAP = timedelta(hours=12)
HISTORY_MIN_KM = 10.0
HISTORY_MIN_PAIRS = 3
HISTORY_ROWS = 20
TARIFF_FIELDS = (
    "price_sharp",
    "price_peak",
    "price_flat",
    "price_valley",
    "price_deep_valley",
    "service_fee_per_kwh",
    "service_fee_per_swap",
    "min_billable_kwh",
)
# What the recommendation reads of a station.
STATION_FIELDS = (
    "pk",
    "code",
    "name_zh",
    "name_en",
    "operator_id",
    "latitude",
    "longitude",
    "tariff_zone",
    "status",
    "opens_at",
    "closes_at",
    "mean_swap_minutes",
    "last_heartbeat_at",
)


# --- The vehicle ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VehicleState:
    vehicle: Vehicle
    batteries: tuple[Battery, ...]  # on board
    remaining_kwh: Decimal
    rated_kwh: Decimal
    reserve_kwh: Decimal
    kwh_per_km: Decimal
    consumption_source: str  # "settings" or "history"
    # Each battery's energy at its last hand-out to a vehicle, where one is recorded.
    handed_out_kwh: dict[int, Decimal] = field(default_factory=dict)

    @property
    def usable_kwh(self) -> Decimal:
        return max(ZERO, self.remaining_kwh - self.reserve_kwh)

    @property
    def range_km(self) -> Decimal:
        return (self.usable_kwh / self.kwh_per_km).quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    @property
    def packs_per_swap(self) -> int:
        return self.vehicle.pack_standard.packs_per_vehicle


ON_BOARD_FIELDS = ("pk", "code", "owner_id", "health_pct", "rated_kwh", "energy_kwh")


@functools.lru_cache(maxsize=2)
def _batteries_on_board(with_swaps: bool) -> CompiledRead:
    """A vehicle's batteries by position, with their energy at their last hand-out where the
    swaps app recorded one (None: not recorded). Compiled once per process, as are the other
    reads of a request here (``apps.common.compiled``)."""
    batteries = Battery.objects.filter(location=BatteryLocation.VEHICLE)
    swaps = _swaps()
    handed_out: Subquery | Value = Value(None, output_field=DecimalField(max_digits=8, decimal_places=3))
    if with_swaps and swaps is not None:
        handouts = swaps.BatteryCustodyEvent.objects.filter(battery_id=OuterRef("pk"), kind=swaps.CustodyKind.DELIVERED)
        handed_out = Subquery(handouts.order_by("-at", "-pk").values("energy_kwh")[:1])
    rows = batteries.annotate(handed_out_kwh=handed_out).order_by("vehicle_position")
    return CompiledRead(lambda vehicle_id: rows.filter(vehicle_id=vehicle_id).values_list(*ON_BOARD_FIELDS, "handed_out_kwh"))


def vehicle_state(*, vehicle: Vehicle, now: datetime) -> VehicleState:
    """Energy on board, the reserve kept back, and the consumption to turn the rest into range."""
    rows = _batteries_on_board(_swaps() is not None)(vehicle_id=vehicle.pk)
    batteries = tuple(model_instance(Battery, ON_BOARD_FIELDS, row[:-1]) for row in rows)
    handed_out_kwh = {row[0]: row[-1] for row in rows if row[-1] is not None}
    standard = vehicle.pack_standard
    remaining = sum((battery.energy_kwh for battery in batteries), ZERO)
    rated = sum((battery.rated_kwh for battery in batteries), ZERO) or standard.rated_kwh * standard.packs_per_vehicle
    kwh_per_km, source = vehicle_consumption(vehicle=vehicle, now=now)
    return VehicleState(
        vehicle=vehicle,
        batteries=batteries,
        remaining_kwh=remaining,
        rated_kwh=rated,
        reserve_kwh=kwh(rated * settings.RECOMMEND_RESERVE_PCT / PERCENT),
        kwh_per_km=kwh_per_km,
        consumption_source=source,
        handed_out_kwh=handed_out_kwh,
    )


def vehicle_consumption(*, vehicle: Vehicle, now: datetime) -> tuple[Decimal, str]:
    """kWh per km from the vehicle's own history when there is enough, else the setting.

    The history is the vehicle's recommendations of the last 30 days: two consecutive ones on the
    same batteries, at most 12 hours apart, at least 10 km apart by road, with less energy on
    board at the second, give one sample (energy used / road distance). With at least three
    samples their median is used, kept within half and twice the setting (a reading error or a
    tow must not make a truck look like it can drive 1,000 km).
    """
    configured: Decimal = settings.RECOMMEND_KWH_PER_KM
    rows = _recent_logs(vehicle_id=vehicle.pk, since=now - HISTORY_WINDOW)
    samples: list[Decimal] = []
    for newer, older in pairwise(rows):
        if newer[4] != older[4] or newer[0] - older[0] > HISTORY_MAX_GAP or newer[3] >= older[3]:
            continue
        road_km = haversine_km((float(older[1]), float(older[2])), (float(newer[1]), float(newer[2])))
        road_km *= settings.RECOMMEND_DETOUR_FACTOR
        if road_km < HISTORY_MIN_KM:
            continue
        samples.append((older[3] - newer[3]) / Decimal(f"{road_km:.3f}"))
    if len(samples) < HISTORY_MIN_PAIRS:
        return configured, "settings"
    median = Decimal(statistics.median(samples))
    return kwh(min(max(median, configured / 2), configured * 2)), "history"


_recent_logs = CompiledRead(
    lambda vehicle_id, since: (
        RecommendationLog.objects.filter(vehicle_id=vehicle_id, created_at__gte=since)
        .order_by("-created_at")
        .values_list("created_at", "latitude", "longitude", "remaining_kwh", "vehicle_batteries")[:HISTORY_ROWS]
    )
)


# --- Queues, reservations and vehicles heading in -------------------------------------------
def _swaps() -> ModuleType | None:
    """``apps.swaps.models``, or None while the swaps app is not installed: then queues count 0,
    no battery is reserved, and price estimates have no custody history to go by."""
    if not django_apps.is_installed("apps.swaps"):
        return None
    from apps.swaps import models as swaps_models

    return swaps_models


def active_orders_count() -> Coalesce | Value:
    """Active swap orders (requested, queued, called, swapping) of the station, as an annotation
    of stations: the queue. 0 without the swaps app."""
    swaps = _swaps()
    if swaps is None:
        return Value(0)
    orders = (
        swaps.SwapOrder.objects.filter(station_id=OuterRef("pk"), state__in=swaps.ACTIVE_STATES)
        .order_by()
        .values("station_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(orders), 0)


@functools.lru_cache(maxsize=2)
def _heading_in(with_swaps: bool) -> CompiledRead:
    """Per station, the recommendation logs that are their vehicle's latest, have no outcome,
    and whose vehicle has no active swap order."""
    latest = RecommendationLog.objects.filter(vehicle_id=OuterRef("vehicle_id")).order_by("-created_at", "-pk").values("pk")[:1]
    logs = RecommendationLog.objects.filter(chosen_station__isnull=True, pk=Subquery(latest))
    swaps = _swaps()
    if with_swaps and swaps is not None:
        ordering = swaps.SwapOrder.objects.filter(vehicle_id=OuterRef("vehicle_id"), state__in=swaps.ACTIVE_STATES)
        logs = logs.filter(~Exists(ordering))
    return CompiledRead(
        lambda station_ids, since, exclude_vehicle_id: (
            logs.filter(top_station_id__in=station_ids, created_at__gte=since)
            .exclude(vehicle_id=exclude_vehicle_id)
            .order_by()
            .values("top_station_id")
            .annotate(vehicles=Count("pk"))
            .values_list("top_station_id", "vehicles")
        )
    )


def heading_in_by_station(*, station_ids: Sequence[int], since: datetime, exclude_vehicle_id: int) -> dict[int, int]:
    """Vehicles recommended each station first since ``since`` that have no swap order yet (their
    log has no outcome, and no active order) and asked nothing since (a vehicle's latest
    recommendation is the one that counts), counted per station in one query."""
    rows = _heading_in(_swaps() is not None)(station_ids=list(station_ids), since=since, exclude_vehicle_id=exclude_vehicle_id)
    return dict(rows)


# --- Candidates -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NearestStation:
    code: str
    name: str
    distance_km: float
    road_km: float


@dataclass(frozen=True)
class CandidateSearch:
    candidates: list[CandidateFacts]
    # When nothing is reachable: the nearest station serving the vehicle's pack (None: none does).
    nearest: NearestStation | None = None


@dataclass(frozen=True)
class _Offer:
    """A compatible battery in a station slot."""

    pk: int
    energy_kwh: Decimal
    ready: bool
    minutes_to_ready: Decimal  # 0 when ready


def _station_name(station: Station) -> str:
    return station.name_en if (get_language() or "").startswith("en") else station.name_zh


BATTERY_COLUMNS = ("pk", "station_id", "pack_standard_id", "charge_pct", "energy_kwh", "rated_kwh", "health_pct")


@functools.lru_cache(maxsize=4)
def _batteries_in_slots(max_temperature: int | None, with_swaps: bool) -> CompiledRead:
    """The read of ``_station_batteries``."""
    batteries = Battery.objects.filter(location=BatteryLocation.STATION)
    if max_temperature is not None:
        batteries = batteries.filter(Q(temperature_c__isnull=True) | Q(temperature_c__lte=max_temperature))
    swaps = _swaps()
    if with_swaps and swaps is not None:
        held = swaps.SwapOrder.objects.filter(battery_held=True, reserved_battery_id=OuterRef("pk"))
        faulty = swaps.BatteryCondition.objects.filter(battery_id=OuterRef("pk"), has_fault=True)
        batteries = batteries.filter(~Exists(held), ~Exists(faulty))
    return CompiledRead(lambda station_ids: batteries.filter(station_id__in=station_ids).order_by().values_list(*BATTERY_COLUMNS))


def _station_batteries(*, station_ids: Sequence[int], pack_standard_id: int) -> list[tuple[Any, ...]]:
    """The compatible batteries in these stations' slots that a station could hand out: not held
    by a swap order, not too hot (``BATTERY_MAX_TEMPERATURE_C``), without a reported fault, as
    the swaps app's own ``ready_batteries`` decides; charged or not."""
    read = _batteries_in_slots(getattr(settings, "BATTERY_MAX_TEMPERATURE_C", None), _swaps() is not None)
    # The pack standard is compared here, not in SQL: the planner must take the station index
    # (every battery of a network may share one standard).
    return [(row[0], row[1], *row[3:]) for row in read(station_ids=list(station_ids)) if row[2] == pack_standard_id]


def _offers(batteries: Sequence[tuple[Any, ...]]) -> dict[int, list[_Offer]]:
    """Batteries by station. One below the ready threshold is taken to be charging at
    ``RECOMMEND_CHARGER_KW`` from now; it will hold its usable energy (rated x health) at the
    threshold when handed out."""
    threshold = Decimal(settings.BATTERY_READY_MIN_CHARGE_PCT)
    charger_kw: Decimal = settings.RECOMMEND_CHARGER_KW
    by_station: dict[int, list[_Offer]] = {}
    for pk, station_id, charge_pct, energy_kwh, rated_kwh, health_pct in batteries:
        ready = charge_pct >= threshold
        if ready:
            minutes = ZERO
        else:
            usable = rated_kwh * health_pct / PERCENT
            minutes = usable * (threshold - charge_pct) / PERCENT / charger_kw * 60
            energy_kwh = kwh(usable * threshold / PERCENT)  # what it will hold when handed out
        by_station.setdefault(station_id, []).append(_Offer(pk, energy_kwh, ready, minutes))
    return by_station


@functools.lru_cache(maxsize=2)
def _stations_with_counts(with_swaps: bool) -> CompiledRead:
    """Stations serving a pack standard, with what the recommendation reads of them, their
    available bays and their active orders."""
    bays = Bay.objects.filter(station_id=OuterRef("pk"), status=BayStatus.AVAILABLE).order_by().values("station_id")
    stations = Station.objects.annotate(
        bays_available=Coalesce(Subquery(bays.annotate(count=Count("pk")).values("count")), 0),
        active_orders=active_orders_count() if with_swaps else Value(0),
    ).order_by()
    # The station's own link to the standard (a join would read every station's links).
    links = Station.pack_standards.through.objects.filter(station_id=OuterRef("pk"))
    return CompiledRead(
        lambda station_ids, pack_standard_id: stations.filter(
            Exists(links.filter(packstandard_id=pack_standard_id)), pk__in=station_ids
        ).values_list(*STATION_FIELDS, "bays_available", "active_orders")
    )


def _stations(*, station_ids: Sequence[int], pack_standard_id: int) -> list[Station]:
    """The stations among these that serve the pack standard, with ``bays_available`` and
    ``active_orders`` set on each."""
    stations = []
    for row in _stations_with_counts(_swaps() is not None)(station_ids=list(station_ids), pack_standard_id=pack_standard_id):
        station = model_instance(Station, STATION_FIELDS, row[:-2])
        station.bays_available, station.active_orders = row[-2:]  # type: ignore[attr-defined]
        stations.append(station)
    return stations


def recommendation_candidates(
    *,
    state: VehicleState,
    position: Point,
    now: datetime,
    heading_deg: float | None = None,
    route: Sequence[Point] = (),
) -> CandidateSearch:
    """Every station within the vehicle's range (at most ``RECOMMEND_MAX_CANDIDATES``, the
    nearest) that serves its pack standard, with the facts scoring needs."""
    index = spatial.station_index()
    standard_id = state.vehicle.pack_standard_id
    detour: float = settings.RECOMMEND_DETOUR_FACTOR
    range_km = float(state.range_km)
    # The index measures on a sphere; geodesic distances differ by under 0.5 %.
    near = index.nearest(
        pack_standard_id=standard_id,
        latitude=position[0],
        longitude=position[1],
        k=settings.RECOMMEND_MAX_CANDIDATES,
        within_km=range_km / detour * 1.005 + 0.1,
    )
    reachable: dict[int, tuple[Station, float, float]] = {}
    for row in _stations(station_ids=[item.station_id for item in near], pack_standard_id=standard_id):
        distance = geodesic_km(position, (float(row.latitude), float(row.longitude)))
        if distance * detour <= range_km:
            reachable[row.pk] = (row, distance, distance * detour)
    if not reachable:
        return CandidateSearch(candidates=[], nearest=_nearest_station(index, standard_id, position))

    ids = list(reachable)
    offers = _offers(_station_batteries(station_ids=ids, pack_standard_id=standard_id))
    heading_in = heading_in_by_station(
        station_ids=ids, since=now - timedelta(minutes=settings.RECOMMEND_HEADING_IN_MINUTES), exclude_vehicle_id=state.vehicle.pk
    )
    speed: float = settings.RECOMMEND_AVERAGE_SPEED_KMH
    etas = {pk: entry[2] / speed * 60 for pk, entry in reachable.items()}
    arrivals = {pk: now + timedelta(minutes=minutes) for pk, minutes in etas.items()}
    handed_out = {pk: _handed_out(offers.get(pk, []), etas[pk], state.packs_per_swap) for pk in ids}
    prices = price_estimates(
        state=state, stations={pk: reachable[pk][0] for pk in ids}, handed_out=handed_out, arrivals=arrivals, now=now
    )

    candidates = []
    for pk, (station, distance, road_km) in reachable.items():
        station_offers = offers.get(pk, [])
        eta = etas[pk]
        queue = station.active_orders + heading_in.get(pk, 0)  # type: ignore[attr-defined]
        wait = max(0.0, queue * float(station.mean_swap_minutes) / max(1, station.bays_available) - eta)  # type: ignore[attr-defined]
        target = (float(station.latitude), float(station.longitude))
        if route:
            ahead: float | None = route_alignment(route=route, origin=position, target=target)
        elif heading_deg is not None:
            ahead = heading_alignment(heading_deg=heading_deg, origin=position, target=target)
        else:
            ahead = None
        candidates.append(
            CandidateFacts(
                station_id=pk,
                code=station.code,
                name=_station_name(station),
                distance_km=distance,
                road_km=road_km,
                eta_minutes=eta,
                ahead=ahead,
                batteries_ready=sum(1 for offer in station_offers if offer.ready),
                batteries_by_arrival=sum(
                    1 for offer in station_offers if not offer.ready and offer.minutes_to_ready <= Decimal(f"{eta:.3f}")
                ),
                packs_per_swap=state.packs_per_swap,
                price_fen=prices.get(pk),
                queue=queue,
                wait_minutes=wait,
                open_on_arrival=station.is_open_at(arrivals[pk]),
                online=station.is_online(now=now),
            )
        )
    return CandidateSearch(candidates=candidates)


def _nearest_station(index: spatial.StationIndex, standard_id: int, position: Point) -> NearestStation | None:
    for item in index.nearest(pack_standard_id=standard_id, latitude=position[0], longitude=position[1], k=1):
        station = Station.objects.filter(pk=item.station_id).first()
        if station is not None:
            distance = geodesic_km(position, (float(station.latitude), float(station.longitude)))
            return NearestStation(station.code, _station_name(station), distance, distance * settings.RECOMMEND_DETOUR_FACTOR)
    return None


def _handed_out(offers: Sequence[_Offer], eta_minutes: float, packs: int) -> list[_Offer]:
    """The batteries a swap on arrival would most likely hand out: the fullest ready ones, then
    those that finish charging in time (at the ready threshold). Empty when there are too few."""
    eta = Decimal(f"{eta_minutes:.3f}")
    ready = sorted((offer for offer in offers if offer.ready), key=lambda offer: (-offer.energy_kwh, offer.pk))
    later = sorted(
        (offer for offer in offers if not offer.ready and offer.minutes_to_ready <= eta),
        key=lambda offer: (offer.minutes_to_ready, offer.pk),
    )
    chosen = (ready + later)[:packs]
    return chosen if len(chosen) == packs else []


# --- The price estimate: the billing quote for this vehicle ----------------------------------
def price_estimates(
    *,
    state: VehicleState,
    stations: dict[int, Station],
    handed_out: dict[int, list[_Offer]],
    arrivals: dict[int, datetime],
    now: datetime,
) -> dict[int, int]:
    """The quote of a swap at each station on arrival, in fen (``billing.pricing.price_bill``):

    - delivered: the energy of the batteries it would hand out (``_handed_out``);
    - returned: the energy on board now;
    - the time-of-use split from the handed-out batteries' charging since they last left a
      vehicle (none: the period at the arrival time);
    - the station's tariff in force at the arrival time, and the usage fee of the vehicle's
      battery (``_returned_battery``).

    The rules are those of the swap's own quote (``apps.swaps.services.billing.swap_price``), read
    for all the candidates at once; commission is left out as it does not change what the driver
    pays.

    Stations without a battery to hand out, a tariff or a calendar get no estimate (left out).
    """
    priced = {pk: offers for pk, offers in handed_out.items() if offers}
    if not priced:
        return {}
    latest_arrival = max(arrivals[pk] for pk in priced)
    tariffs: dict[int, pricing.StationPrices] = {}
    for row in _tariff_versions(station_ids=list(priced), until=latest_arrival):
        station_id, effective_from = row[0], row[1]
        if station_id not in tariffs and effective_from <= arrivals[station_id]:
            sharp, peak, flat, valley, deep_valley, per_kwh, per_swap, min_kwh = row[2:]
            tariffs[station_id] = pricing.StationPrices(
                energy={
                    Period.SHARP: sharp,
                    Period.PEAK: peak,
                    Period.FLAT: flat,
                    Period.VALLEY: valley,
                    Period.DEEP_VALLEY: deep_valley,
                },
                service_per_kwh=per_kwh,
                service_per_swap=per_swap,
                min_billable_kwh=min_kwh,
            )
    battery_ids = [offer.pk for offers in priced.values() for offer in offers]
    intervals = _charging_since_last_return(battery_ids=battery_ids, until=latest_arrival)
    calendars: dict[str, Calendar | None] = {}
    returned = _returned_battery(state, now)

    quotes: dict[int, int] = {}
    for pk, offers in priced.items():
        station = stations[pk]
        prices = tariffs.get(pk)
        if prices is None:
            continue
        zone = station.tariff_zone
        if zone not in calendars:
            calendars[zone] = _calendar(zone)
        calendar = calendars[zone]
        if calendar is None:
            continue
        delivered = sum((offer.energy_kwh for offer in offers), ZERO)
        arrival = arrivals[pk]
        bill_input = pricing.BillInput(
            delivered_kwh=delivered,
            returned_kwh=min(state.remaining_kwh, delivered),
            swap_at=arrival,
            intervals=[
                pricing.ChargingInterval(interval.start, min(interval.end, arrival), interval.kwh)
                for offer in offers
                for interval in intervals.get(offer.pk, [])
                if interval.start < arrival
            ],
            calendar=calendar,
            prices=prices,
            operator=f"operator:{station.operator_id}",
            platform="platform",
            returned_battery=returned,
        )
        try:
            quotes[pk] = pricing.price_bill(bill_input).total_fen
        except (pricing.BillingError, ValueError):
            logger.warning("no price estimate for station %s", station.code, exc_info=True)
    return quotes


_tariff_versions = CompiledRead(
    lambda station_ids, until: (
        StationTariff.objects.filter(station_id__in=station_ids, effective_from__lte=until)
        .order_by("station_id", "-effective_from")
        .values_list("station_id", "effective_from", *TARIFF_FIELDS)
    )
)
_calendars: dict[str, tuple[float, Calendar | None]] = {}


def _calendar(zone: str) -> Calendar | None:
    """The zone's time-of-use calendar (None: none loaded), kept by this process for
    ``RECOMMEND_RECHECK_SECONDS``: versions are published ahead of their effective date."""
    cached = _calendars.get(zone)
    if cached is not None and time.monotonic() - cached[0] < settings.RECOMMEND_RECHECK_SECONDS:
        return cached[1]
    try:
        calendar: Calendar | None = calendar_for_zone(zone=zone)
    except ApplicationError:
        calendar = None
    _calendars[zone] = (time.monotonic(), calendar)
    return calendar


def caches_forget() -> None:
    """Drop what this process keeps between requests: the spatial index, calendars and rates."""
    spatial.station_index_forget()
    _calendars.clear()
    _rates.clear()


@functools.lru_cache(maxsize=2)
def _intervals_since_return(with_swaps: bool) -> CompiledRead:
    """These batteries' charging intervals that started before ``until`` and after their battery
    last came back from a vehicle (all, where no return is recorded)."""
    intervals = ChargingInterval.objects.all()
    swaps = _swaps()
    if with_swaps and swaps is not None:
        returns = swaps.BatteryCustodyEvent.objects.filter(battery_id=OuterRef("battery_id"), kind=swaps.CustodyKind.RETURNED)
        intervals = intervals.annotate(since=Subquery(returns.order_by("-at").values("at")[:1])).filter(
            Q(since__isnull=True) | Q(started_at__gte=F("since"))
        )
    return CompiledRead(
        lambda battery_ids, until: (
            intervals.filter(battery_id__in=battery_ids, started_at__lt=until)
            .order_by("started_at")
            .values_list("battery_id", "started_at", "ended_at", "kwh")
        )
    )


def _charging_since_last_return(*, battery_ids: Sequence[int], until: datetime) -> dict[int, list[pricing.ChargingInterval]]:
    """Each battery's charging intervals since it last left a vehicle (its last return into a
    slot; all of them when none is recorded) up to ``until``, as ``billing.selectors.charging_since``
    reads them for one battery, for all the batteries in one query."""
    rows = _intervals_since_return(_swaps() is not None)(battery_ids=list(battery_ids), until=until)
    intervals: dict[int, list[pricing.ChargingInterval]] = {}
    for battery_id, started_at, ended_at, energy in rows:
        intervals.setdefault(battery_id, []).append(pricing.ChargingInterval(started_at, min(ended_at, until), energy))
    return intervals


_rates: dict[tuple[int, int, str], tuple[float, Decimal | None]] = {}


def _usage_rate(battery: Battery, at: datetime) -> Decimal | None:
    """``usage_rate_in_force``, kept by this process for ``RECOMMEND_RECHECK_SECONDS`` (rates
    take effect now or later, never earlier: an estimate sees a new one that much late)."""
    key = (battery.pk, battery.owner_id, health_grade(battery.health_pct))
    cached = _rates.get(key)
    if cached is not None and time.monotonic() - cached[0] < settings.RECOMMEND_RECHECK_SECONDS:
        return cached[1]
    rate = usage_rate_in_force(battery=battery, at=at)
    _rates[key] = (time.monotonic(), rate)
    return rate


def usage_rate_in_force(*, battery: Battery, at: datetime) -> Decimal | None:
    """``billing.selectors.battery_rate_in_force`` in one query: the most specific rate in force
    (this battery for its grade, this battery, the owner's default for its grade, the owner's
    default), None when the owner has set none. A test keeps the two in step."""
    grade = health_grade(battery.health_pct)
    rows = (
        BatteryRate.objects.filter(owner_id=battery.owner_id, effective_from__lte=at, health_grade__in=[grade, ""])
        .filter(Q(battery_id=battery.pk) | Q(battery__isnull=True))
        .order_by("-effective_from", "-pk")
        .values_list("battery_id", "health_grade", "fee_per_kwh")
    )
    latest: dict[tuple[int | None, str], Decimal] = {}
    for battery_id, grade_of_rate, fee in rows:
        latest.setdefault((battery_id, grade_of_rate), fee)
    for key in ((battery.pk, grade), (battery.pk, ""), (None, grade), (None, "")):
        if key in latest:
            return latest[key]
    return None


def _returned_battery(state: VehicleState, now: datetime) -> pricing.ReturnedBattery | None:
    """The vehicle's battery as the quote returns it: its usage fee is for the energy it delivered
    on this trip (its energy at its last hand-out less its energy now), at its owner's rate; with
    no hand-out recorded the trip is unknown and there is no fee, as in the swap's own quote. A
    vehicle with several packs: their trips summed, at the first pack's rate."""
    trip = sum(
        (
            max(ZERO, state.handed_out_kwh[battery.pk] - battery.energy_kwh)
            for battery in state.batteries
            if battery.pk in state.handed_out_kwh
        ),
        ZERO,
    )
    if trip == 0:
        return None
    first = state.batteries[0]
    return pricing.ReturnedBattery(
        code=first.code, owner=f"owner:{first.owner_id}", trip_kwh=kwh(trip), rate=_usage_rate(first, now)
    )
