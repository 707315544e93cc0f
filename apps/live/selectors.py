"""The live streams' reads: who is connecting, which groups they may join, and the state that
their snapshot and the published events carry. Every query of ``apps.live`` is here.

Functions that take an ``actor`` serve a connection and ask ``apps.access.live``; the others
read plain facts for the publisher (which sends each fact only to the groups access names).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from apps.access import Actor
from apps.access import live as live_access
from apps.accounts.models import User
from apps.assets.models import Battery, BatteryLocation, PackStandard, Station
from apps.common.money import money_json
from apps.ledger.selectors import wallet_balances
from apps.swaps import selectors as swap_selectors
from apps.swaps.models import ACTIVE_STATES, QUEUE_STATES, OrderState, SwapOrder

# Orders a driver's phone shows: those still moving (abnormal ones wait for staff).
OPEN_STATES = (*ACTIVE_STATES, OrderState.ABNORMAL)
# Orders that stand in a station's queue for their drivers' positions (``queue_position``).
LINE_STATES = (*QUEUE_STATES, OrderState.SWAPPING)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def actor_of(user: User | Any) -> Actor:
    return Actor.of(user)


# --- Orders -----------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderFacts:
    order_id: int
    state: str
    driver_id: int
    carrier_id: int
    station_id: int
    station_code: str
    operator_id: int
    quote_fen: int
    bill_fen: int | None
    abnormal_reason: str
    position: int | None
    expected_wait_s: int | None


def order_facts(*, order_id: int) -> OrderFacts | None:
    order = SwapOrder.objects.select_related("station").filter(pk=order_id).first()
    if order is None:
        return None
    queue = swap_selectors.queue_position(order=order)
    return OrderFacts(
        order_id=order.pk,
        state=order.state,
        driver_id=order.driver_id,
        carrier_id=order.carrier_id,
        station_id=order.station_id,
        station_code=order.station.code,
        operator_id=order.station.operator_id,
        quote_fen=order.quote_total_fen,
        bill_fen=order.bill_total_fen,
        abnormal_reason=order.abnormal_reason,
        position=None if queue is None else queue.position,
        expected_wait_s=None if queue is None else int(queue.expected_wait_minutes * 60),
    )


def order_json(facts: OrderFacts) -> dict[str, Any]:
    return {
        "order": facts.order_id,
        "state": facts.state,
        "station": facts.station_code,
        "position": facts.position,
        "expected_wait_s": facts.expected_wait_s,
        "quote": {"total": money_json(facts.quote_fen)},
        "bill": None if facts.bill_fen is None else {"total": money_json(facts.bill_fen)},
    }


def order_station_id(*, order_id: int) -> int | None:
    return SwapOrder.objects.filter(pk=order_id).values_list("station_id", flat=True).first()


@dataclass(frozen=True)
class Line:
    """A station's queue as its waiting drivers see it: the orders queued, called or swapping,
    in queue order, and the mean swap time (positions and waits follow from them)."""

    station_id: int
    station_code: str
    order_ids: list[int]
    mean_swap_s: int


def station_line(*, station_id: int) -> Line:
    station = Station.objects.only("code", "mean_swap_minutes").get(pk=station_id)
    ids = list(
        SwapOrder.objects.filter(station_id=station_id, state__in=LINE_STATES)
        .order_by("queued_at", "pk")
        .values_list("pk", flat=True)
    )
    return Line(station_id=station_id, station_code=station.code, order_ids=ids, mean_swap_s=int(station.mean_swap_minutes * 60))


def station_queue_json(*, station: Station) -> dict[str, Any]:
    """What the station's staff see (``GET /stations/{code}/queue``, in short)."""
    orders = swap_selectors.station_queue(station=station)
    waiting = [order for order in orders if order.state in QUEUE_STATES]
    positions = {order.pk: index for index, order in enumerate(waiting, start=1)}
    return {
        "station": station.code,
        "waiting": len(waiting),
        "orders": [
            {
                "order": order.pk,
                "state": order.state,
                "position": positions.get(order.pk),
                "plate": order.vehicle.plate,
                "bay": order.bay.number,
                "queued_at": iso(order.queued_at),
            }
            for order in orders
        ],
    }


