"""Publishing live events: called after a commit, never inside a transaction, and never fails.

``apps.swaps.events`` announces every committed order transition (``order_state_changed``,
subscribed in ``LiveConfig.ready``); top-ups call ``wallet_changed`` and controller heartbeats
``station_changed``, each through ``transaction.on_commit``, so a transaction that rolls back
sends nothing. What each event carries is read from the database after the commit.

Messages are hints (RELIABILITY.md): if the channel layer (or the cache that numbers the
messages) is down, the publish is logged and dropped and the request that made the change goes
on; phones and screens see the truth in their next snapshot or HTTP read. Each publish is one
round of sends with a time limit, so a hanging layer cannot hold a request for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.access import live as live_access
from apps.assets.models import Station
from apps.common.money import money_json
from apps.live import selectors, streams
from apps.swaps.models import OrderState

logger = logging.getLogger(__name__)

# Seconds one publish may take in all before it is given up (the layer is down or hangs).
PUBLISH_TIMEOUT_S = 2.0
# Transitions that move money on the payer's wallet: the hold placed, captured, released.
MONEY_STATES = (OrderState.QUEUED, OrderState.COMPLETED, OrderState.CANCELLED)
# Transitions that change what a station has to hand out.
STOCK_STATES = (OrderState.QUEUED, OrderState.COMPLETED, OrderState.CANCELLED)


@dataclass
class Outgoing:
    """One message of a stream, for one or more groups; ``line`` marks a queue line (projected by
    each waiting driver's consumer into their own ``queue.position``)."""

    stream: str
    type: str
    data: dict[str, Any]
    groups: list[str]
    extra: dict[str, Any] | None = None
    line: bool = False


def _envelopes(outgoing: list[Outgoing]) -> list[tuple[str, dict[str, Any]]]:
    by_stream: dict[str, list[Outgoing]] = defaultdict(list)
    for item in outgoing:
        by_stream[item.stream].append(item)
    last = {stream: streams.seq_take(stream, len(items)) for stream, items in by_stream.items()}
    next_seq = {stream: last[stream] - len(items) + 1 for stream, items in by_stream.items()}
    at = selectors.iso(timezone.now())
    sends: list[tuple[str, dict[str, Any]]] = []
    for item in outgoing:
        seq = next_seq[item.stream]
        next_seq[item.stream] += 1
        if item.line:
            event: dict[str, Any] = {"type": "live.line", "stream": item.stream, "seq": seq, "at": at, **item.data}
        else:
            message = {"type": item.type, "stream": item.stream, "seq": seq, "at": at, "data": item.data}
            event = {"type": "live.message", "message": message, **(item.extra or {})}
        sends.extend((group, event) for group in item.groups)
    return sends


async def _send_all(sends: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def run() -> None:
        for group, event in sends:
            await layer.group_send(group, event)

    await asyncio.wait_for(run(), timeout=PUBLISH_TIMEOUT_S)


def send(outgoing: list[Outgoing]) -> bool:
    """Number and send the messages; False (logged) if the cache or the channel layer failed."""
    if not outgoing:
        return True
    try:
        async_to_sync(_send_all)(_envelopes(outgoing))
    except Exception:
        logger.warning("live publish of %d message(s) failed; clients will catch up on reconnect", len(outgoing), exc_info=True)
        return False
    return True


def _guarded(what: str, build: Any, *args: Any) -> None:
    try:
        outgoing = build(*args)
    except Exception:
        logger.exception("live publish: reading %s failed", what)
        return
    send(outgoing)


# --- What each change publishes ---------------------------------------------------------
def _wallet_messages(organisation_id: int) -> list[Outgoing]:
    watchers = selectors.wallet_watchers(organisation_id=organisation_id)
    if not watchers:
        return []
    data = selectors.wallet_json(organisation_id=organisation_id)
    return [Outgoing(streams.DRIVER, "wallet.balance", data, [streams.driver_group(user_id)]) for user_id in watchers]


def _stock_messages(station: Station, *, also_owners: frozenset[int] = frozenset()) -> list[Outgoing]:
    """The station's stock for its staff and the ops stream, and each owner's own there (also
    ``also_owners``, whose batteries the change moved: an owner with none left sees it empty)."""
    stock = selectors.stock_read([station.pk])
    inventory = selectors.station_inventory_json(station=station, stock=stock)
    ops_groups = [streams.ops_group(scope) for scope in live_access.ops_scopes_of_station(station)]
    messages = [
        Outgoing(streams.station_stream(station.code), "inventory", inventory, [streams.station_group(station.pk)]),
        Outgoing(streams.OPS, "inventory", inventory, ops_groups),
    ]
    owners = stock.owners(station.pk) | also_owners
    for owner, data in sorted(selectors.owner_inventory_json(station=station, owner_ids=owners, stock=stock).items()):
        messages.append(Outgoing(streams.OPS, "inventory", data, [streams.ops_group(live_access.ops_scope_of_owner(owner))]))
    return messages


def line_message(line: selectors.Line) -> Outgoing:
    """The station's queue for the phones of the drivers waiting in it (``queue.position`` each)."""
    data = {
        "station": line.station_code,
        "station_id": line.station_id,
        "order_ids": line.order_ids,
        "mean_swap_s": line.mean_swap_s,
    }
    return Outgoing(streams.DRIVER, "queue.line", data, [streams.queue_group(line.station_id)], line=True)


def _order_messages(event: selectors.OrderEvent, state: str) -> list[Outgoing]:
    facts, station = event.facts, event.station
    messages: list[Outgoing] = []
    driver = [streams.driver_group(facts.driver_id)]
    follow = {"station_id": facts.station_id, "order_id": facts.order_id, "order_state": facts.state}
    state_data = {"order": facts.order_id, "state": facts.state, "station": facts.station_code}
    messages.append(Outgoing(streams.DRIVER, "order.state", state_data, driver, extra=follow))
    if facts.position is not None:
        position = {
            "order": facts.order_id,
            "station": facts.station_code,
            "position": facts.position,
            "expected_wait_s": facts.expected_wait_s,
        }
        messages.append(Outgoing(streams.DRIVER, "queue.position", position, driver))
    if state == OrderState.QUEUED:
        messages.append(
            Outgoing(streams.DRIVER, "bill.quoted", {"order": facts.order_id, "total": _money(facts.quote_fen)}, driver)
        )
    if state == OrderState.COMPLETED and facts.bill_fen is not None:
        messages.append(
            Outgoing(streams.DRIVER, "bill.final", {"order": facts.order_id, "total": _money(facts.bill_fen)}, driver)
        )
    if state in MONEY_STATES:
        messages.extend(_wallet_messages(facts.carrier_id))

    station_stream, station_groups = streams.station_stream(station.code), [streams.station_group(station.pk)]
    messages.append(Outgoing(station_stream, "order.state", state_data, station_groups))
    if state != OrderState.SETTLED:
        messages.append(Outgoing(station_stream, "queue.changed", event.queue.json(), station_groups))
    if state == OrderState.ABNORMAL:
        ops_groups = [streams.ops_group(scope) for scope in live_access.ops_scopes_of_station(station)]
        messages.append(Outgoing(streams.OPS, "alert", selectors.alert_json(facts), ops_groups))
    if state in STOCK_STATES:
        messages.extend(_stock_messages(station, also_owners=facts.battery_owner_ids))
    return messages


def _money(amount_fen: int) -> dict[str, Any]:
    return dict(money_json(amount_fen))


def _station_messages(station_id: int) -> list[Outgoing]:
    station = selectors.station_get(station_id=station_id)
    ops_groups = [streams.ops_group(scope) for scope in live_access.ops_scopes_of_station(station)]
    return [
        Outgoing(streams.OPS, "station.status", selectors.station_status_json(station), ops_groups),
        *_stock_messages(station),
    ]


def order_state_changed(order_id: int, state: str) -> None:
    """After a committed transition (``apps.swaps.events``). ``requested`` is left out: a scan
    commits its order already ``queued`` (both transitions are in one transaction)."""
    if state == OrderState.REQUESTED:
        return
    try:
        event = selectors.order_event_read(order_id=order_id)
    except Exception:
        logger.exception("live publish: reading order %s failed", order_id)
        return
    if event is None:
        return
    # The queue first, on its own, so that a queue of waiting phones hears of it as soon as it can.
    if state != OrderState.SETTLED:
        send([line_message(event.queue.line())])
    _guarded(f"order {order_id}", _order_messages, event, state)


def wallet_changed(organisation_id: int) -> None:
    """After a committed change of a payer's wallet outside a swap (a top-up credited)."""
    _guarded(f"wallet of organisation {organisation_id}", _wallet_messages, organisation_id)


def station_changed(station_id: int) -> None:
    """After a committed controller heartbeat: the station's status and stock."""
    _guarded(f"station {station_id}", _station_messages, station_id)
