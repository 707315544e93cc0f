"""WebSocket authentication by ticket: ``?ticket=...`` (from ``POST /api/v1/live/tickets``)
sets the connection's user. A connection that names a ticket is that ticket's user or nobody
(an unknown, used or expired ticket never falls back to the session cookie). Without a ticket,
the page's session cookie decides (channels' ``AuthMiddlewareStack``, outside this one)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from apps.live.services import ticket_redeem


class TicketAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if "ticket" in query:
                user = await database_sync_to_async(ticket_redeem)(raw=query["ticket"][0])
                scope = {**scope, "user": user or AnonymousUser()}
        return await super().__call__(scope, receive, send)
