from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator


@pytest.fixture
def asgi_application(transactional_db):
    # Imported here, not at module level: swapnet.asgi checks the database at import.
    from swapnet.asgi import application

    return application


async def test_websocket_health_round_trips_through_the_channel_layer(asgi_application) -> None:
    communicator = WebsocketCommunicator(
        asgi_application, "/ws/health/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    connected, _ = await communicator.connect()
    try:
        assert connected
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "health"
        assert message["status"] == "ok"
    finally:
        await communicator.disconnect()


async def test_websocket_from_a_foreign_origin_is_refused(asgi_application) -> None:
    communicator = WebsocketCommunicator(
        asgi_application, "/ws/health/", headers=[(b"origin", b"https://evil.example"), (b"host", b"localhost")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()
