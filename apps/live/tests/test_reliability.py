"""Live pushes are hints published after commit (RELIABILITY.md test 17): a rolled-back change
sends nothing, a reconnect's snapshot is the database's state whatever was missed, events the
snapshot already holds are not forwarded, and with the channel layer down swaps still complete."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.test import Client

from apps.access import Actor
from apps.live import streams
from apps.live.tests.conftest import opened, types_until
from apps.payments.tests.factories import event, intent_object, post_webhook, signed, top_up, use_stripe
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.services import controller_heartbeat, queue_call_next, swap_confirm
from apps.swaps.services.control import SlotReading
from apps.swaps.tests.factories import advanced, scanned, swap_world

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _world(**kwargs: Any) -> Any:
    return swap_world(**kwargs)


class RolledBack(Exception):
    pass


async def test_a_rolled_back_scan_sends_nothing(application) -> None:
    world = await _world()
    sock, snapshot = await opened(application, f"/ws/station/{world.station.code}/", user=world.users["staff"])
    try:

        @database_sync_to_async
        def scan_then_fail() -> None:
            with transaction.atomic():
                scanned(world)
                raise RolledBack

        with pytest.raises(RolledBack):
            await scan_then_fail()
        assert await database_sync_to_async(SwapOrder.objects.count)() == 0
        assert await sock.nothing()
        order = await database_sync_to_async(scanned)(world)
        first = await sock.receive()
        # The next message is the committed scan's, numbered right after the snapshot.
        assert (first["type"], first["data"]["order"], first["seq"]) == ("order.state", order.pk, snapshot["seq"] + 1)
    finally:
        await sock.close()


async def test_a_reconnect_after_missed_messages_shows_the_database_state(application) -> None:
    world = await _world()
    order = await database_sync_to_async(scanned)(world)
    sock, before = await opened(application, "/ws/driver/", user=world.driver)
    await sock.close()
    assert [(o["order"], o["state"], o["position"]) for o in before["data"]["orders"]] == [(order.pk, "queued", 1)]

    @database_sync_to_async
    def staff_start_the_swap() -> None:
        staff = Actor.of(world.users["staff"])
        queue_call_next(actor=staff, station=world.station)
        swap_confirm(actor=staff, order=order)

    await staff_start_the_swap()  # two transitions the phone never heard of
    sock, after = await opened(application, "/ws/driver/", user=world.driver)
    try:
        fresh = await database_sync_to_async(SwapOrder.objects.get)(pk=order.pk)
        [shown] = after["data"]["orders"]
        assert (shown["order"], shown["state"]) == (order.pk, fresh.state) == (order.pk, OrderState.SWAPPING)
        assert shown["quote"] == {"total": {"amount_fen": fresh.quote_total_fen, "currency": "CNY"}}
        assert after["seq"] > before["seq"]
        assert await sock.nothing()
    finally:
        await sock.close()


async def test_events_the_snapshot_already_holds_are_not_forwarded(application) -> None:
    world = await _world()
    await database_sync_to_async(scanned)(world)  # the station stream's counter moves on
    sock, snapshot = await opened(application, f"/ws/station/{world.station.code}/", user=world.users["staff"])
    try:
        assert snapshot["seq"] >= 3
        layer = get_channel_layer()
        group = streams.station_group(world.station.pk)

        def event_numbered(seq: int) -> dict[str, Any]:
            message = {"type": "order.state", "stream": snapshot["stream"], "seq": seq, "at": snapshot["at"], "data": {}}
            return {"type": "live.message", "message": message}

        await layer.group_send(group, event_numbered(snapshot["seq"]))
        await layer.group_send(group, event_numbered(snapshot["seq"] + 1))
        assert (await sock.receive())["seq"] == snapshot["seq"] + 1
        assert await sock.nothing()
    finally:
        await sock.close()


async def test_with_the_channel_layer_down_a_swap_completes_and_the_reconnect_shows_it(application, settings) -> None:
    world = await _world()
    working = settings.CHANNEL_LAYERS
    # A real Redis channel layer whose server is not there.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]}}
    }
    order = await database_sync_to_async(advanced)(world, "completed")
    fresh = await database_sync_to_async(SwapOrder.objects.get)(pk=order.pk)
    assert fresh.state == OrderState.COMPLETED
    assert fresh.bill_total_fen is not None
    assert fresh.bill_total_fen > 0

    settings.CHANNEL_LAYERS = working  # the layer is back; the phone reconnects
    sock, snapshot = await opened(application, "/ws/driver/", user=world.driver)
    admin, admin_snapshot = await opened(application, "/ws/driver/", user=world.users["carrier_admin"])
    try:
        [shown] = snapshot["data"]["orders"]
        assert (shown["order"], shown["state"]) == (order.pk, "completed")
        assert shown["bill"] == {"total": {"amount_fen": fresh.bill_total_fen, "currency": "CNY"}}
        [wallet] = admin_snapshot["data"]["wallets"]
        assert wallet["balance"] == {"amount_fen": 500_000 - fresh.bill_total_fen, "currency": "CNY"}
        assert wallet["held"] == {"amount_fen": 0, "currency": "CNY"}
    finally:
        await sock.close()
        await admin.close()


async def test_a_completed_swap_sends_the_final_bill_and_the_new_balance(application) -> None:
    world = await _world()
    sock, _ = await opened(application, "/ws/driver/", user=world.driver)
    admin, _ = await opened(application, "/ws/driver/", user=world.users["carrier_admin"])
    try:
        order = await database_sync_to_async(advanced)(world, "completed")
        messages = await types_until(sock, "bill.final")
        assert [m["data"]["state"] for m in messages if m["type"] == "order.state"] == [
            "queued",
            "called",
            "swapping",
            "completed",
        ]
        assert messages[-1]["data"] == {"order": order.pk, "total": {"amount_fen": order.bill_total_fen, "currency": "CNY"}}
        seqs = [m["seq"] for m in messages]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
        held, paid = await admin.receive(), await admin.receive()  # the hold placed, the bill paid
        assert (held["type"], paid["type"]) == ("wallet.balance", "wallet.balance")
        assert held["data"]["held"] == {"amount_fen": order.quote_total_fen, "currency": "CNY"}
        assert paid["data"]["held"] == {"amount_fen": 0, "currency": "CNY"}
        assert paid["data"]["balance"] == {"amount_fen": 500_000 - order.bill_total_fen, "currency": "CNY"}
        assert await admin.nothing()
    finally:
        await sock.close()
        await admin.close()


async def test_a_heartbeat_tells_the_operator_the_station_is_online_with_its_stock(application) -> None:
    world = await _world()
    sock, _ = await opened(application, "/ws/ops/", user=world.users["operator_admin"])
    try:
        slots = [SlotReading(slot=b.station_slot, battery=b.code) for b in world.stock]
        await database_sync_to_async(controller_heartbeat)(station=world.station, slots=slots)
        status, inventory = await sock.receive(), await sock.receive()
        assert status["type"] == "station.status"
        assert (status["data"]["station"], status["data"]["online"]) == (world.station.code, True)
        assert inventory["type"] == "inventory"
        assert inventory["data"]["stock"] == [{"pack_standard": world.vehicle.pack_standard.code, "in_slots": 2, "ready": 2}]
    finally:
        await sock.close()


async def test_a_credited_top_up_sends_the_new_balance_to_the_payers_admin(application, settings) -> None:
    world = await _world(wallet_fen=0)
    use_stripe(settings)
    admin, snapshot = await opened(application, "/ws/driver/", user=world.users["carrier_admin"])
    driver, _ = await opened(application, "/ws/driver/", user=world.driver)
    try:
        assert snapshot["data"]["wallets"][0]["balance"]["amount_fen"] == 0

        @database_sync_to_async
        def credited() -> None:
            pending = top_up(world.carrier, 50_000)
            response = post_webhook(Client(), *signed(event("payment_intent.succeeded", intent_object(pending, "succeeded"))))
            assert response.status_code == 200

        await credited()
        balance = await admin.receive()
        assert balance["type"] == "wallet.balance"
        assert balance["data"]["balance"] == {"amount_fen": 50_000, "currency": "CNY"}
        assert await driver.nothing()  # the fleet driver does not see the fleet's balance
    finally:
        await admin.close()
        await driver.close()
