"""WebSocket consumers: authenticate, join the groups ``apps.access.live`` names, send the
snapshot, forward events. Every read goes through ``apps.live.selectors``.

Each stream's consumer, on connect: decides the actor's groups (refusing the connection, before
the handshake completes, if there are none), joins them, notes the stream's sequence number,
reads the snapshot from the database, accepts and sends the snapshot. Events numbered at or
below the snapshot's ``seq`` are already in it and are not forwarded (``apps.live.streams``).
Clients send nothing; what they send is ignored.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from apps.access import Actor
from apps.live import selectors, streams

# Close codes (the handshake is refused with HTTP 403 when a connection is refused before accept).
REFUSED = 4403


class HealthConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/health/``: lets a load balancer or an operator check the WebSocket path end to end
    (the proxy route, the ASGI server and the channel layer) without signing in."""

    async def connect(self) -> None:
        await self.accept()
        # A round trip through the channel layer, so a broken layer shows here.
        await self.channel_layer.send(self.channel_name, {"type": "health.echo"})

    async def health_echo(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "health", "status": "ok", "server_time": timezone.now().isoformat()})


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """What the three streams share: groups joined, the snapshot's floor, forwarding."""

    stream = ""

    async def connect(self) -> None:
        self.joined: set[str] = set()
        self.floor = 0
        actor = await database_sync_to_async(selectors.actor_of)(self.scope.get("user"))
        groups = await self.admit(actor)
        if not groups:
            await self.close(code=REFUSED)
            return
        for group in groups:
            await self.join(group)
        self.floor = await database_sync_to_async(streams.seq_current)(self.stream_name())
        data = await self.snapshot(actor)
        await self.accept()
        await self.send_json(
            {
                "type": "snapshot",
                "stream": self.stream_name(),
                "seq": self.floor,
                "at": selectors.iso(timezone.now()),
                "data": data,
            }
        )

    async def disconnect(self, code: int) -> None:
        for group in list(getattr(self, "joined", ())):
            await self.leave(group)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    async def join(self, group: str) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    async def leave(self, group: str) -> None:
        if group in self.joined:
            self.joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    def stream_name(self) -> str:
        return self.stream

    async def admit(self, actor: Actor) -> list[str]:
        raise NotImplementedError

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        raise NotImplementedError

    async def live_message(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message["seq"] > self.floor:
            await self.send_json(message)


class DriverConsumer(LiveConsumer):
    """``/ws/driver/``: the actor's own orders and the wallets they may read, and the queue of each
    station where they have an order waiting (``queue.position``)."""

    stream = streams.DRIVER

    async def admit(self, actor: Actor) -> list[str]:
        if actor.user_id is None:
            return []
        self.actor = actor
        self.following: dict[int, set[int]] = {}
        return [streams.driver_group(actor.user_id)]

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        # Join the queues first, so that no change after the snapshot's read is missed.
        self.following = await database_sync_to_async(selectors.driver_following)(actor=actor)
        for station_id in self.following:
            await self.join(streams.queue_group(station_id))
        return await database_sync_to_async(selectors.driver_snapshot)(actor=actor)

    async def live_message(self, event: dict[str, Any]) -> None:
        if "order_id" in event:  # one of the driver's own orders moved: follow its station's queue, or stop
            station_id, order_id = event["station_id"], event["order_id"]
            orders = self.following.setdefault(station_id, set())
            if event["order_state"] in selectors.OPEN_STATES:
                orders.add(order_id)
                await self.join(streams.queue_group(station_id))
            else:
                orders.discard(order_id)
                if not orders:
                    self.following.pop(station_id, None)
                    await self.leave(streams.queue_group(station_id))
        await super().live_message(event)

    async def live_line(self, event: dict[str, Any]) -> None:
        """A station's queue changed: the position of each of the driver's orders in it."""
        if event["seq"] <= self.floor:
            return
        mine = self.following.get(event["station_id"], set())
        for index, order_id in enumerate(event["order_ids"]):
            if order_id in mine:
                await self.send_json(
                    {
                        "type": "queue.position",
                        "stream": event["stream"],
                        "seq": event["seq"],
                        "at": event["at"],
                        "data": {
                            "order": order_id,
                            "station": event["station"],
                            "position": index + 1,
                            "expected_wait_s": index * event["mean_swap_s"],
                        },
                    }
                )


class StationConsumer(LiveConsumer):
    """``/ws/station/<code>/``: the station's queue, its orders' states and its stock, for those
    who see its queue (its staff, its operator's admins, the platform)."""

    async def admit(self, actor: Actor) -> list[str]:
        code = str(self.scope["url_route"]["kwargs"]["code"])
        station = await database_sync_to_async(selectors.station_for_stream)(actor=actor, code=code)
        if station is None:
            return []
        self.station = station
        return [streams.station_group(station.pk)]

    def stream_name(self) -> str:
        return streams.station_stream(self.station.code)

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        return await database_sync_to_async(selectors.station_snapshot)(station=self.station)


class OpsConsumer(LiveConsumer):
    """``/ws/ops/``: station status, stock and alerts, for operators' and owners' admins and the
    platform, each only their own (``apps.access.live.ops_scopes``)."""

    stream = streams.OPS

    async def admit(self, actor: Actor) -> list[str]:
        self.scopes = await database_sync_to_async(selectors.ops_scopes)(actor=actor)
        return [streams.ops_group(scope) for scope in self.scopes]

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        data = await database_sync_to_async(selectors.ops_snapshot)(scopes=self.scopes)
        return {"scopes": self.scopes, **data}
