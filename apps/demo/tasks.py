from celery import shared_task

from apps.demo import services


@shared_task
def simulate_controller_heartbeats() -> int:
    """The demo's stations have no real controllers: keep them online (embedded default)."""
    return services.simulated_heartbeats_send()
