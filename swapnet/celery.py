"""The Celery application. In the embedded default tasks run eagerly in the calling process
and ``manage.py serve`` runs the beat schedule in a thread; in the real mode Redis is the
broker and ``celery -A swapnet worker`` / ``celery -A swapnet beat`` do the work."""

import os

from celery import Celery

from swapnet.startup import guarded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")

app = Celery("swapnet")


def _configure() -> None:
    from django.conf import settings

    app.config_from_object(settings, namespace="CELERY")
    settings.CELERY_BROKER_URL  # noqa: B018 - read now so a bad setting fails at start


guarded(_configure, probe=False)
app.autodiscover_tasks()
