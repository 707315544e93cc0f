"""The live streams' reads: who is connecting, which groups they may join, and the state that
their snapshot and the published events carry. Every query of ``apps.live`` is here.

Functions that take an ``actor`` serve a connection and ask ``apps.access.live``; the others
read plain facts for the publisher (which sends each fact only to the groups access names).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone

from apps.access import Actor
from apps.access import live as live_access
from apps.accounts.models import User
from apps.assets.models import Battery, BatteryLocation, Station
from apps.common.compiled import CompiledRead, model_instance
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
    battery_owner_ids: frozenset[int]  # of the battery it holds and the one it expects back


@dataclass(frozen=True)
class Line:
    """A station's queue as its waiting drivers see it: the orders queued, called or swapping,
    in queue order, and the mean swap time (positions and waits follow from them)."""

    station_id: int
    station_code: str
    order_ids: list[int]
    mean_swap_s: int


@dataclass(frozen=True)
class StationQueue:
    """A station's queue (``swap_selectors.station_queue_orders``) read once, for everything an
    order's event publishes about it: the waiting drivers' line, the staff's queue, a position."""

    station_id: int
    station_code: str
    mean_swap_minutes: Decimal
    rows: list[tuple[int, str, datetime | None, str, int]]  # pk, state, queued_at, plate, bay number

    def line(self) -> Line:
        return Line(
            station_id=self.station_id,
            station_code=self.station_code,
            order_ids=[pk for pk, state, *_ in self.rows if state in LINE_STATES],
            mean_swap_s=int(self.mean_swap_minutes * 60),
        )

    def position(self, *, order_id: int, state: str, queued_at: datetime | None) -> swap_selectors.QueuePosition | None:
        """As ``swap_selectors.queue_position``: the orders queued, called or swapping before it."""
        if state not in QUEUE_STATES or queued_at is None:
            return None
        ahead = sum(
            1
            for pk, other_state, other_queued_at, *_ in self.rows
            if other_state in LINE_STATES and other_queued_at is not None and (other_queued_at, pk) < (queued_at, order_id)
        )
        minutes = (self.mean_swap_minutes * ahead).quantize(Decimal("0.1"))
        return swap_selectors.QueuePosition(position=ahead + 1, ahead=ahead, expected_wait_minutes=minutes)

    def json(self) -> dict[str, Any]:
        """What the station's staff see (``GET /stations/{code}/queue``, in short)."""
        waiting = [pk for pk, state, *_ in self.rows if state in QUEUE_STATES]
        positions = {pk: index for index, pk in enumerate(waiting, start=1)}
        return {
            "station": self.station_code,
            "waiting": len(waiting),
            "orders": [
                {
                    "order": pk,
                    "state": state,
                    "position": positions.get(pk),
                    "plate": plate,
                    "bay": bay,
                    "queued_at": iso(queued_at),
                }
                for pk, state, queued_at, plate, bay in self.rows
            ],
        }


# Compiled once per process (``apps.common.compiled``): every order transition publishes from them.
_ORDER_COLUMNS = (
    "pk",
    "state",
    "driver_id",
    "carrier_id",
    "station_id",
    "station__code",
    "station__operator_id",
    "station__mean_swap_minutes",
    "quote_total_fen",
    "bill_total_fen",
    "abnormal_reason",
    "queued_at",
    "reserved_battery__owner_id",
    "expected_return_battery__owner_id",
)
_order_row = CompiledRead(lambda order_id: SwapOrder.objects.filter(pk=order_id).values_list(*_ORDER_COLUMNS))
_queue_rows = CompiledRead(
    lambda station_id: swap_selectors.station_queue_orders(station_id=station_id).values_list(
        "pk", "state", "queued_at", "vehicle__plate", "bay__number"
    )
)


def station_queue_read(*, station_id: int, station_code: str, mean_swap_minutes: Decimal) -> StationQueue:
    return StationQueue(station_id, station_code, mean_swap_minutes, _queue_rows(station_id=station_id))


@dataclass(frozen=True)
class OrderEvent:
    """What an order's transition publishes, read in two queries: the order, its station's queue."""

    facts: OrderFacts
    queue: StationQueue
    station: Station  # only pk, code and operator_id loaded


