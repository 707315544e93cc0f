"""Every console page renders for its role and is refused to everyone else (``ACCESS.md``):
anonymous visitors are sent to sign in; signed-in people without the role, and people asking
for another party's objects, get the same 404 as a page that does not exist."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from apps.assets.models import Battery
from apps.swaps.tests.factories import SwapWorld
from apps.web.tests.console_world import WHO, client_for, console_world

pytestmark = pytest.mark.django_db

CARRIERS = {"carrier_admin", "other_carrier_admin"}
OPS = {"operator_admin", "other_operator_admin", "owner_admin", "other_owner_admin", "platform_admin"}
RESOLVERS = {"operator_admin", "other_operator_admin", "platform_admin"}
PARTIES = CARRIERS | OPS


@pytest.fixture
def world() -> SwapWorld:
    return console_world()


def pages(world: SwapWorld) -> dict[str, tuple[str, set[str]]]:
    operator_statement = f"/statements/{world.operator.pk}/{world.operator_statement.pk}"
    carrier_statement = f"/statements/{world.carrier.pk}/{world.carrier_statement.pk}"
    return {
        "fleet": ("/carrier/", CARRIERS),
        "fleet vehicles": ("/carrier/vehicles", CARRIERS),
        "fleet drivers": ("/carrier/drivers", CARRIERS),
        "fleet wallet": ("/carrier/wallet", CARRIERS),
        "this fleet": (f"/carrier/?carrier={world.carrier.pk}", {"carrier_admin"}),
        "this fleet's drivers": (f"/carrier/drivers?carrier={world.carrier.pk}", {"carrier_admin"}),
        "network": ("/ops/", OPS),
        "telemetry": ("/ops/telemetry", OPS),
        "telemetry fragment": ("/ops/telemetry?fragment=1", OPS),
        "abnormal": ("/ops/abnormal", RESOLVERS),
        "abnormal fragment": ("/ops/abnormal?fragment=1", RESOLVERS),
        "tariffs": ("/ops/tariffs", OPS),
        "statements": ("/statements/", PARTIES),
        "operator statement": (operator_statement, {"operator_admin", "platform_admin"}),
        "carrier statement": (carrier_statement, {"carrier_admin", "platform_admin"}),
    }


PAGE_NAMES = [
    "fleet", "fleet vehicles", "fleet drivers", "fleet wallet", "this fleet", "this fleet's drivers", "network",
    "telemetry", "telemetry fragment", "abnormal", "abnormal fragment", "tariffs", "statements", "operator statement",
    "carrier statement",
]  # fmt: skip


def _outcome(world: SwapWorld, path: str, who: str) -> str:
    response = client_for(world, who).get(path)
    if response.status_code == 302 and response["Location"] == f"/sign-in?next={quote(path, safe='')}":
        return "sign in"
    return str(response.status_code)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_a_console_page_renders_for_its_role_and_is_refused_to_others(world: SwapWorld, name: str) -> None:
    """One world per page (it is costly); every actor of the matrix asks for the page."""
    path, allowed = pages(world)[name]
    expected = {who: "sign in" if who == "anonymous" else ("200" if who in allowed else "404") for who in WHO}
    assert {who: _outcome(world, path, who) for who in WHO} == expected


def test_english_console_pages_follow_the_same_rules(world: SwapWorld) -> None:
    assert client_for(world, "operator_admin").get("/en/ops/").content.decode().count("Network") >= 1
    assert client_for(world, "driver").get("/en/ops/").status_code == 404
    chinese = client_for(world, "carrier_admin").get("/carrier/").content.decode()
    assert "车队" in chinese
    assert "Fleet" in client_for(world, "carrier_admin").get("/en/carrier/").content.decode()


def test_a_carrier_admin_sees_only_their_own_fleet(world: SwapWorld) -> None:
    mine = client_for(world, "carrier_admin").get("/carrier/vehicles").content.decode()
    theirs = client_for(world, "other_carrier_admin").get("/carrier/vehicles").content.decode()
    assert world.vehicle.plate in mine
    assert world.vehicle.plate not in theirs
    assert world.other.vehicle.plate in theirs


def test_the_telemetry_table_shows_what_each_party_may_see(world: SwapWorld) -> None:
    # A battery in a slot now (the world's swaps handed some of the stock out to vehicles).
    stock_code = Battery.objects.filter(station=world.station).order_by("code").values_list("code", flat=True)[0]
    other_stock = Battery.objects.filter(station=world.other.station).order_by("code").values_list("code", flat=True)[0]
    seen = {
        who: client_for(world, who).get("/ops/telemetry?fragment=1").content.decode()
        for who in ("operator_admin", "owner_admin", "other_operator_admin", "other_owner_admin", "platform_admin")
    }
    assert stock_code in seen["operator_admin"]
    assert other_stock not in seen["operator_admin"]
    assert stock_code in seen["owner_admin"]
    assert world.vehicle_battery.code in seen["owner_admin"]
    assert stock_code not in seen["other_operator_admin"]
    assert stock_code not in seen["other_owner_admin"]
    assert stock_code in seen["platform_admin"]
    assert other_stock in seen["platform_admin"]
    # Station controller state is the operator's: an owner sees batteries, not the stations' table.
    assert 'data-testid="telemetry-stations"' in seen["operator_admin"]
    assert 'data-testid="telemetry-stations"' not in seen["owner_admin"]


def test_the_abnormal_list_shows_only_the_operator_s_orders(world: SwapWorld) -> None:
    marker = f'data-testid="abnormal-{world.abnormal.pk}"'
    assert marker in client_for(world, "operator_admin").get("/ops/abnormal").content.decode()
    assert marker in client_for(world, "platform_admin").get("/ops/abnormal").content.decode()
    assert marker not in client_for(world, "other_operator_admin").get("/ops/abnormal").content.decode()


def test_the_statement_page_shows_lines_grouped_and_traced_to_orders(world: SwapWorld) -> None:
    statement = world.operator_statement
    page = client_for(world, "operator_admin").get(f"/en/statements/{world.operator.pk}/{statement.pk}").content.decode()
    assert 'data-testid="group-swap_income"' in page
    assert f'data-order="{world.order.pk}"' in page
    assert f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}.csv" in page
    assert statement.lines.count() >= 1
    csv = client_for(world, "operator_admin").get(f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}.csv")
    assert csv.status_code == 200
    assert (
        client_for(world, "other_operator_admin")
        .get(f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}.csv")
        .status_code
        == 404
    )
