"""The ledger's admin pages: read-only for everyone, scoped by access (an organisation's admins see
their own rows, the platform all, others get 404)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.ledger import services
from apps.ledger.models import Account, AccountPeriod, AccountPurpose, Contract, Entry, Hold, JournalTransaction, Statement
from apps.ledger.tests.factories import Parties, ledger_snapshot, parties, top_up

pytestmark = pytest.mark.django_db

LOCAL = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture
def world() -> Parties:
    world = parties()
    top_up(world.carrier, 10_000)
    hold = services.hold_place(external_id="hold", payer=world.carrier, amount_fen=5_000)
    services.order_clear(external_id="clear", payer=world.carrier, bill_shares={world.operator: 3_740}, hold=hold)
    services.contract_create(
        actor=Actor(user_id=None, platform_admin=True),
        platform=world.platform,
        party=world.operator,
        commission_rate=Decimal("0.05"),
        account_period=AccountPeriod.DAILY,
        payment_terms_days=1,
        effective_from=date(2020, 1, 1),
    )
    today = timezone.localdate()
    services.statement_close(
        organisation=world.operator, period_start=today, now=datetime.combine(today + timedelta(days=2), time(), tzinfo=LOCAL)
    )
    return world


def staff(role: str, organisation) -> User:
    return member(role, organisation, is_staff=True)


PAGES = [
    (Account, lambda w: Account.objects.get(organisation=w.operator, purpose=AccountPurpose.RECEIVABLE)),
    (JournalTransaction, lambda w: JournalTransaction.objects.get(external_id="clear")),
    (Entry, lambda w: Entry.objects.get(account__organisation=w.operator)),
    (Contract, lambda w: Contract.objects.get(party=w.operator)),
    (Statement, lambda w: Statement.objects.get(organisation=w.operator)),
]


@pytest.mark.parametrize(("model", "row"), PAGES)
@pytest.mark.parametrize(("actor", "sees"), [("operator_admin", True), ("platform_admin", True), ("other_operator_admin", False)])
def test_ledger_pages_are_scoped_and_read_only(client, world: Parties, model, row, actor: str, sees: bool) -> None:
    users = {
        "operator_admin": staff(Role.OPERATOR_ADMIN, world.operator),
        "platform_admin": staff(Role.PLATFORM_ADMIN, world.platform),
        "other_operator_admin": staff(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)),
    }
    client.force_login(users[actor])
    obj = row(world)
    name = f"admin:ledger_{model._meta.model_name}"
    before = ledger_snapshot()

    listed = client.get(reverse(f"{name}_changelist")).context["cl"].result_list
    page = client.get(reverse(f"{name}_change", args=[obj.pk]))
    posted = client.post(reverse(f"{name}_change", args=[obj.pk]), {})
    deleted = client.post(reverse(f"{name}_delete", args=[obj.pk]), {"post": "yes"})

    assert (obj in listed) == sees
    assert page.status_code == (200 if sees else 404)
    assert posted.status_code == (403 if sees else 404)
    assert deleted.status_code == (403 if sees else 404)
    assert client.get(reverse(f"{name}_add")).status_code == 403
    assert ledger_snapshot() == before
    assert model.objects.filter(pk=obj.pk).exists()


def test_a_carrier_admin_sees_its_holds_not_the_operators_income(client, world: Parties) -> None:
    client.force_login(staff(Role.CARRIER_ADMIN, world.carrier))
    holds = client.get(reverse("admin:ledger_hold_changelist")).context["cl"].result_list
    accounts = client.get(reverse("admin:ledger_account_changelist")).context["cl"].result_list
    assert list(holds) == list(Hold.objects.all())
    assert {account.organisation_id for account in accounts} == {world.carrier.pk}
    # The clearing is listed (it touched the carrier's wallet), showing the carrier's entries only.
    page = client.get(
        reverse("admin:ledger_journaltransaction_change", args=[JournalTransaction.objects.get(external_id="clear").pk])
    )
    shown = [form.instance for form in page.context["inline_admin_formsets"][0].formset.forms]
    assert {entry.account.organisation_id for entry in shown} == {world.carrier.pk}