def order_event_read(*, order_id: int) -> OrderEvent | None:
    rows = _order_row(order_id=order_id)
    if not rows:
        return None
    (pk, state, driver_id, carrier_id, station_id, code, operator_id, mean_swap_minutes, quote_fen, bill_fen, reason,
     queued_at, reserved_owner, returned_owner) = rows[0]  # fmt: skip
    queue = station_queue_read(station_id=station_id, station_code=code, mean_swap_minutes=mean_swap_minutes)
    position = queue.position(order_id=pk, state=state, queued_at=queued_at)
    facts = OrderFacts(
        order_id=pk,
        state=state,
        driver_id=driver_id,
        carrier_id=carrier_id,
        station_id=station_id,
        station_code=code,
        operator_id=operator_id,
        quote_fen=quote_fen,
        bill_fen=bill_fen,
        abnormal_reason=reason,
        position=None if position is None else position.position,
        expected_wait_s=None if position is None else int(position.expected_wait_minutes * 60),
        battery_owner_ids=frozenset(owner for owner in (reserved_owner, returned_owner) if owner is not None),
    )
    station = model_instance(Station, ["pk", "code", "operator_id"], [station_id, code, operator_id])
    return OrderEvent(facts=facts, queue=queue, station=station)


def order_facts(*, order_id: int) -> OrderFacts | None:
    event = order_event_read(order_id=order_id)
    return None if event is None else event.facts


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


def station_queue_json(*, station: Station) -> dict[str, Any]:
    """What the station's staff see (``GET /stations/{code}/queue``, in short)."""
    return station_queue_read(
        station_id=station.pk, station_code=station.code, mean_swap_minutes=station.mean_swap_minutes
    ).json()


# --- Stations: status and stock ---------------------------------------------------------
def station_status_json(station: Station, *, now: datetime | None = None) -> dict[str, Any]:
    return {
        "station": station.code,
        "status": station.status,
        "online": station.is_online(now=now),
        "last_heartbeat_at": iso(station.last_heartbeat_at),
    }


@dataclass(frozen=True)
class Stock:
    """Batteries in slots and ready to hand out, counted per station, owner and pack standard."""

    counts: dict[tuple[int, int, str], list[int]]  # (station, owner, pack standard code) -> [in slots, ready]

    def _lines(self, keep: Any) -> list[dict[str, Any]]:
        by_code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (station_id, owner_id, code), (in_slots, ready) in self.counts.items():
            if keep(station_id, owner_id):
                by_code[code][0] += in_slots
                by_code[code][1] += ready
        return [{"pack_standard": code, "in_slots": n, "ready": ready} for code, (n, ready) in sorted(by_code.items())]

    def of_station(self, station_id: int) -> list[dict[str, Any]]:
        return self._lines(lambda station, _owner: station == station_id)

    def of_owner(self, station_id: int, owner_id: int) -> list[dict[str, Any]]:
        return self._lines(lambda station, owner: station == station_id and owner == owner_id)

    def owners(self, station_id: int) -> set[int]:
        """The owners with batteries in the station's slots."""
        return {owner for station, owner, _code in self.counts if station == station_id}


def stock_read(station_ids: list[int], *, owner_ids: set[int] | None = None) -> Stock:
    """The stock at these stations (of these owners only, when given): two grouped queries."""
    in_slots = Battery.objects.filter(location=BatteryLocation.STATION, station_id__in=station_ids)
    ready = swap_selectors.ready_battery_queryset().filter(station_id__in=station_ids)
    if owner_ids is not None:
        in_slots, ready = in_slots.filter(owner_id__in=owner_ids), ready.filter(owner_id__in=owner_ids)
    counts: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for index, queryset in enumerate((in_slots, ready)):
        grouped = queryset.order_by().values("station_id", "owner_id", "pack_standard__code").annotate(n=Count("pk"))
        for row in grouped:
            counts[(row["station_id"], row["owner_id"], row["pack_standard__code"])][index] = row["n"]
    return Stock(dict(counts))


def station_inventory_json(*, station: Station, stock: Stock | None = None) -> dict[str, Any]:
    stock = stock_read([station.pk]) if stock is None else stock
    return {"station": station.code, "stock": stock.of_station(station.pk)}


def owner_inventory_json(*, station: Station, owner_ids: set[int], stock: Stock) -> dict[int, dict[str, Any]]:
    """Each owner's own batteries at the station (an empty stock for an owner with none left)."""
    return {owner: {"station": station.code, "stock": stock.of_owner(station.pk, owner)} for owner in owner_ids}


def station_get(*, station_id: int) -> Station:
    return Station.objects.get(pk=station_id)


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
    stock = stock_read([station.pk for station in stations])
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
        owner_stock = stock_read(at, owner_ids=owners)
        pairs = {(station_id, owner) for station_id, owner, _code in owner_stock.counts}
        owned = [
            {"owner": owner, "station": codes[station_id], "stock": owner_stock.of_owner(station_id, owner)}
            for station_id, owner in sorted(pairs, key=lambda pair: (pair[1], codes[pair[0]]))
        ]
    return {
        "stations": [{**station_status_json(station, now=now), "stock": stock.of_station(station.pk)} for station in stations],
        "alerts": [
            {"kind": "order_abnormal", "order": order.pk, "station": order.station.code, "reason": order.abnormal_reason}
            for order in alerts
        ],
        "owner_stock": owned,
    }