# --- Stations: status and stock ---------------------------------------------------------
def station_status_json(station: Station, *, now: datetime | None = None) -> dict[str, Any]:
    return {
        "station": station.code,
        "status": station.status,
        "online": station.is_online(now=now),
        "last_heartbeat_at": iso(station.last_heartbeat_at),
    }


def _stock(station_ids: list[int], *, owner_ids: set[int] | None = None) -> dict[tuple[int, int | None], list[dict[str, Any]]]:
    """In-slot and ready batteries by (station, owner or None for all) and pack standard."""
    in_slots = Battery.objects.filter(location=BatteryLocation.STATION, station_id__in=station_ids)
    ready = swap_selectors.ready_battery_queryset().filter(station_id__in=station_ids)
    fields = ["station_id", "pack_standard_id"] + (["owner_id"] if owner_ids is not None else [])
    if owner_ids is not None:
        in_slots, ready = in_slots.filter(owner_id__in=owner_ids), ready.filter(owner_id__in=owner_ids)
    counts: dict[tuple[int, int | None, int], list[int]] = defaultdict(lambda: [0, 0])
    for index, queryset in enumerate((in_slots, ready)):
        for row in queryset.order_by().values(*fields).annotate(n=Count("pk")):
            counts[(row["station_id"], row.get("owner_id"), row["pack_standard_id"])][index] = row["n"]
    codes = dict(PackStandard.objects.filter(pk__in={key[2] for key in counts}).values_list("pk", "code"))
    result: dict[tuple[int, int | None], list[dict[str, Any]]] = defaultdict(list)
    for (station_id, owner_id, standard_id), (total, ready_n) in sorted(counts.items(), key=lambda item: codes[item[0][2]]):
        result[(station_id, owner_id)].append({"pack_standard": codes[standard_id], "in_slots": total, "ready": ready_n})
    return result


def station_inventory_json(*, station: Station) -> dict[str, Any]:
    return {"station": station.code, "stock": _stock([station.pk]).get((station.pk, None), [])}


