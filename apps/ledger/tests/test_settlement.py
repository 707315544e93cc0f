"""Contracts and settlement: commission terms in force, account periods closed into statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from apps.access import Actor
from apps.billing.pricing import CommissionTerms
from apps.common.errors import ApplicationError
from apps.ledger import selectors, services
from apps.ledger.models import AccountPeriod, AccountPurpose, Contract, MovementType, Statement
from apps.ledger.services.settlement import period_containing
from apps.ledger.tests.factories import Parties, parties, top_up

pytestmark = pytest.mark.django_db

PLATFORM_ADMIN = Actor(user_id=1, platform_admin=True)
LOCAL = timezone.get_fixed_timezone(8 * 60)  # Asia/Shanghai has no daylight saving


def local(day: date, at: time = time(12)) -> datetime:
    return datetime.combine(day, at, tzinfo=LOCAL)


@pytest.fixture
def world() -> Parties:
    return parties()


def contract(world: Parties, **overrides) -> Contract:
    terms = {
        "actor": PLATFORM_ADMIN,
        "platform": world.platform,
        "party": world.operator,
        "commission_rate": Decimal("0.05"),
        "commission_min_fen": 100,
        "commission_max_fen": 2_000,
        "account_period": AccountPeriod.DAILY,
        "payment_terms_days": 1,
        "effective_from": date(2026, 1, 1),
    }
    return services.contract_create(**{**terms, **overrides})


# --- Contracts --------------------------------------------------------------------------
def test_commission_terms_come_from_the_contract_in_force(world: Parties) -> None:
    contract(world, effective_to=date(2026, 7, 1))

    assert selectors.commission_terms_for(organisation=world.operator, at=local(date(2026, 3, 1))) == CommissionTerms(
        rate=Decimal("0.05"), min_fen=100, max_fen=2_000
    )
    assert selectors.commission_terms_for(organisation=world.operator, at=local(date(2026, 7, 1))) is None
    assert selectors.commission_terms_for(organisation=world.operator, at=local(date(2025, 12, 31))) is None
    assert selectors.commission_terms_for(organisation=world.owner, at=local(date(2026, 3, 1))) is None


def test_the_local_date_decides_which_contract_is_in_force(world: Parties) -> None:
    contract(world, effective_from=date(2026, 3, 1))
    # 2026-02-28 16:30 UTC is already 1 March 00:30 in Shanghai.
    assert selectors.contract_in_force(organisation=world.operator, at=datetime(2026, 2, 28, 16, 30, tzinfo=UTC)) is not None
    assert selectors.contract_in_force(organisation=world.operator, at=datetime(2026, 2, 28, 15, 59, tzinfo=UTC)) is None


def test_a_new_contract_ends_the_open_ended_one_before_it(world: Parties) -> None:
    first = contract(world)
    second = contract(world, effective_from=date(2026, 6, 1), commission_rate=Decimal("0.04"))

    first.refresh_from_db()
    assert first.effective_to == date(2026, 6, 1)
    assert selectors.contract_in_force(organisation=world.operator, at=date(2026, 5, 31)) == first
    assert selectors.contract_in_force(organisation=world.operator, at=date(2026, 6, 1)) == second


def test_an_overlapping_contract_is_refused_and_changes_nothing(world: Parties) -> None:
    contract(world, effective_to=date(2026, 6, 1))
    with pytest.raises(ApplicationError) as refused:
        contract(world, effective_from=date(2026, 5, 1))
    assert (refused.value.code, refused.value.status_code) == ("contract_overlaps", 409)
    assert Contract.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"actor": Actor(user_id=1, operator_admin_of=frozenset())}, "permission_denied"),
        ({"commission_rate": Decimal("1.5")}, "commission_rate_invalid"),
        ({"commission_rate": 0.05}, "commission_rate_invalid"),
        ({"commission_min_fen": 300, "commission_max_fen": 200}, "commission_range_invalid"),
        ({"account_period": "fortnightly"}, "account_period_invalid"),
        ({"effective_to": date(2025, 1, 1)}, "contract_dates_invalid"),
    ],
)
def test_a_bad_contract_is_refused(world: Parties, overrides: dict, code: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        contract(world, **overrides)
    assert refused.value.code == code
    assert Contract.objects.count() == 0


def test_contracts_are_with_operators_and_owners_only(world: Parties) -> None:
    with pytest.raises(ApplicationError) as refused:
        contract(world, party=world.carrier)
    assert refused.value.code == "contract_party_invalid"


# --- Periods ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "day", "period"),
    [
        (AccountPeriod.DAILY, date(2026, 2, 28), (date(2026, 2, 28), date(2026, 3, 1))),
        (AccountPeriod.WEEKLY, date(2026, 3, 4), (date(2026, 3, 2), date(2026, 3, 9))),  # Wednesday → Monday
        (AccountPeriod.MONTHLY, date(2024, 2, 10), (date(2024, 2, 1), date(2024, 3, 1))),
        (AccountPeriod.MONTHLY, date(2026, 12, 31), (date(2026, 12, 1), date(2027, 1, 1))),
    ],
)
def test_periods_are_local_half_open_ranges(kind: str, day: date, period: tuple[date, date]) -> None:
    assert period_containing(kind, day) == period


# --- Statements -------------------------------------------------------------------------
def clear_on(world: Parties, moment: datetime, external_id: str) -> services.Payment:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        hold = services.hold_place(external_id=f"{external_id}:hold", payer=world.carrier, amount_fen=5_000)
        return services.order_clear(
            external_id=external_id,
            payer=world.carrier,
            bill_shares={world.operator: 3_040, world.owner: 513, world.platform: 187},
            commissions={world.operator: 160, world.owner: 27},
            hold=hold,
            reference=external_id,
        )


def test_a_daily_statement_lists_the_day_and_is_due_t_plus_n(world: Parties) -> None:
    contract(world, payment_terms_days=1)
    day = date(2026, 3, 10)
    with mock.patch("django.utils.timezone.now", return_value=local(day - timedelta(days=1))):
        top_up(world.carrier, 100_000)
        clear_on(world, local(day - timedelta(days=1)), "order-0")  # the day before: the opening balance
    clear_on(world, local(day, time(8)), "order-1")
    clear_on(world, local(day, time(23, 59, 59)), "order-2")
    clear_on(world, local(day + timedelta(days=1), time(0)), "order-3")  # the next day

    statement = services.statement_close(organisation=world.operator, period_start=day, now=local(day + timedelta(days=2)))

    assert (statement.account_period, statement.period_start, statement.period_end) == (
        AccountPeriod.DAILY,
        day,
        day + timedelta(days=1),
    )
    assert statement.opening_balance_fen == 3_040
    lines = list(
        statement.lines.order_by("posted_at", "movement_type").values_list(
            "journal_transaction__external_id", "movement_type", "amount_fen"
        )
    )
    assert lines == [
        ("order-1", MovementType.COMMISSION, -160),
        ("order-1", MovementType.SWAP_INCOME, 3_200),
        ("order-2", MovementType.COMMISSION, -160),
        ("order-2", MovementType.SWAP_INCOME, 3_200),
    ]
    assert statement.closing_balance_fen == 3_040 * 3
    assert statement.amount_payable_fen == 3_040 * 3
    assert statement.due_date == day + timedelta(days=1)  # T+1: the day after the period's last day
    assert selectors.statement_totals(statement=statement) == [
        {"movement_type": MovementType.COMMISSION, "amount_fen": -320},
        {"movement_type": MovementType.SWAP_INCOME, "amount_fen": 6_400},
    ]


def test_a_payer_statement_leaves_holds_out(world: Parties) -> None:
    day = date(2026, 3, 10)
    with mock.patch("django.utils.timezone.now", return_value=local(day, time(7))):
        top_up(world.carrier, 10_000)
    clear_on(world, local(day, time(8)), "order-1")

    statement = services.statement_close(organisation=world.carrier, period_start=date(2026, 3, 1), now=local(date(2026, 4, 2)))

    assert statement.account_period == AccountPeriod.MONTHLY
    assert list(statement.lines.order_by("posted_at").values_list("movement_type", "amount_fen")) == [
        (MovementType.TOP_UP, 10_000),
        (MovementType.SWAP_EXPENSE, -3_740),
    ]
    assert (statement.opening_balance_fen, statement.closing_balance_fen, statement.amount_payable_fen) == (0, 6_260, 0)


def test_closing_a_period_twice_gives_the_same_statement(world: Parties) -> None:
    contract(world)
    with mock.patch("django.utils.timezone.now", return_value=local(date(2026, 3, 10), time(7))):
        top_up(world.carrier, 10_000)
    clear_on(world, local(date(2026, 3, 10)), "order-1")
    later = local(date(2026, 3, 12))
    first = services.statement_close(organisation=world.operator, period_start=date(2026, 3, 10), now=later)
    again = services.statement_close(organisation=world.operator, period_start=date(2026, 3, 10), now=later)
    assert again.pk == first.pk
    assert Statement.objects.count() == 1
    assert first.lines.count() == 2


def test_an_open_period_is_not_closed(world: Parties) -> None:
    contract(world)
    day = date(2026, 3, 10)
    # Midnight has passed, but not the grace period for transactions still committing.
    with pytest.raises(ApplicationError) as refused:
        services.statement_close(organisation=world.operator, period_start=day, now=local(day + timedelta(days=1), time(0, 5)))
    assert (refused.value.code, refused.value.status_code) == ("period_open", 409)
    assert Statement.objects.count() == 0


def test_the_settlement_task_closes_every_ended_period_once(world: Parties) -> None:
    from apps.ledger.tasks import close_statements

    contract(world, account_period=AccountPeriod.WEEKLY, payment_terms_days=7)
    start = local(date(2026, 3, 2), time(9))  # a Monday
    with mock.patch("django.utils.timezone.now", return_value=start):
        top_up(world.carrier, 100_000)
        services.account_get(organisation=world.operator, purpose=AccountPurpose.RECEIVABLE)
    clear_on(world, local(date(2026, 3, 4)), "order-1")
    clear_on(world, local(date(2026, 3, 11)), "order-2")

    with mock.patch("django.utils.timezone.now", return_value=local(date(2026, 3, 17))):
        closed = close_statements.apply().get()
        assert close_statements.apply().get() == 0

    weeks = list(Statement.objects.filter(organisation=world.operator).order_by("period_start"))
    assert [(s.period_start, s.period_end, s.due_date) for s in weeks] == [
        (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 22)),
    ]
    assert [s.closing_balance_fen for s in weeks] == [3_040, 6_080]
    assert weeks[1].opening_balance_fen == weeks[0].closing_balance_fen
    # The carrier, the owner and the platform have no weekly contract: their month has not ended.
    assert closed == 2
    assert not Statement.objects.exclude(organisation=world.operator).exists()
