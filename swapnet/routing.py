"""WebSocket routes of every app, gathered for swapnet.asgi."""

from apps.live.routing import websocket_urlpatterns as live_patterns

websocket_urlpatterns = [*live_patterns]
