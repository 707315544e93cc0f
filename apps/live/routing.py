from django.urls import path

from apps.live.consumers import DriverConsumer, HealthConsumer, OpsConsumer, StationConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
    path("ws/driver/", DriverConsumer.as_asgi()),
    path("ws/station/<str:code>/", StationConsumer.as_asgi()),
    path("ws/ops/", OpsConsumer.as_asgi()),
]