def owner_inventory_json(*, station: Station, owner_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each owner's own batteries at the station (an empty stock for an owner with none left)."""
    stock = _stock([station.pk], owner_ids=owner_ids)
    return {owner: {"station": station.code, "stock": stock.get((station.pk, owner), [])} for owner in owner_ids}


def station_get(*, station_id: int) -> Station:
    return Station.objects.get(pk=station_id)


def owners_at_station(*, station_id: int) -> set[int]:
    return set(
        Battery.objects.filter(location=BatteryLocation.STATION, station_id=station_id)
        .order_by()
        .values_list("owner_id", flat=True)
        .distinct()
    )


def order_battery_owners(*, order_id: int) -> set[int]:
    order = SwapOrder.objects.select_related("reserved_battery", "expected_return_battery").get(pk=order_id)
    batteries = (order.reserved_battery, order.expected_return_battery)
    return {battery.owner_id for battery in batteries if battery is not None}


def alert_json(facts: OrderFacts) -> dict[str, Any]:
    return {"kind": "order_abnormal", "order": facts.order_id, "station": facts.station_code, "reason": facts.abnormal_reason}


# --- Wallets ----------------------------------------------------------------------------
def wallet_json(*, organisation_id: int) -> dict[str, Any]:
    """As ``GET /wallet`` shows it."""
    balances = wallet_balances(organisation_id=organisation_id)
    return {
        "organisation": organisation_id,
        "balance": money_json(balances.balance_fen),
        "held": money_json(balances.held_fen),
        "available": money_json(balances.available_fen),
    }


def wallet_watchers(*, organisation_id: int) -> list[int]:
    return live_access.wallet_watchers(organisation_id=organisation_id)


# --- Connections: what each may join, and its snapshot ----------------------------------
def driver_following(*, actor: Actor) -> dict[int, set[int]]:
    """The stations whose queue the actor's phone follows (their open orders there), with the order ids."""
    if not live_access.may_follow_driver_stream(actor):
        return {}
    following: dict[int, set[int]] = defaultdict(set)
    for order_id, station_id in SwapOrder.objects.filter(driver_id=actor.user_id, state__in=OPEN_STATES).values_list(
        "pk", "station_id"
    ):
        following[station_id].add(order_id)
    return dict(following)


def driver_snapshot(*, actor: Actor) -> dict[str, Any]:
    """The driver's open orders (and their latest order, finished or not) and the wallets they may read."""
    orders = SwapOrder.objects.filter(driver_id=actor.user_id)
    ids = set(orders.filter(state__in=OPEN_STATES).values_list("pk", flat=True))
    latest = orders.order_by("-pk").values_list("pk", flat=True).first()
    if latest is not None:
        ids.add(latest)
    facts = [order_facts(order_id=pk) for pk in sorted(ids)]
    wallets = [
        wallet_json(organisation_id=pk) for pk in live_access.driver_wallet_organisations(actor).values_list("pk", flat=True)
    ]
    return {"orders": [order_json(f) for f in facts if f is not None], "wallets": wallets}


def station_for_stream(*, actor: Actor, code: str) -> Station | None:
    """The station whose stream the actor may follow; None (refused) for a missing one and for one
    they may not see, alike."""
    station = Station.objects.filter(code=code.strip().upper()).first()
    if station is None or not live_access.may_follow_station(actor, station):
        return None
    return station


def station_snapshot(*, station: Station) -> dict[str, Any]:
    station.refresh_from_db()
    return {
        "status": station_status_json(station),
        "queue": station_queue_json(station=station),
        "inventory": station_inventory_json(station=station),
    }


def ops_scopes(*, actor: Actor) -> list[str]:
    return live_access.ops_scopes(actor)


def ops_snapshot(*, scopes: list[str]) -> dict[str, Any]:
    """Per scope: the operator's (or every) station's status, stock and open alerts; an owner's
    own batteries' stock per station."""
    operators = {int(scope.split(":")[1]) for scope in scopes if scope.startswith("operator:")}
    owners = {int(scope.split(":")[1]) for scope in scopes if scope.startswith("owner:")}
    everything = live_access.OPS_ALL in scopes
    stations = list(Station.objects.all() if everything else Station.objects.filter(operator_id__in=operators))
    stations.sort(key=lambda station: station.code)
    stock = _stock([station.pk for station in stations])
    now = timezone.now()
    alerts = SwapOrder.objects.filter(state=OrderState.ABNORMAL, station__in=stations).select_related("station").order_by("pk")
    owned: list[dict[str, Any]] = []
    if owners:
        at = sorted(
            set(
                Battery.objects.filter(location=BatteryLocation.STATION, owner_id__in=owners)
                .order_by()
                .values_list("station_id", flat=True)
                .distinct()
            )
        )
        codes = dict(Station.objects.filter(pk__in=at).values_list("pk", "code"))
        owner_stock = _stock(at, owner_ids=owners)
        owned = [
            {"owner": owner, "station": codes[station_id], "stock": rows}
            for (station_id, owner), rows in sorted(owner_stock.items(), key=lambda item: (item[0][1] or 0, codes[item[0][0]]))
        ]
    return {
        "stations": [
            {**station_status_json(station, now=now), "stock": stock.get((station.pk, None), [])} for station in stations
        ],
        "alerts": [
            {"kind": "order_abnormal", "order": order.pk, "station": order.station.code, "reason": order.abnormal_reason}
            for order in alerts
        ],
        "owner_stock": owned,
    }
