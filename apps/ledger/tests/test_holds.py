"""Holds as two-phase transfers (RELIABILITY.md #4): place, capture, void, expire; each resolves
exactly once; a bill above the hold comes from the wallet or becomes a debt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import AccountPurpose, Debt, DebtStatus, Hold, HoldStatus, JournalTransaction, MovementType
from apps.ledger.tests.factories import (
    Parties,
    account,
    assert_ledger_invariants,
    balance,
    held,
    ledger_snapshot,
    parties,
    top_up,
    wallet,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> Parties:
    return parties()


def place(world: Parties, amount_fen: int = 5_000, external_id: str = "order-1:hold") -> Hold:
    return services.hold_place(external_id=external_id, payer=world.carrier, amount_fen=amount_fen)


def capture(world: Parties, hold: Hold, amount_fen: int, external_id: str = "order-1:bill") -> services.Payment:
    return services.hold_capture(
        hold=hold,
        amount_fen=amount_fen,
        external_id=external_id,
        destination=account(world.operator, AccountPurpose.RECEIVABLE),
    )


def test_a_hold_moves_the_amount_from_the_wallet_to_held(world: Parties) -> None:
    top_up(world.carrier, 8_000)

    hold = place(world)

    assert (hold.status, hold.amount_fen) == (HoldStatus.PENDING, 5_000)
    assert (wallet(world.carrier), held(world.carrier)) == (3_000, 5_000)
    assert hold.place_transaction.movement_type == MovementType.HOLD
    assert_ledger_invariants()


# --- RELIABILITY.md #4 ------------------------------------------------------------------
def test_a_hold_of_5000_captured_for_a_bill_of_3740_captures_3740_and_releases_1260(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world, 5_000)

    payment = capture(world, hold, 3_740)

    hold.refresh_from_db()
    assert (hold.status, hold.captured_fen, hold.released_fen) == (HoldStatus.CAPTURED, 3_740, 1_260)
    assert hold.resolved_at is not None
    assert (wallet(world.carrier), held(world.carrier)) == (1_260, 0)
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 3_740
    assert sorted(payment.transaction.entries.values_list("amount_fen", flat=True)) == [-3_740, 3_740]
    # One database transaction wrote both: the release and the bill share the hold's resolution.
    assert hold.release_transaction is not None
    assert hold.capture_transaction_id == payment.transaction.pk
    assert payment.debt is None
    assert_ledger_invariants()


def test_a_second_capture_of_a_hold_is_refused_and_changes_nothing(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world)
    capture(world, hold, 3_740)
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as refused:
        capture(world, hold, 3_740, external_id="order-1:bill-again")

    assert (refused.value.code, refused.value.status_code) == ("hold_already_resolved", 409)
    assert ledger_snapshot() == before


def test_a_retried_capture_with_the_same_id_returns_the_first_result(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world)
    first = capture(world, hold, 3_740)
    before = ledger_snapshot()

    again = capture(world, hold, 3_740)

    assert (again.transaction.pk, again.hold.pk) == (first.transaction.pk, hold.pk)
    assert ledger_snapshot() == before


def test_a_retried_capture_with_the_same_id_and_another_amount_is_a_conflict(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world)
    capture(world, hold, 3_740)
    with pytest.raises(ApplicationError) as refused:
        capture(world, hold, 3_741)
    assert refused.value.code == "transfer_id_conflict"


def test_void_returns_the_whole_hold_and_a_second_void_is_refused(world: Parties) -> None:
    top_up(world.carrier, 6_000)
    hold = place(world)

    voided = services.hold_void(hold=hold, external_id="order-1:cancel")

    assert (voided.status, voided.released_fen, voided.captured_fen) == (HoldStatus.VOIDED, 5_000, 0)
    assert (wallet(world.carrier), held(world.carrier)) == (6_000, 0)
    assert services.hold_void(hold=hold, external_id="order-1:cancel").pk == hold.pk  # a retry
    with pytest.raises(ApplicationError) as refused:
        services.hold_void(hold=hold, external_id="order-1:cancel-again")
    assert refused.value.code == "hold_already_resolved"
    with pytest.raises(ApplicationError) as after_void:
        capture(world, hold, 100)
    assert after_void.value.code == "hold_already_resolved"
    assert_ledger_invariants()


def test_expiry_voids_the_holds_past_their_time_only(world: Parties) -> None:
    top_up(world.carrier, 10_000)
    now = timezone.now()
    late = services.hold_place(external_id="late", payer=world.carrier, amount_fen=1_000, expires_at=now - timedelta(seconds=1))
    fresh = services.hold_place(external_id="fresh", payer=world.carrier, amount_fen=2_000, expires_at=now + timedelta(hours=1))

    assert services.holds_expire(now=now) == 1
    assert services.holds_expire(now=now) == 0

    late.refresh_from_db()
    fresh.refresh_from_db()
    assert (late.status, fresh.status) == (HoldStatus.EXPIRED, HoldStatus.PENDING)
    assert (wallet(world.carrier), held(world.carrier)) == (8_000, 2_000)
    assert_ledger_invariants()


def test_the_expiry_task_calls_the_service(world: Parties) -> None:
    from apps.ledger.tasks import expire_holds

    top_up(world.carrier, 1_000)
    services.hold_place(
        external_id="late", payer=world.carrier, amount_fen=1_000, expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert expire_holds.apply().get() == 1
    assert held(world.carrier) == 0


def test_a_hold_larger_than_the_wallet_is_insufficient_funds_and_changes_nothing(world: Parties) -> None:
    top_up(world.carrier, 4_999)
    account(world.carrier, AccountPurpose.HELD)
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        place(world, 5_000)
    assert refused.value.code == "insufficient_funds"
    assert ledger_snapshot() == before


def test_the_same_hold_id_is_one_hold_and_another_amount_is_a_conflict(world: Parties) -> None:
    top_up(world.carrier, 10_000)
    first = place(world, 5_000)
    assert place(world, 5_000).pk == first.pk
    with pytest.raises(ApplicationError) as refused:
        place(world, 4_000)
    assert refused.value.code == "transfer_id_conflict"
    assert Hold.objects.count() == 1
    assert wallet(world.carrier) == 5_000


def test_a_bill_above_the_hold_takes_the_difference_from_the_wallet(world: Parties) -> None:
    top_up(world.carrier, 6_000)
    hold = place(world, 5_000)

    payment = capture(world, hold, 5_600)

    hold.refresh_from_db()
    assert (hold.captured_fen, hold.released_fen) == (5_000, 0)
    assert (wallet(world.carrier), held(world.carrier)) == (400, 0)
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 5_600
    assert payment.debt is None
    assert_ledger_invariants()


def test_a_bill_above_hold_and_wallet_records_a_debt_that_blocks_the_next_hold_until_paid(world: Parties) -> None:
    top_up(world.carrier, 5_200)
    hold = place(world, 5_000)

    payment = capture(world, hold, 5_500)

    assert payment.debt is not None
    assert (payment.debt.amount_fen, payment.debt.status) == (300, DebtStatus.OUTSTANDING)
    assert (wallet(world.carrier), balance(world.carrier, AccountPurpose.PAYABLE)) == (0, -300)
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 5_500
    assert_ledger_invariants()

    top_up(world.carrier, 10_000)
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as blocked:
        place(world, 1_000, external_id="order-2:hold")
    assert (blocked.value.code, blocked.value.status_code) == ("debt_outstanding", 402)
    assert ledger_snapshot() == before

    paid = services.debt_pay(debt=payment.debt, external_id="debt-1:pay")
    assert paid.status == DebtStatus.PAID
    assert services.debt_pay(debt=payment.debt, external_id="debt-1:pay").pk == paid.pk
    assert (wallet(world.carrier), balance(world.carrier, AccountPurpose.PAYABLE)) == (9_700, 0)
    assert place(world, 1_000, external_id="order-2:hold").status == HoldStatus.PENDING
    assert_ledger_invariants()


def test_a_debt_the_wallet_cannot_pay_stays_outstanding(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    hold = place(world, 1_000)
    debt = capture(world, hold, 1_500).debt
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.debt_pay(debt=debt, external_id="pay")
    assert refused.value.code == "insufficient_funds"
    assert ledger_snapshot() == before
    assert Debt.objects.get().status == DebtStatus.OUTSTANDING


def test_a_zero_bill_releases_the_whole_hold(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world)

    payment = capture(world, hold, 0)

    assert payment.transaction is None
    hold.refresh_from_db()
    assert (hold.status, hold.captured_fen, hold.released_fen) == (HoldStatus.CAPTURED, 0, 5_000)
    assert wallet(world.carrier) == 5_000
    assert capture(world, hold, 0).hold.pk == hold.pk  # a retry
    assert_ledger_invariants()


def test_a_capture_id_used_by_another_transfer_is_a_conflict(world: Parties) -> None:
    top_up(world.carrier, 5_000)
    hold = place(world)
    taken = JournalTransaction.objects.get(movement_type=MovementType.TOP_UP).external_id
    with pytest.raises(ApplicationError) as refused:
        capture(world, hold, 100, external_id=taken)
    assert refused.value.code == "transfer_id_conflict"
    hold.refresh_from_db()
    assert hold.status == HoldStatus.PENDING
