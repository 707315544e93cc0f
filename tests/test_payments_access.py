"""The access matrix of ACCESS.md for top-ups and refunds: a wallet's top-ups and refunds are
seen by the payer's admins and the platform; only the payer's admins top up or refund (the
platform, which sees the wallet, gets 403); everyone else gets 404, as for a missing wallet,
and anonymous callers 401. A refused call changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.tests.factories import StationFactory
from apps.ledger.tests.factories import ledger_snapshot
from apps.payments.models import Refund, SandboxIntent, TopUp
from apps.payments.tests.factories import Payer, paid_top_up, payer

ACTORS = [
    "anonymous",
    "driver",
    "carrier_admin",
    "other_carrier_admin",
    "staff_of_station",
    "operator_admin",
    "battery_owner",
    "platform_admin",
]


@dataclass
class World:
    carrier: Organisation
    top_up: TopUp
    refund: Refund
    users: dict[str, User | None]


@pytest.fixture
def world(db) -> World:
    payer_world: Payer = payer()
    carrier = payer_world.carrier
    top_up = paid_top_up(payer_world, 60_000)
    client = APIClient()
    client.force_authenticate(payer_world.admin)
    assert client.post("/api/v1/wallet/refunds", {"amount_fen": 1_000}, format="json").status_code == 202
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": member(Role.DRIVER, carrier),
        "carrier_admin": payer_world.admin,
        "other_carrier_admin": payer().admin,
        "staff_of_station": member(Role.STATION_STAFF, operator, station=StationFactory(operator=operator)),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "battery_owner": member(Role.OWNER_ADMIN, OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)),
        "platform_admin": member(Role.PLATFORM_ADMIN, payer_world.platform),
    }
    return World(carrier=carrier, top_up=top_up, refund=Refund.objects.get(), users=users)


def _client(world: World, actor: str) -> APIClient:
    client = APIClient()
    user = world.users[actor]
    if user is not None:
        client.force_authenticate(user)
    return client


def _expected(actor: str, allowed: int, *, platform: int) -> int:
    if actor == "anonymous":
        return 401
    if actor == "carrier_admin":
        return allowed
    if actor == "platform_admin":
        return platform
    return 404


def _snapshot() -> tuple:
    return (ledger_snapshot(), TopUp.objects.count(), Refund.objects.count(), SandboxIntent.objects.count())


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/wallet/topups?organisation={carrier}",
        "/api/v1/wallet/topups/{top_up}",
        "/api/v1/wallet/refunds?organisation={carrier}",
        "/api/v1/wallet/refunds/{refund}",
        "/api/v1/wallet/refundable?organisation={carrier}",
    ],
)
def test_reads(world: World, actor: str, path: str) -> None:
    url = path.format(carrier=world.carrier.pk, top_up=world.top_up.pk, refund=world.refund.pk)
    before = _snapshot()
    response = _client(world, actor).get(url)
    assert response.status_code == _expected(actor, 200, platform=200), response.content
    if response.status_code == 404:
        assert response.json()["error"]["code"] == "not_found"
    assert _snapshot() == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("path", "body", "allowed"),
    [
        ("/api/v1/wallet/topups", {"amount_fen": 10_000}, 201),
        ("/api/v1/wallet/refunds", {"amount_fen": 1_000}, 202),
    ],
)
def test_writes(world: World, actor: str, path: str, body: dict, allowed: int) -> None:
    before = _snapshot()
    response = _client(world, actor).post(path, {**body, "organisation": world.carrier.pk}, format="json")
    assert response.status_code == _expected(actor, allowed, platform=403), response.content
    if response.status_code != allowed:
        assert _snapshot() == before


def test_the_client_secret_is_shown_only_to_the_payer(world: World) -> None:
    payer_client = _client(world, "carrier_admin")
    created = payer_client.post("/api/v1/wallet/topups", {"amount_fen": 10_000}, format="json").json()
    assert created["client_secret"]
    assert created["checkout_url"]
    seen_by_platform = _client(world, "platform_admin").get(f"/api/v1/wallet/topups/{created['id']}").json()
    assert (seen_by_platform["client_secret"], seen_by_platform["checkout_url"]) == (None, None)
