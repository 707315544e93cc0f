"""RELIABILITY.md #10: a seeded hypothesis state machine over top-ups, holds, captures (order
clearings), voids, expiry, refunds, reversals, debt payments and duplicates (a past request sent
again with its external id). After every step: every transaction sums to zero, all balances sum
to zero per currency, every balance is the sum of its entries, no wallet is below its floor, the
held accounts hold exactly the pending holds, and every hold was resolved at most once. A failing
run replays from the seed (``@seed``; hypothesis prints the steps)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind
from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import Debt, DebtStatus, Hold, HoldStatus, JournalTransaction, MovementType
from apps.ledger.tests.factories import assert_ledger_invariants, ledger_snapshot, organisation, parties

pytestmark = pytest.mark.django_db

# What the runs did, to show they reached every path (the seed makes it the same every time).
SEEN: Counter[str] = Counter()
# Refusals a step may meet; any other error fails the run.
EXPECTED_REFUSALS = {
    "insufficient_funds",
    "debt_outstanding",
    "hold_already_resolved",
    "transaction_already_reversed",
    "debt_already_settled",
}


@seed(20_260_510)
class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    clearings = Bundle("clearings")
    top_ups = Bundle("top_ups")

    def __init__(self) -> None:
        super().__init__()
        # Each run in its own savepoint, rolled back at the end: runs do not see each other.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        world = parties()
        self.platform, self.operator, self.owner = world.platform, world.operator, world.owner
        # The second payer has a credit line: its wallet may go down to -3,000 fen.
        self.payers: list[Organisation] = [world.carrier, organisation(OrganisationKind.CARRIER)]
        services.wallet_credit_line_set(
            actor=Actor(user_id=None, platform_admin=True), organisation=self.payers[1], credit_line_fen=3_000
        )
        for payer in self.payers:  # something to hold from the first step on
            services.wallet_top_up(external_id=f"opening-{payer.pk}", payer=payer, amount_fen=20_000)
        self.serial = 0
        self.done: list[tuple[Callable[[], Any], Any]] = []  # successful requests and what they returned

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.serial}"

    def attempt(self, request: Callable[[], Any]) -> Any:
        """Run a request; remember it if it succeeded (for duplicates); None if refused."""
        try:
            result = request()
        except ApplicationError as refused:
            if refused.code not in EXPECTED_REFUSALS:
                raise
            event(f"refused: {refused.code}")
            SEEN[refused.code] += 1
            return None
        event(f"done: {type(result).__name__}")
        SEEN[type(result).__name__] += 1
        self.done.append((request, result))
        return result

    def shares(self, bill: int) -> dict[Organisation, int]:
        commission = bill // 20
        owner = (bill - commission) // 5
        return {self.operator: bill - commission - owner, self.owner: owner, self.platform: commission}

    # --- Rules --------------------------------------------------------------------------
    @rule(target=top_ups, payer=st.integers(0, 1), amount=st.integers(1, 20_000))
    def top_up(self, payer: int, amount: int) -> Any:
        external_id = self.next_id("top-up")
        posted = self.attempt(
            lambda: services.wallet_top_up(external_id=external_id, payer=self.payers[payer], amount_fen=amount)
        )
        return posted if posted is not None else multiple()

    @initialize(target=holds, payer=st.integers(0, 1), amount=st.integers(1, 10_000))
    def first_hold(self, payer: int, amount: int) -> Any:
        return self.hold(payer, amount)

    @rule(target=holds, payer=st.integers(0, 1), amount=st.integers(1, 10_000))
    def hold(self, payer: int, amount: int) -> Any:
        external_id = self.next_id("hold")
        placed = self.attempt(lambda: services.hold_place(external_id=external_id, payer=self.payers[payer], amount_fen=amount))
        return placed if placed is not None else multiple()

    # A capture takes its hold out of play; a void leaves it, so that later captures and voids
    # of it meet a resolved hold. Bills reach past hold and wallet: debts.
    @rule(target=clearings, hold=consumes(holds), bill=st.integers(0, 40_000))
    def capture(self, hold: Hold, bill: int) -> Any:
        external_id = self.next_id("clear")
        payer = hold.organisation
        shares = self.shares(bill)
        payment = self.attempt(
            lambda: services.order_clear(
                external_id=external_id,
                payer=payer,
                bill_shares=shares,
                commissions={self.operator: shares[self.platform]},
                hold=hold,
            )
        )
        if payment is None or payment.transaction is None:
            return multiple()
        return payment.transaction

    @rule(target=clearings, payer=st.integers(0, 1), quote=st.integers(1, 10_000), bill=st.integers(0, 40_000))
    def order(self, payer: int, quote: int, bill: int) -> Any:
        """A whole swap order: the quote held at scan, the bill cleared at completion."""
        placed = self.hold(payer, quote)
        return multiple() if not isinstance(placed, Hold) else self.capture(placed, bill)

    @rule(hold=holds)
    def void(self, hold: Hold) -> None:
        external_id = self.next_id("void")
        self.attempt(lambda: services.hold_void(hold=hold, external_id=external_id))

    @rule(sweep=st.integers(0, 9))
    def expire(self, sweep: int) -> None:
        # Most sweeps find nothing due; one in ten runs late enough to expire every pending hold.
        late = services.DEFAULT_HOLD_TTL + timedelta(minutes=1) if sweep == 9 else timedelta(0)
        services.holds_expire(now=timezone.now() + late)

    @rule(clearing=consumes(clearings), correct=st.booleans())
    def refund(self, clearing: JournalTransaction, correct: bool) -> None:
        external_id = self.next_id("refund")
        # The payer's entries are the bill's expense (from the wallet, and payable for a debt).
        payer = clearing.entries.filter(movement_type=MovementType.SWAP_EXPENSE).first().account.organisation
        corrected = self.shares(1_000) if correct else None
        self.attempt(
            lambda: services.order_refund(
                external_id=external_id,
                payer=payer,
                original=clearing,
                corrected_shares=corrected,
                corrected_commissions={self.operator: corrected[self.platform]} if corrected else None,
            )
        )

    @rule(top_up=consumes(top_ups))
    def reverse_a_top_up(self, top_up: JournalTransaction) -> None:
        external_id = self.next_id("reverse")
        self.attempt(lambda: services.transaction_reverse(original=top_up, external_id=external_id))

    @rule(payer=st.integers(0, 1), top_up_first=st.booleans())
    def pay_debts(self, payer: int, top_up_first: bool) -> None:
        debts = list(Debt.objects.filter(organisation=self.payers[payer], status=DebtStatus.OUTSTANDING))
        SEEN["debts outstanding"] += len(debts)
        if debts and top_up_first:
            owed = sum(debt.amount_fen for debt in debts)
            services.wallet_top_up(external_id=self.next_id("top-up"), payer=self.payers[payer], amount_fen=owed)
        for debt in debts:
            external_id = self.next_id("pay")
            self.attempt(lambda debt=debt, external_id=external_id: services.debt_pay(debt=debt, external_id=external_id))

    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        """A request that succeeded, sent again with its id: the same result, nothing new."""
        if not self.done:
            return
        request, first = data.draw(st.sampled_from(self.done))
        before = ledger_snapshot()
        again = request()
        assert _identity(again) == _identity(first)
        assert ledger_snapshot() == before
        SEEN["duplicate"] += 1

    # --- Invariants ---------------------------------------------------------------------
    @invariant()
    def money_is_neither_created_nor_lost(self) -> None:
        assert_ledger_invariants()

    @invariant()
    def every_hold_is_resolved_at_most_once(self) -> None:
        # A hold moves money between wallet and held once when placed and once when resolved:
        # a second resolution would be one hold-type transaction too many.
        resolved = Hold.objects.exclude(status=HoldStatus.PENDING)
        assert (
            JournalTransaction.objects.filter(movement_type=MovementType.HOLD).count() == Hold.objects.count() + resolved.count()
        )
        assert not resolved.filter(release_transaction__isnull=True).exists()


def _identity(result: Any) -> Any:
    """What makes two results the same: the rows they name."""
    if isinstance(result, services.Payment):
        return (_identity(result.transaction), _identity(result.hold), _identity(result.debt))
    if isinstance(result, services.Refund):
        return (result.reversal.pk, None if result.correction is None else _identity(result.correction))
    return None if result is None else (type(result).__name__, result.pk)


def test_the_ledger_state_machine_keeps_its_invariants() -> None:
    SEEN.clear()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The runs went everywhere: every kind of request succeeded, and was refused, somewhere.
    for outcome in ["JournalTransaction", "Hold", "Payment", "Refund", "Debt", "duplicate", "debts outstanding"]:
        assert SEEN[outcome] > 0, (outcome, SEEN)
    for refusal in ["insufficient_funds", "hold_already_resolved", "debt_outstanding"]:
        assert SEEN[refusal] > 0, (refusal, SEEN)
