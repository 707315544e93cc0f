"""Every page renders for its role and is refused to everyone else: anonymous visitors are sent
to sign in, signed-in people without the role get the same 404 as a page that does not exist."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from apps.accounts.tests.factories import UserFactory
from apps.swaps.tests.factories import SwapWorld, advanced, swap_world

pytestmark = pytest.mark.django_db

WHO = [
    "anonymous",
    "newcomer",
    "driver",
    "other_driver",
    "staff",
    "operator_admin",
    "carrier_admin",
    "owner_admin",
    "platform_admin",
]


@pytest.fixture
def world() -> SwapWorld:
    world = swap_world()
    world.order = advanced(world, "completed")
    other, _vehicle = world.add_driver()
    world.users["other_driver"] = other
    world.users["driver"] = world.driver
    world.users["newcomer"] = UserFactory.create()
    return world


def pages(world: SwapWorld) -> dict[str, tuple[str, set[str]]]:
    code = world.station.code
    order = world.order.pk
    drivers = {"driver", "other_driver", "newcomer"}
    staff = {"staff", "operator_admin"}
    return {
        "driver home": ("/driver/", drivers),
        "verification": ("/driver/verification", drivers),
        "vehicle": ("/driver/vehicle", drivers),
        "stations": ("/driver/stations", drivers),
        "scan": ("/driver/scan", drivers),
        "wallet": ("/driver/wallet", drivers),
        "history": ("/driver/history", drivers),
        "order": (f"/driver/orders/{order}", {"driver"}),
        "order fragment": (f"/driver/orders/{order}?fragment=1", {"driver"}),
        "receipt": (f"/driver/orders/{order}/receipt", {"driver"}),
        "staff home": ("/staff/", staff),
        "queue": (f"/staff/{code}/", staff),
        "queue fragment": (f"/staff/{code}/?fragment=1", staff),
        "today": (f"/staff/{code}/today", staff),
        "stock": (f"/staff/{code}/stock", staff),
        "verifications": ("/platform/verifications", {"platform_admin"}),
    }


PAGE_NAMES = [
    "driver home", "verification", "vehicle", "stations", "scan", "wallet", "history", "order", "order fragment",
    "receipt", "staff home", "queue", "queue fragment", "today", "stock", "verifications",
]  # fmt: skip


def client_for(world: SwapWorld, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    return client


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_a_page_renders_for_its_role_and_is_refused_to_others(world: SwapWorld, name: str, who: str) -> None:
    path, allowed = pages(world)[name]
    response = client_for(world, who).get(path)
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"] == f"/sign-in?next={quote(path, safe='')}"
    elif who in allowed:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:  # the staff home sends a one-station person to the queue
            assert (name, response["Location"]) == ("staff home", f"/staff/{world.station.code}/")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("who", WHO[1:])
def test_english_pages_follow_the_same_rules(world: SwapWorld, who: str) -> None:
    path, allowed = pages(world)["queue"]
    response = client_for(world, who).get("/en" + path)
    assert response.status_code == (200 if who in allowed else 404)
    if response.status_code == 200:
        assert "Call next" in response.content.decode()


def test_another_station_s_staff_do_not_see_this_queue(world: SwapWorld) -> None:
    other = swap_world()
    client = client_for(other, "staff")
    assert client.get(f"/staff/{world.station.code}/").status_code == 404
    assert client.get(f"/staff/{world.station.code}/stock").status_code == 404
    assert client.get(f"/staff/{other.station.code}/").status_code == 200


def test_home_sends_each_person_to_their_pages(world: SwapWorld) -> None:
    expected = {
        "anonymous": "/sign-in",
        "driver": "/driver/",
        "newcomer": "/driver/",
        "staff": "/staff/",
        "operator_admin": "/staff/",
        "platform_admin": "/platform/verifications",
    }
    for who, location in expected.items():
        assert client_for(world, who).get("/")["Location"] == location, who
    assert client_for(world, "carrier_admin").get("/").status_code == 200
