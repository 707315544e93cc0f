"""The wallet and statement APIs once each for wiring, shapes and error codes. Who may call them
is tests/test_ledger_access.py."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Membership, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.ledger import services
from apps.ledger.models import AccountPeriod, Statement
from apps.ledger.tests.factories import Parties, parties, top_up
from apps.ledger.tests.test_settlement import PLATFORM_ADMIN

pytestmark = pytest.mark.django_db

LOCAL = timezone.get_fixed_timezone(8 * 60)
DAY = date(2026, 3, 10)


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def money(fen: int) -> dict:
    return {"amount_fen": fen, "currency": "CNY"}


@pytest.fixture
def world() -> Parties:
    return parties()


def test_the_wallet_shows_balance_held_and_available(world: Parties) -> None:
    admin = member(Role.CARRIER_ADMIN, world.carrier)
    top_up(world.carrier, 10_000)
    services.hold_place(external_id="hold", payer=world.carrier, amount_fen=3_000)
    services.wallet_credit_line_set(actor=PLATFORM_ADMIN, organisation=world.carrier, credit_line_fen=500)

    response = client_of(admin).get("/api/v1/wallet")

    assert response.status_code == 200
    assert response.json() == {
        "organisation": world.carrier.pk,
        "balance": money(10_000),
        "held": money(3_000),
        "available": money(7_500),
        "credit_line": money(500),
    }


def test_a_new_carrier_has_an_empty_wallet(world: Parties) -> None:
    response = client_of(member(Role.CARRIER_ADMIN, world.carrier)).get("/api/v1/wallet")
    assert response.json()["balance"] == money(0)


def test_an_admin_of_two_carriers_names_the_one_they_mean(world: Parties) -> None:
    admin = member(Role.CARRIER_ADMIN, world.carrier)
    second = OrganisationFactory(kind=OrganisationKind.CARRIER)
    Membership.objects.create(user=admin, organisation=second, role=Role.CARRIER_ADMIN)
    top_up(second, 700)

    unnamed = client_of(admin).get("/api/v1/wallet")
    named = client_of(admin).get(f"/api/v1/wallet?organisation={second.pk}")

    assert (unnamed.status_code, unnamed.json()["error"]["code"]) == (400, "organisation_required")
    assert named.json()["balance"] == money(700)


def test_wallet_movements_list_what_changed_the_money_newest_first(world: Parties) -> None:
    admin = member(Role.CARRIER_ADMIN, world.carrier)
    top_up(world.carrier, 10_000)
    hold = services.hold_place(external_id="order-1:hold", payer=world.carrier, amount_fen=5_000)
    services.order_clear(
        external_id="order-1:clear", payer=world.carrier, bill_shares={world.operator: 3_740}, hold=hold, reference="order-1"
    )

    response = client_of(admin).get("/api/v1/wallet/movements")

    assert response.status_code == 200
    rows = [(row["external_id"], row["movement_type"], row["reference"], row["amount"]) for row in response.json()["results"]]
    assert rows == [
        ("order-1:clear", "swap_expense", "order-1", money(-3_740)),
        (rows[1][0], "top_up", "", money(10_000)),
    ]
    assert response.json()["count"] == 2


@pytest.fixture
def statement(world: Parties) -> Statement:
    services.contract_create(
        actor=PLATFORM_ADMIN,
        platform=world.platform,
        party=world.operator,
        commission_rate=Decimal("0.05"),
        account_period=AccountPeriod.DAILY,
        payment_terms_days=1,
        effective_from=date(2026, 1, 1),
    )
    moment = datetime.combine(DAY, time(9, 30), tzinfo=LOCAL)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        top_up(world.carrier, 10_000)
        services.order_clear(
            external_id="order-1:clear",
            payer=world.carrier,
            bill_shares={world.operator: 3_553, world.platform: 187},
            commissions={world.operator: 187},
            reference="order-1",
        )
    return services.statement_close(
        organisation=world.operator, period_start=DAY, now=datetime.combine(DAY + timedelta(days=2), time(), tzinfo=LOCAL)
    )


def test_statements_list_the_partys_statements_with_totals(world: Parties, statement: Statement) -> None:
    admin = member(Role.OPERATOR_ADMIN, world.operator)

    response = client_of(admin).get(f"/api/v1/orgs/{world.operator.pk}/statements")

    assert response.status_code == 200
    [body] = response.json()["results"]
    assert body == {
        "id": statement.pk,
        "organisation": world.operator.pk,
        "currency": "CNY",
        "account_period": "daily",
        "period_start": "2026-03-10",
        "period_end": "2026-03-11",
        "opening_balance": money(0),
        "closing_balance": money(3_553),
        "amount_payable": money(3_553),
        "due_date": "2026-03-11",
        "totals": [
            {"movement_type": "commission", "amount": money(-187)},
            {"movement_type": "swap_income", "amount": money(3_740)},
        ],
    }


def test_the_period_filter_picks_the_statement_holding_that_date(world: Parties, statement: Statement) -> None:
    client = client_of(member(Role.OPERATOR_ADMIN, world.operator))
    url = f"/api/v1/orgs/{world.operator.pk}/statements"
    assert client.get(url, {"period": "2026-03-10"}).json()["count"] == 1
    assert client.get(url, {"period": "2026-03-11"}).json()["count"] == 0
    bad = client.get(url, {"period": "10/03/2026"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")


def test_a_statement_in_detail_traces_each_line_to_its_transaction(world: Parties, statement: Statement) -> None:
    client = client_of(member(Role.OPERATOR_ADMIN, world.operator))
    body = client.get(f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}").json()
    assert [(line["movement_type"], line["external_id"], line["reference"], line["amount"]) for line in body["lines"]] == [
        ("commission", "order-1:clear", "order-1", money(-187)),
        ("swap_income", "order-1:clear", "order-1", money(3_740)),
    ]
    assert body["statement"]["id"] == statement.pk


def test_a_statement_as_csv(world: Parties, statement: Statement) -> None:
    client = client_of(member(Role.OPERATOR_ADMIN, world.operator))

    response = client.get(f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="statement-{world.operator.pk}-2026-03-10.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["row", "posted_at", "movement_type", "external_id", "reference", "amount_fen", "amount_cny"]
    assert rows[1] == ["opening_balance", "2026-03-10", "", "", "", "0", "0.00"]
    assert [row[0] for row in rows[2:]] == ["line", "line", "total", "total", "closing_balance", "amount_payable"]
    assert rows[2][1:] == ["2026-03-10T09:30:00+08:00", "commission", "order-1:clear", "order-1", "-187", "-1.87"]
    assert rows[-2] == ["closing_balance", "2026-03-11", "", "", "", "3553", "35.53"]
    assert rows[-1] == ["amount_payable", "2026-03-11", "", "", "", "3553", "35.53"]


def test_another_partys_statement_as_csv_is_not_found_even_asking_for_csv(world: Parties, statement: Statement) -> None:
    client = client_of(member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)))
    response = client.get(f"/api/v1/orgs/{world.operator.pk}/statements/{statement.pk}.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert b"not_found" in response.content


def test_the_schema_lists_the_ledger_paths(client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in [
        "/api/v1/wallet",
        "/api/v1/wallet/movements",
        "/api/v1/orgs/{organisation_id}/statements",
        "/api/v1/orgs/{organisation_id}/statements/{statement_id}",
        "/api/v1/orgs/{organisation_id}/statements/{statement_id}.csv",
    ]:
        assert path in schema["paths"]
