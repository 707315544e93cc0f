"""The typed bay code ``<station code>-<bay number>`` on a bay's plate: a scan with it queues an
order like the bay's printed code does (staff confirm); codes naming no bay are refused with a
stable code and change nothing; the signed QR path is untouched."""

from __future__ import annotations

import pytest

from apps.assets.models import Bay
from apps.swaps import qr
from apps.swaps.models import OrderState, QrKind, SwapOrder
from apps.swaps.services.scan import is_printed
from apps.swaps.tests.factories import SwapWorld, swap_world
from apps.swaps.tests.test_scan import scan, snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("SWN-HHA-W-1", ("SWN-HHA-W", 1)),
        ("swn-hha-w-12", ("SWN-HHA-W", 12)),
        (" SWN - HHA - W - 3 ", ("SWN-HHA-W", 3)),
        ("ＳＷＮ－ＨＨＡ－Ｗ－２", ("SWN-HHA-W", 2)),
        ("CZ01-7", ("CZ01", 7)),
    ],
)
def test_a_typed_code_names_a_station_and_a_bay(raw: str, parsed: tuple[str, int]) -> None:
    assert qr.typed_code_parse(raw) == parsed


@pytest.mark.parametrize("raw", ["", "SWN", "SWN-", "-1", "SWN-0", "SWN-1000", "SWN--1", "S1.1.2", "SWN-1a", "A" * 30 + "-1"])
def test_anything_else_is_not_a_typed_code(raw: str) -> None:
    assert qr.typed_code_parse(raw) is None


def typed(world: SwapWorld, bay: Bay) -> str:
    return f"{world.station.code}-{bay.number}"


def test_a_typed_code_queues_an_order_at_its_bay_that_staff_confirm() -> None:
    world = swap_world()
    response = scan(world, token=typed(world, world.bay).lower())
    assert response.status_code == 201, response.json()
    order = SwapOrder.objects.get(pk=response.json()["id"])
    assert (order.state, order.bay_id, order.qr_kind, order.qr_nonce) == (OrderState.QUEUED, world.bay.pk, QrKind.PRINTED, None)
    assert is_printed(order)
    assert response.json()["queue"]["position"] == 1


def test_a_typed_code_may_be_used_again_by_the_next_driver() -> None:
    world = swap_world(stock=2)
    first = scan(world, token=typed(world, world.printed_bay))
    other, vehicle = world.add_driver()
    second = scan(world, driver=other, plate=vehicle.plate, token=typed(world, world.printed_bay))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["queue"]["position"] == 2


@pytest.mark.parametrize("code", ["NOPE-1", "{station}-9"])
def test_a_typed_code_that_names_no_bay_is_refused_and_changes_nothing(code: str) -> None:
    world = swap_world()
    before = snapshot()
    response = scan(world, token=code.format(station=world.station.code))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bay_code_unknown"
    assert snapshot() == before


def test_text_that_is_neither_a_token_nor_a_typed_code_is_still_qr_invalid() -> None:
    world = swap_world()
    before = snapshot()
    response = scan(world, token="hello there")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "qr_invalid")
    assert snapshot() == before


def test_a_typed_code_goes_through_the_same_checks_as_a_printed_one() -> None:
    world = swap_world()
    assert scan(world, token=typed(world, world.bay)).status_code == 201
    before = snapshot()
    again = scan(world, token=typed(world, world.printed_bay))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_active")
    assert snapshot() == before


def test_a_tampered_signed_token_is_not_read_as_a_typed_code() -> None:
    world = swap_world()
    token = world.token()
    response = scan(world, token=token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "qr_invalid")
