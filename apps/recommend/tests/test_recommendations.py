"""Recommending stations for a vehicle: reachability, the facts behind each score, corridor
awareness, the log, and the outcome recorded when the driver swaps."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.assets.models import StationStatus
from apps.billing.models import BatteryRate, ChargingInterval, StationTariff
from apps.billing.selectors import battery_rate_in_force
from apps.recommend import selectors, services
from apps.recommend.models import RecommendationLog, Scoring
from apps.recommend.tests.factories import BASE, driver_of, north, owner, south, station_at, vehicle_carrying
from apps.swaps.models import BatteryCustodyEvent, CustodyKind, OrderState, QrKind, SwapOrder
from apps.swaps.services.billing import swap_price

pytestmark = pytest.mark.django_db

LAT, LON = Decimal("38.400000"), Decimal("116.000000")


def recommend(vehicle, *, heading=None, route=(), limit=None, now=None, lat=LAT, lon=LON) -> services.Recommendation:
    driver = driver_of(vehicle) if not vehicle.assignments.exists() else vehicle.assignments.first().driver
    return services.recommendation_make(
        actor=Actor.of(driver),
        vehicle=vehicle,
        latitude=lat,
        longitude=lon,
        heading_deg=heading,
        route=route,
        limit=limit,
        now=now or timezone.now(),
    )


def codes(recommendation: services.Recommendation) -> list[str]:
    return [item.facts.code for item in recommendation.results]


# --- Range -----------------------------------------------------------------------------------
def test_range_is_the_energy_above_the_reserve_at_the_consumption() -> None:
    state = selectors.vehicle_state(vehicle=vehicle_carrying("200.000"), now=timezone.now())
    assert state.remaining_kwh == Decimal("200.000")
    assert state.reserve_kwh == Decimal("28.200")  # 10 % of 282 kWh rated
    assert state.kwh_per_km == Decimal("1.5")
    assert state.consumption_source == "settings"
    assert state.range_km == Decimal("114.5")  # 171.8 kWh / 1.5, rounded down


def test_consumption_comes_from_the_vehicles_history_when_there_is_enough(settings) -> None:
    vehicle = vehicle_carrying("120.000")
    station = station_at(*north(5))
    start = timezone.now() - timedelta(hours=5)
    # Four readings 50 km apart by road (41.67 km geodesic x 1.2), 90 kWh used each time:
    # 1.8 kWh/km.
    for step in range(4):
        log = RecommendationLog.objects.create(
            vehicle=vehicle,
            latitude=Decimal(f"{BASE[0] + step * 41.667 / 111.195:.6f}"),
            longitude=LON,
            remaining_kwh=Decimal("390") - 90 * step,
            vehicle_batteries=["A"],
            kwh_per_km=Decimal("1.5"),
            range_km=Decimal("100"),
            top_station=station,
            scoring=Scoring.WEIGHTED,
        )
        RecommendationLog.objects.filter(pk=log.pk).update(created_at=start + timedelta(hours=step))
    kwh_per_km, source = selectors.vehicle_consumption(vehicle=vehicle, now=timezone.now())
    assert source == "history"
    assert kwh_per_km == pytest.approx(Decimal("1.8"), abs=Decimal("0.01"))


def test_too_little_history_uses_the_setting() -> None:
    assert selectors.vehicle_consumption(vehicle=vehicle_carrying(), now=timezone.now()) == (Decimal("1.5"), "settings")


# --- Reachability ------------------------------------------------------------------------------
def test_an_unreachable_station_never_appears() -> None:
    vehicle = vehicle_carrying("200.000")  # range 114.5 km by road
    reachable = station_at(*north(20))
    station_at(*south(100))  # 100 km geodesic, 120 km by road: beyond the range
    station_at(*north(300), ready=9)
    recommendation = recommend(vehicle, limit=20)
    assert codes(recommendation) == [reachable.code]
    assert recommendation.considered == 1
    log = RecommendationLog.objects.get()
    assert [entry["station"] for entry in log.candidates] == [reachable.code]


def test_when_nothing_is_reachable_the_answer_says_so_and_names_the_nearest_station() -> None:
    vehicle = vehicle_carrying("40.000")  # 7.8 km of range
    nearest = station_at(*north(30))
    station_at(*north(80))
    recommendation = recommend(vehicle)
    assert not recommendation.reachable
    assert recommendation.results == []
    assert recommendation.nearest is not None
    assert recommendation.nearest.code == nearest.code
    assert recommendation.nearest.distance_km == pytest.approx(30, abs=0.2)
    assert nearest.code in recommendation.message
    assert "7.8" in recommendation.message
    assert not RecommendationLog.objects.exists()


def test_with_no_station_for_the_pack_at_all_no_nearest_is_named() -> None:
    recommendation = recommend(vehicle_carrying())
    assert not recommendation.reachable
    assert recommendation.nearest is None
    with translation.override("en"):
        assert recommend(vehicle_carrying()).message == "No station serves this vehicle's pack standard."


# --- Ranking on real data ------------------------------------------------------------------------
def test_more_ready_batteries_rank_first_with_everything_else_equal() -> None:
    fewer, more = station_at(*north(20), ready=1), station_at(*south(20), ready=3)
    assert codes(recommend(vehicle_carrying())) == [more.code, fewer.code]


def test_a_cheaper_station_ranks_first_with_everything_else_equal() -> None:
    dear, cheap = station_at(*north(20), price="1.2000"), station_at(*south(20), price="0.9000")
    recommendation = recommend(vehicle_carrying())
    assert codes(recommendation) == [cheap.code, dear.code]
    prices = [item.facts.price_fen for item in recommendation.results]
    assert prices == [5400, 7200]  # 60 kWh (260 handed out - 200 returned) x 0.90 / 1.20


@pytest.mark.parametrize(("heading", "first"), [(Decimal(0), "north"), (Decimal(180), "south")])
def test_with_a_heading_stations_ahead_come_first(heading: Decimal, first: str) -> None:
    # The station behind is even a little nearer.
    stations = {"north": station_at(*north(20)), "south": station_at(*south(18))}
    recommendation = recommend(vehicle_carrying(), heading=heading)
    assert codes(recommendation)[0] == stations[first].code
    assert recommendation.results[0].facts.ahead == pytest.approx(1.0, abs=0.01)
    assert recommendation.results[1].facts.ahead == pytest.approx(-1.0, abs=0.01)


def test_with_a_route_stations_ahead_come_first() -> None:
    behind, ahead = station_at(*north(18)), station_at(*south(20))
    recommendation = recommend(vehicle_carrying(), route=[BASE, south(60)])
    assert codes(recommendation) == [ahead.code, behind.code]


def test_a_station_without_a_compatible_battery_on_arrival_comes_last_and_is_marked() -> None:
    empty = station_at(*north(5), ready=0, charging=(Decimal("10.00"),))  # needs 55 min to charge
    stocked = station_at(*south(40))
    recommendation = recommend(vehicle_carrying())
    assert codes(recommendation) == [stocked.code, empty.code]
    last = recommendation.results[1]
    assert last.unavailable_reasons == ["no_battery_on_arrival"]
    assert last.facts.price_fen is None


def test_closed_and_offline_stations_come_last() -> None:
    local = timezone.localtime()
    # Opens in two hours: closed when the vehicle gets there in six minutes.
    closed = station_at(*north(5), opens_at=(local + timedelta(hours=2)).time(), closes_at=(local + timedelta(hours=3)).time())
    in_maintenance = station_at(*north(5.5), status=StationStatus.MAINTENANCE)
    offline = station_at(*north(6), online=False)
    open_one = station_at(*south(40))
    recommendation = recommend(vehicle_carrying())
    assert codes(recommendation)[0] == open_one.code
    reasons = {item.facts.code: item.unavailable_reasons for item in recommendation.results}
    assert reasons == {
        open_one.code: [],
        closed.code: ["closed_on_arrival"],
        in_maintenance.code: ["closed_on_arrival"],
        offline.code: ["offline"],
    }


# --- The facts behind a score --------------------------------------------------------------------------
def test_batteries_ready_now_and_by_arrival() -> None:
    # 24 km by road at 60 km/h: arrival in 24 min. At 240 kW, a battery at 85 % reaches 90 % in
    # 3.4 min; one at 10 % needs 55 min.
    station_at(*north(20), ready=2, charging=(Decimal("85.00"), Decimal("10.00")))
    facts = recommend(vehicle_carrying()).results[0].facts
    assert facts.eta_minutes == pytest.approx(24, abs=0.2)
    assert (facts.batteries_ready, facts.batteries_by_arrival) == (2, 1)


def test_the_price_estimate_is_the_billing_quote_for_this_vehicle() -> None:
    # Handed out: the fullest ready battery (270 kWh); returned: the 200 kWh on board; and the
    # usage fee of the returned battery at its owner's rate for the energy it delivered on this
    # trip: handed out with 247.455 kWh, 47.455 kWh x 0.30 = 14.2365 yuan.
    vehicle = vehicle_carrying("200.000")
    returned = vehicle.batteries.get()
    BatteryRate.objects.create(
        owner=returned.owner, fee_per_kwh=Decimal("0.30"), effective_from=timezone.now() - timedelta(days=1)
    )
    BatteryCustodyEvent.objects.create(
        battery=returned,
        kind=CustodyKind.DELIVERED,
        at=timezone.now() - timedelta(hours=3),
        vehicle=vehicle,
        vehicle_position=1,
        energy_kwh=Decimal("247.455"),
    )
    station = station_at(*north(20), ready=2, price="1.0000")
    station_at(*south(80), ready=0)  # no battery: no estimate
    fullest = station.batteries.order_by("pk").first()
    station.batteries.filter(pk=fullest.pk).update(energy_kwh=Decimal("270.000"))
    results = {item.facts.code: item.facts for item in recommend(vehicle).results}
    assert results[station.code].price_fen == 7000 + 1424
    assert_is_the_swap_quote(station, fullest, returned, results[station.code].price_fen)


def test_the_price_estimate_splits_energy_by_the_charging_since_the_battery_came_back() -> None:
    # Valley 0.30, every other period 1.00. The battery came back at 03:00 local yesterday; it
    # charged 03:30-04:30, in the valley all year. An earlier charge (before it came back) does
    # not count.
    vehicle = vehicle_carrying("200.000")
    station = station_at(*north(20), ready=1, price="1.0000")
    StationTariff.objects.filter(station=station).update(price_valley=Decimal("0.3000"), price_deep_valley=Decimal("0.3000"))
    battery = station.batteries.get()
    came_back = (timezone.localtime() - timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    BatteryCustodyEvent.objects.create(
        battery=battery, kind=CustodyKind.RETURNED, at=came_back, station=station, station_slot=1, energy_kwh=Decimal("50")
    )
    ChargingInterval.objects.create(
        battery=battery,
        station=station,
        started_at=came_back - timedelta(hours=10),
        ended_at=came_back - timedelta(hours=9),
        kwh=Decimal("100"),
    )
    ChargingInterval.objects.create(
        battery=battery,
        station=station,
        started_at=came_back + timedelta(minutes=30),
        ended_at=came_back + timedelta(minutes=90),
        kwh=Decimal("210"),
    )
    price = recommend(vehicle).results[0].facts.price_fen
    assert price == 1800  # 60 kWh, all charged in the valley, at 0.30
    assert_is_the_swap_quote(station, battery, vehicle.batteries.get(), price)


def assert_is_the_swap_quote(station, delivered, returned, price_fen: int) -> None:
    """The very quote the swap itself would make, on arrival."""
    if not Organisation.objects.filter(kind=OrganisationKind.PLATFORM).exists():
        OrganisationFactory(kind=OrganisationKind.PLATFORM)
    delivered.refresh_from_db()
    quote = swap_price(
        station=station,
        at=timezone.now() + timedelta(minutes=24),
        delivered=delivered,
        delivered_kwh=delivered.energy_kwh,
        returned=returned,
        returned_kwh=returned.energy_kwh,
    )
    assert quote.total_fen == price_fen


@pytest.mark.parametrize(
    "rates",
    [
        [],
        [("owner", "")],
        [("owner", ""), ("owner", "A")],
        [("owner", ""), ("owner", "A"), ("battery", "")],
        [("owner", ""), ("owner", "A"), ("battery", ""), ("battery", "A")],
        [("owner", "B"), ("battery", "C")],  # rates for other grades only
    ],
)
def test_the_one_query_usage_rate_agrees_with_billing(rates) -> None:
    vehicle = vehicle_carrying()
    battery = vehicle.batteries.get()  # health 97.5 %: grade A
    other = vehicle_carrying().batteries.get()
    now = timezone.now()
    for number, (scope, grade) in enumerate(rates, start=1):
        for age, fee in ((timedelta(days=2), "0.1000"), (timedelta(days=1), f"0.{number}500")):
            BatteryRate.objects.create(
                owner=battery.owner,
                battery=battery if scope == "battery" else None,
                health_grade=grade,
                fee_per_kwh=Decimal(fee),
                effective_from=now - age - timedelta(seconds=number),
            )
    BatteryRate.objects.create(
        owner=battery.owner, battery=None, health_grade="", fee_per_kwh=Decimal("9"), effective_from=now + timedelta(days=1)
    )
    BatteryRate.objects.create(owner=other.owner, fee_per_kwh=Decimal("8"), effective_from=now - timedelta(days=3))
    assert selectors.usage_rate_in_force(battery=battery, at=now) == battery_rate_in_force(battery=battery, at=now)


def test_the_wait_counts_vehicles_recommended_there_and_heading_in() -> None:
    station = station_at(*north(2))  # 2.4 km by road: arrival in 2.4 min
    others = [vehicle_carrying() for _ in range(4)]
    for vehicle in others:
        recommend(vehicle)
    # One of them has since ordered a swap there (an outcome), one asked again and was sent
    # elsewhere, one asked too long ago: one is still heading in.
    services.recommendation_outcome_record(vehicle=others[0], station=station, at=timezone.now())
    elsewhere = station_at(*south(1))
    recommend(others[1])
    RecommendationLog.objects.filter(vehicle=others[1]).update(top_station=elsewhere)
    RecommendationLog.objects.filter(vehicle=others[2]).update(created_at=timezone.now() - timedelta(minutes=31))
    me = vehicle_carrying()
    facts = {item.facts.code: item.facts for item in recommend(me).results}[station.code]
    assert facts.queue == 1
    assert facts.wait_minutes == pytest.approx(5 - 2.4, abs=0.1)  # 1 x 5 min mean swap, 1 bay, less the drive
    # My own recommendations never queue in front of me.
    again = {item.facts.code: item.facts for item in recommend(me).results}[station.code]
    assert again.queue == 1


def test_an_active_swap_order_queues_once_and_holds_its_battery() -> None:
    station = station_at(*north(2), ready=2)  # arrival in 2.4 min
    other = vehicle_carrying()
    recommend(other)  # it was sent here, then scanned the bay: queued, holding a battery
    held = station.batteries.order_by("pk").first()
    SwapOrder.objects.create(
        state=OrderState.QUEUED,
        driver=other.assignments.get().driver,
        carrier=other.carrier,
        vehicle=other,
        station=station,
        bay=station.bays.get(),
        qr_kind=QrKind.PRINTED,
        reserved_battery=held,
        battery_held=True,
        quote_delivered_kwh=Decimal("260.000"),
        quote_returned_kwh=Decimal("200.000"),
        quote_total_fen=6000,
    )
    facts = recommend(vehicle_carrying()).results[0].facts
    assert facts.queue == 1  # the order, not its vehicle's recommendation as well
    assert facts.batteries_ready == 1
    assert facts.wait_minutes == pytest.approx(5 - 2.4, abs=0.1)


def test_without_the_swaps_app_queues_are_empty_and_nothing_is_reserved(monkeypatch) -> None:
    monkeypatch.setattr(selectors.django_apps, "is_installed", lambda name: False)
    station_at(*north(2), ready=1)
    facts = recommend(vehicle_carrying()).results[0].facts
    assert (facts.queue, facts.batteries_ready) == (0, 1)


# --- The log and the outcome -------------------------------------------------------------------------------
def test_each_answer_is_logged_with_its_ranked_candidates_and_features() -> None:
    first, second = station_at(*north(10), ready=3), station_at(*south(30), ready=1)
    vehicle = vehicle_carrying()
    recommendation = recommend(vehicle, limit=1)
    assert len(recommendation.results) == 1
    log = RecommendationLog.objects.get(pk=recommendation.log_id)
    assert log.vehicle == vehicle
    assert log.driver_id == vehicle.assignments.get().driver_id
    assert (log.latitude, log.longitude) == (LAT, LON)
    assert log.top_station == first
    assert log.shown == 1
    assert log.scoring == Scoring.WEIGHTED
    assert log.model_version == ""
    assert log.remaining_kwh == Decimal("200.000")
    assert log.range_km == Decimal("114.5")
    assert [entry["station"] for entry in log.candidates] == [first.code, second.code]
    assert set(log.candidates[0]["features"]) == {"ready", "arriving", "distance", "detour", "price", "wait"}
    assert log.candidates[0]["features"]["ready"] == pytest.approx(0.6)  # 3 / (3 + 2)


def test_the_outcome_labels_the_latest_recommendation_with_the_stations_rank() -> None:
    first, second = station_at(*north(10), ready=3), station_at(*south(30), ready=1)
    vehicle = vehicle_carrying()
    older = recommend(vehicle)
    latest = recommend(vehicle)
    at = timezone.now() + timedelta(minutes=20)
    log = services.recommendation_outcome_record(vehicle=vehicle, station=second, at=at)
    assert log is not None
    assert log.pk == latest.log_id
    assert (log.chosen_station, log.chosen_at, log.chosen_rank) == (second, at, 2)
    assert RecommendationLog.objects.get(pk=older.log_id).chosen_station is None
    # A second call (a retried order) changes nothing.
    assert services.recommendation_outcome_record(vehicle=vehicle, station=first, at=at) is None
    assert RecommendationLog.objects.get(pk=latest.log_id).chosen_station == second


def test_a_swap_at_a_station_not_recommended_is_recorded_without_a_rank() -> None:
    station_at(*north(10))
    elsewhere = station_at(*north(300))
    vehicle = vehicle_carrying()
    recommend(vehicle)
    log = services.recommendation_outcome_record(vehicle=vehicle, station=elsewhere, at=timezone.now())
    assert log is not None
    assert (log.chosen_station, log.chosen_rank) == (elsewhere, None)


def test_an_order_long_after_the_recommendation_is_not_its_outcome() -> None:
    station = station_at(*north(10))
    vehicle = vehicle_carrying()
    recommend(vehicle)
    later = timezone.now() + timedelta(hours=7)
    assert services.recommendation_outcome_record(vehicle=vehicle, station=station, at=later) is None
    assert not RecommendationLog.objects.filter(chosen_station__isnull=False).exists()


def test_another_vehicles_order_labels_nothing_of_mine() -> None:
    station = station_at(*north(10))
    mine = vehicle_carrying()
    recommend(mine)
    assert services.recommendation_outcome_record(vehicle=vehicle_carrying(), station=station, at=timezone.now()) is None
    assert RecommendationLog.objects.get().chosen_station is None


def test_battery_owner_helper_is_an_owner() -> None:
    assert owner().kind == "battery_owner"


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_log_commits_without_waiting_for_the_disk_on_postgresql() -> None:
    station_at(*north(10))
    vehicle = vehicle_carrying()
    with CaptureQueriesContext(connection) as captured:
        recommendation = recommend(vehicle)
    assert RecommendationLog.objects.filter(pk=recommendation.log_id).exists()
    asynchronous = [query["sql"] for query in captured.captured_queries if "synchronous_commit" in query["sql"]]
    assert asynchronous == (["SET LOCAL synchronous_commit TO OFF"] if connection.vendor == "postgresql" else [])
