"""Payouts at settlement: a due statement's payable amount goes to the party — by a Stripe
Connect transfer (recorded answers at the library's HTTP seam) where it has a connected account,
otherwise into the bank-transfer CSV — and every payout is posted in the ledger."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.access import Actor
from apps.ledger import services as ledger_services
from apps.ledger.models import AccountPeriod, AccountPurpose, Statement
from apps.ledger.tests.factories import Parties, assert_ledger_invariants, balance, parties
from apps.payments import services
from apps.payments.models import Payout, PayoutAccount, PayoutMethod, PayoutStatus
from apps.payments.tests.factories import use_stripe

pytestmark = pytest.mark.django_db

LOCAL = timezone.get_fixed_timezone(8 * 60)
TERMS_DAYS = 2


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LOCAL)


@pytest.fixture
def world() -> Parties:
    world = parties()
    for party in (world.operator, world.owner):
        ledger_services.contract_create(
            actor=Actor(user_id=None, platform_admin=True),
            platform=world.platform,
            party=party,
            commission_rate=Decimal("0"),
            account_period=AccountPeriod.DAILY,
            payment_terms_days=TERMS_DAYS,
            effective_from=date(2020, 1, 1),
        )
    ledger_services.wallet_top_up(external_id="top-up-1", payer=world.carrier, amount_fen=100_000)
    ledger_services.order_clear(
        external_id="order-1", payer=world.carrier, bill_shares={world.operator: 3_420, world.owner: 1_580}
    )
    return world


def closed(world: Parties, party) -> Statement:
    today = timezone.localdate()
    return ledger_services.statement_close(organisation=party, period_start=today, now=at(today + timedelta(days=1)))


def due_day() -> datetime:
    return at(timezone.localdate() + timedelta(days=TERMS_DAYS))


def test_a_party_with_a_connected_account_is_paid_by_a_stripe_transfer(settings, world: Parties) -> None:
    http = use_stripe(settings)
    PayoutAccount.objects.create(organisation=world.operator, stripe_account_id="acct_1QrecordedOperator")
    statement = closed(world, world.operator)
    assert statement.amount_payable_fen == 3_420
    http.answer("post", "/v1/transfers", "transfer_created.json", transfer_group=f"statement-{statement.pk}")

    assert services.payouts_run(now=due_day() - timedelta(days=1)) == 0  # not due yet
    assert services.payouts_run(now=due_day()) == 1

    payout = Payout.objects.get(statement=statement)
    assert (payout.method, payout.status, payout.amount_fen) == (PayoutMethod.STRIPE_TRANSFER, PayoutStatus.PAID, 3_420)
    assert payout.provider_transfer_id == "tr_1QrecordedPayout01"
    [sent] = http.requests
    assert (sent.method, sent.path) == ("post", "/v1/transfers")
    assert sent.headers["Idempotency-Key"] == f"swapnet-payout-{payout.public_id}"
    assert sent.form == {
        "amount": "3420",
        "currency": "cny",
        "destination": "acct_1QrecordedOperator",
        "metadata[swapnet_payout]": str(payout.public_id),
        "metadata[swapnet_statement]": str(statement.pk),
        "transfer_group": f"statement-{statement.pk}",
    }
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 0
    assert balance(world.platform, AccountPurpose.PROVIDER_CLEARING) == -100_000 + 3_420
    assert payout.journal_transaction.reference == f"payout:{payout.public_id}"
    assert services.payouts_run(now=due_day()) == 0  # once per statement
    assert len(http.requests) == 1
    assert_ledger_invariants()


def test_a_refused_transfer_is_reversed_and_marked_failed(settings, world: Parties) -> None:
    http = use_stripe(settings)
    PayoutAccount.objects.create(organisation=world.operator, stripe_account_id="acct_1QrecordedOperator")
    statement = closed(world, world.operator)
    http.answer("post", "/v1/transfers", "error_balance_insufficient.json", status=400)

    services.payouts_run(now=due_day())

    payout = Payout.objects.get(statement=statement)
    assert payout.status == PayoutStatus.FAILED
    assert payout.failure_message.startswith("You have insufficient available funds")
    assert payout.reversal_transaction is not None
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 3_420  # paid with the next statement
    assert_ledger_invariants()


def test_an_unanswered_transfer_is_asked_again_with_the_same_key(settings, world: Parties) -> None:
    http = use_stripe(settings)
    PayoutAccount.objects.create(organisation=world.operator, stripe_account_id="acct_1QrecordedOperator")
    closed(world, world.operator)
    http.answer("post", "/v1/transfers", "error_api_error.json", status=500)
    services.payouts_run(now=due_day())
    assert Payout.objects.get().status == PayoutStatus.PENDING

    http.answer("post", "/v1/transfers", "transfer_created.json")
    services.payouts_run(now=due_day())

    assert Payout.objects.get().status == PayoutStatus.PAID
    assert http.requests[0].headers["Idempotency-Key"] == http.requests[1].headers["Idempotency-Key"]
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 0


def test_a_party_without_a_connected_account_is_exported_for_a_bank_transfer(settings, world: Parties, tmp_path) -> None:
    http = use_stripe(settings)
    PayoutAccount.objects.create(
        organisation=world.owner,
        bank_account_name="北方电池银行有限公司",
        bank_name="中国工商银行沧州分行",
        bank_account_number="0408001009300012345",
    )
    statement = closed(world, world.owner)

    services.payouts_run(now=due_day())

    payout = Payout.objects.get(statement=statement)
    assert (payout.method, payout.status) == (PayoutMethod.BANK_TRANSFER, PayoutStatus.AWAITING_EXPORT)
    assert balance(world.owner, AccountPurpose.RECEIVABLE) == 0
    assert http.requests == []
    output = tmp_path / "payouts.csv"
    call_command("export_bank_payouts", output=output)
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert [
        (r["organisation_code"], r["account_holder"], r["account_number"], r["amount_fen"], r["amount_cny"]) for r in rows
    ] == [(world.owner.code, "北方电池银行有限公司", "0408001009300012345", "1580", "15.80")]
    assert rows[0]["reference"] == f"payout:{payout.public_id}"
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.EXPORTED
    assert services.payouts_bank_export().splitlines()[1:] == []  # exported once
    assert_ledger_invariants()


def test_an_unpaid_statement_is_not_paid_twice_through_the_next_one(settings, world: Parties) -> None:
    use_stripe(settings)
    today = timezone.localdate()
    first = closed(world, world.owner)
    # The next day's statement, closed before the first was paid out: its payable includes the first's.
    second = ledger_services.statement_close(
        organisation=world.owner, period_start=today + timedelta(days=1), now=at(today + timedelta(days=2))
    )
    assert (first.amount_payable_fen, second.amount_payable_fen) == (1_580, 1_580)

    services.payouts_run(now=at(today + timedelta(days=1 + TERMS_DAYS)))

    assert sorted(Payout.objects.values_list("statement_id", "amount_fen", "status")) == [
        (first.pk, 1_580, PayoutStatus.AWAITING_EXPORT),
        (second.pk, 0, PayoutStatus.SKIPPED),
    ]
    assert balance(world.owner, AccountPurpose.RECEIVABLE) == 0
    assert_ledger_invariants()
