"""Live-stream tests run the real ASGI router (origin check, session and ticket auth, URL
routes) on the real channel layer of the mode: the in-memory layer on the embedded default,
channels_redis with ``REDIS_URL``. Each test gets its own channel-layer and cache key prefix, so
parallel workers sharing one Redis never hear each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.test import Client

ORIGIN = b"http://localhost"


@pytest.fixture(autouse=True)
def _unlink_ledger_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """On SQLite, ``apps.ledger.testing`` deletes the ledger's rows before the flush of a
    ``transaction=True`` test; orders and top-ups point at holds and journal transactions, so
    those links are cleared first (this fixture's teardown runs before that one's)."""
    yield
    if connection.vendor != "sqlite":
        return
    for model in apps.get_models():
        if model._meta.app_label == "ledger":
            continue
        for field in model._meta.concrete_fields:
            related = field.related_model
            if field.is_relation and related is not None and related._meta.app_label == "ledger":
                try:
                    with transaction.atomic():
                        model._base_manager.update(**{field.name: None})
                except IntegrityError:  # not nullable, or a constraint needs the link
                    model._base_manager.all().delete()


@pytest.fixture(autouse=True)
def _live_subscribed() -> None:
    """The live publisher listens to the swaps' events (``LiveConfig.ready``), whatever other tests did."""
    from apps.live import publish
    from apps.swaps import events

    events.subscribe(publish.order_state_changed)


@pytest.fixture(autouse=True)
def live_layer(settings: Any) -> str:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    if django_settings.REDIS_URL:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {**dict(django_settings.CHANNEL_LAYERS["default"]["CONFIG"]), "prefix": prefix},
            }
        }
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": django_settings.REDIS_URL,
                "KEY_PREFIX": prefix,
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}}
    return prefix


@pytest.fixture
def application(transactional_db: Any) -> Any:
    # Imported here, not at module level: swapnet.asgi checks the database at import.
    from swapnet.asgi import application

    return application


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


class Socket:
    """A WebsocketCommunicator with the headers a browser page sends; always disconnect it."""

    def __init__(self, application: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.connected = False

    async def connect(self) -> bool:
        self.connected, _ = await self.communicator.connect(timeout=10)
        return self.connected

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def nothing(self, timeout: float = 0.5) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.communicator.disconnect()


async def socket(application: Any, path: str, *, user: Any = None, origin: bytes | None = ORIGIN, query: str = "") -> Socket:
    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_session_cookie)(user)))
    return Socket(application, path + (f"?{query}" if query else ""), headers)


async def opened(application: Any, path: str, **kwargs: Any) -> tuple[Socket, dict[str, Any]]:
    """A connected socket and its snapshot (the first message)."""
    sock = await socket(application, path, **kwargs)
    assert await sock.connect(), path
    snapshot = await sock.receive()
    assert snapshot["type"] == "snapshot"
    return sock, snapshot


async def types_until(sock: Socket, last: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Messages until (and with) the first of type ``last``."""
    messages = []
    for _ in range(limit):
        message = await sock.receive()
        messages.append(message)
        if message["type"] == last:
            return messages
    raise AssertionError(f"no {last} in {[m['type'] for m in messages]}")
