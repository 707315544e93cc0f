"""WSGI entry point: the HTTP API in the real mode (gunicorn swapnet.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from swapnet.startup import guarded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swapnet.settings")

application = guarded(get_wsgi_application)
