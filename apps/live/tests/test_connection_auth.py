"""Who may connect at all (RELIABILITY.md test 20): no sign-in, a foreign or missing Origin, and
tickets that are unknown, used or expired are all refused before the handshake completes; a
ticket is single-use, short-lived and stored only as a hash."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.live.models import LiveTicket
from apps.live.tests.conftest import opened, socket
from apps.swaps.tests.factories import swap_world

pytestmark = pytest.mark.django_db(transaction=True)
STREAMS = ("/ws/driver/", "/ws/station/{code}/", "/ws/ops/")


@database_sync_to_async
def _world() -> Any:
    return swap_world()


@database_sync_to_async
def _ticket(user: Any) -> dict[str, Any]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/live/tickets")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize("path", STREAMS)
async def test_a_connection_without_sign_in_is_refused(application, path: str) -> None:
    world = await _world()
    sock = await socket(application, path.format(code=world.station.code))
    try:
        assert not await sock.connect()
    finally:
        await sock.close()


@pytest.mark.parametrize("origin", [b"https://evil.example", b"http://localhost.evil.example", None])
@pytest.mark.parametrize("path", STREAMS)
async def test_a_signed_in_page_from_a_foreign_or_no_origin_is_refused(application, path: str, origin: bytes | None) -> None:
    world = await _world()
    sock = await socket(application, path.format(code=world.station.code), user=world.users["platform_admin"], origin=origin)
    try:
        assert not await sock.connect()
    finally:
        await sock.close()


async def test_a_ticket_opens_one_connection_as_its_user(application) -> None:
    world = await _world()
    answer = await _ticket(world.users["staff"])
    assert answer["expires_in"] == 60
    stored = await database_sync_to_async(LiveTicket.objects.get)()
    assert stored.key_hash == hashlib.sha256(answer["ticket"].encode()).hexdigest()
    assert answer["ticket"] not in stored.key_hash
    sock, snapshot = await opened(application, f"/ws/station/{world.station.code}/", query=f"ticket={answer['ticket']}")
    await sock.close()
    assert snapshot["stream"] == f"station:{world.station.code}"
    again = await socket(application, f"/ws/station/{world.station.code}/", query=f"ticket={answer['ticket']}")
    try:
        assert not await again.connect()  # single use
    finally:
        await again.close()


async def test_an_expired_ticket_is_refused_and_stays_unused(application) -> None:
    world = await _world()
    answer = await _ticket(world.driver)
    await database_sync_to_async(LiveTicket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    sock = await socket(application, "/ws/driver/", query=f"ticket={answer['ticket']}")
    try:
        assert not await sock.connect()
    finally:
        await sock.close()
    assert await database_sync_to_async(LiveTicket.objects.filter(used_at__isnull=True).count)() == 1


async def test_an_unknown_ticket_does_not_fall_back_to_the_session(application) -> None:
    world = await _world()
    sock = await socket(application, "/ws/driver/", user=world.driver, query="ticket=not-a-ticket")
    try:
        assert not await sock.connect()
    finally:
        await sock.close()


async def test_a_ticket_of_another_tenant_does_not_open_this_station(application) -> None:
    world = await _world()

    @database_sync_to_async
    def other_operator_admin() -> Any:
        from apps.accounts.models import OrganisationKind

        return member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR))

    answer = await _ticket(await other_operator_admin())
    sock = await socket(application, f"/ws/station/{world.station.code}/", query=f"ticket={answer['ticket']}")
    try:
        assert not await sock.connect()
    finally:
        await sock.close()


def test_tickets_are_for_signed_in_callers_only() -> None:
    response = APIClient().post("/api/v1/live/tickets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert LiveTicket.objects.count() == 0
