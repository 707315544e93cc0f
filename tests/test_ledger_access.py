"""The access matrix of ACCESS.md for the ledger's endpoints: a wallet is seen by its carrier's
admins and the platform; a statement by the party it is for (its admins) and the platform.
Everyone else gets 404, as for a missing one; drivers too, for now (their own-spending view is
not built); anonymous callers get 401. Nothing is written by any of these calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import member
from apps.assets.tests.factories import StationFactory
from apps.ledger import services
from apps.ledger.models import AccountPeriod, Statement
from apps.ledger.tests.factories import ledger_snapshot, organisation

ACTORS = [
    "anonymous",
    "driver",
    "carrier_admin",
    "other_carrier_admin",
    "staff_of_station",
    "operator_admin",
    "other_operator_admin",
    "battery_owner",
    "platform_admin",
]
LOCAL = timezone.get_fixed_timezone(8 * 60)


@dataclass
class World:
    carrier: Organisation
    operator: Organisation
    statement: Statement
    users: dict[str, User | None]


@pytest.fixture
def world(db) -> World:
    platform = organisation(OrganisationKind.PLATFORM)
    carrier = organisation(OrganisationKind.CARRIER)
    other_carrier = organisation(OrganisationKind.CARRIER)
    operator = organisation(OrganisationKind.STATION_OPERATOR)
    other_operator = organisation(OrganisationKind.STATION_OPERATOR)
    owner = organisation(OrganisationKind.BATTERY_OWNER)
    station = StationFactory(operator=operator)

    services.contract_create(
        actor=Actor(user_id=None, platform_admin=True),
        platform=platform,
        party=operator,
        commission_rate=Decimal("0.05"),
        account_period=AccountPeriod.DAILY,
        payment_terms_days=1,
        effective_from=date(2020, 1, 1),
    )
    for payer in (carrier, other_carrier):
        services.wallet_top_up(external_id=f"top-up-{payer.pk}", payer=payer, amount_fen=10_000)
    services.order_clear(
        external_id="order-1", payer=carrier, bill_shares={operator: 3_000, owner: 500, platform: 240}, reference="order-1"
    )
    today = timezone.localdate()
    statement = services.statement_close(
        organisation=operator, period_start=today, now=datetime.combine(today + timedelta(days=2), time(), tzinfo=LOCAL)
    )
    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": member(Role.DRIVER, carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff_of_station": member(Role.STATION_STAFF, operator, station=station),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "other_operator_admin": member(Role.OPERATOR_ADMIN, other_operator),
        "battery_owner": member(Role.OWNER_ADMIN, owner),
        "platform_admin": member(Role.PLATFORM_ADMIN, platform),
    }
    return World(carrier, operator, statement, users)


def client_for(world: World, actor: str) -> APIClient:
    client = APIClient()
    user = world.users[actor]
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_answer(response, actor: str, allowed: set[str]) -> None:
    if actor == "anonymous":
        assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    elif actor in allowed:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


SEES_WALLET = {"carrier_admin", "platform_admin"}
SEES_STATEMENT = {"operator_admin", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_the_carriers_wallet_by_actor(world: World, actor: str) -> None:
    before = ledger_snapshot()
    response = client_for(world, actor).get(f"/api/v1/wallet?organisation={world.carrier.pk}")
    assert_answer(response, actor, SEES_WALLET)
    if response.status_code == 200:
        assert response.json()["balance"] == {"amount_fen": 10_000 - 3_740, "currency": "CNY"}
    assert ledger_snapshot() == before


@pytest.mark.parametrize("actor", ACTORS)
def test_the_carriers_wallet_movements_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/wallet/movements?organisation={world.carrier.pk}")
    assert_answer(response, actor, SEES_WALLET)
    if response.status_code == 200:
        assert [row["external_id"] for row in response.json()["results"]] == ["order-1", f"top-up-{world.carrier.pk}"]


@pytest.mark.parametrize(
    "suffix",
    ["statements", "statements?period={day}", "statements/{statement}", "statements/{statement}.csv"],
)
@pytest.mark.parametrize("actor", ACTORS)
def test_the_operators_statements_by_actor(world: World, actor: str, suffix: str) -> None:
    path = suffix.format(statement=world.statement.pk, day=world.statement.period_start.isoformat())
    before = ledger_snapshot()
    response = client_for(world, actor).get(f"/api/v1/orgs/{world.operator.pk}/{path}")
    assert_answer(response, actor, SEES_STATEMENT)
    assert ledger_snapshot() == before


@pytest.mark.parametrize("actor", ["carrier_admin", "other_operator_admin", "battery_owner"])
def test_a_statement_asked_for_under_the_callers_own_organisation_is_still_not_found(world: World, actor: str) -> None:
    user = world.users[actor]
    own = user.memberships.get().organisation_id
    response = client_for(world, actor).get(f"/api/v1/orgs/{own}/statements/{world.statement.pk}")
    assert response.status_code == 404
