"""ASGI entry point: HTTP and WebSocket on one port (the embedded default), or WebSockets
only behind a proxy that sends /ws/ here (the real mode; HTTP goes to WSGI for speed)."""

import os

from django.core.asgi import get_asgi_application

from swapnet.startup import guarded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")

# Django must be set up before the consumers (and their models) are imported.
django_http_application = guarded(get_asgi_application)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.live.auth import TicketAuthMiddleware  # noqa: E402
from swapnet.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(TicketAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
