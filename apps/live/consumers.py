"""WebSocket consumers."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone


class HealthConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/health/``: lets a load balancer or an operator check the WebSocket path end to end
    (the proxy route, the ASGI server and the channel layer) without signing in."""

    async def connect(self) -> None:
        await self.accept()
        # A round trip through the channel layer, so a broken layer shows here.
        await self.channel_layer.send(self.channel_name, {"type": "health.echo"})

    async def health_echo(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "health", "status": "ok", "server_time": timezone.now().isoformat()})
