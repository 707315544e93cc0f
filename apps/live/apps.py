from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    label = "live"

    def ready(self) -> None:
        from apps.live import publish
        from apps.swaps import events

        events.subscribe(publish.order_state_changed)
