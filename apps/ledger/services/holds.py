"""Holds as two-phase transfers, bills paid from them, and debts.

A hold moves money from the payer's wallet to its held account (``hold_place``). It is
resolved exactly once:

- captured (``bill_pay``, used by ``hold_capture`` and ``order_clear``): in one database
  transaction the hold is emptied back into the wallet (a ``hold`` transaction) and the bill is
  paid from the wallet to its earners (the bill's own transaction: the one a refund reverses).
  Together they move min(bill, hold) out and release the rest. A bill above the hold takes the
  difference from what the wallet has above its floor; what it cannot cover is booked to the
  payer's payable account as a ``Debt``, which blocks the payer's next hold until it is paid;
- voided (cancel) or expired (``holds_expire``, a periodic task): all of it back to the wallet.

A second resolution is ``hold_already_resolved``; a retry of the same operation with the same
external id returns the first result.

Locks: accounts first (in the posting lock order), then the hold row, then debts: one order everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.accounts.models import Organisation
from apps.common.errors import ApplicationError
from apps.ledger import errors
from apps.ledger.models import (
    Account,
    AccountPurpose,
    Debt,
    DebtStatus,
    Hold,
    HoldStatus,
    JournalTransaction,
    MovementType,
)
from apps.ledger.services.posting import (
    AccountLock,
    Leg,
    Posting,
    Statement,
    batch_run,
    lock_accounts_for,
    once,
    refuse_taken,
    request_digest,
    require_external_id,
    require_fen,
    taken_ids,
    taken_ids_statement,
    transaction_id_sql,
    write,
    write_with,
)

# A hold not captured by then is voided by the periodic sweep (``holds_expire``). Captures are
# accepted until the sweep has run: a swap that completes late is still billed.
DEFAULT_HOLD_TTL = timedelta(hours=2)


@dataclass(frozen=True)
class Credit:
    """Money a bill pays into one organisation's account."""

    organisation: Organisation
    purpose: str
    amount_fen: int
    movement_type: str


@dataclass(frozen=True)
class Payment:
    """A paid bill: its transaction (None for a zero bill), the hold it captured, any debt."""

    transaction: JournalTransaction | None
    hold: Hold | None
    debt: Debt | None


def release_id(external_id: str) -> str:
    """The id of the ``hold`` transaction that empties a captured hold into the wallet."""
    return f"{external_id}:release"


# --- Placing ----------------------------------------------------------------------------
def hold_place(
    *, external_id: str, payer: Organisation, amount_fen: int, expires_at: datetime | None = None, reference: str = ""
) -> Hold:
    """Reserve ``amount_fen`` of the payer's wallet: wallet → held. Refused with
    ``debt_outstanding`` while the payer has an unpaid debt, ``insufficient_funds`` when the
    wallet (with its credit line) cannot cover it."""
    require_external_id(external_id)
    require_fen(amount_fen, positive=True)
    digest = request_digest("hold_place", payer=payer.pk, amount_fen=amount_fen)
    expires = expires_at or timezone.now() + DEFAULT_HOLD_TTL

    def place() -> Hold:
        # The hold and its transaction share the id and are written together. Reads and locks
        # in one batch: the id, the payer's accounts, then (under the wallet's lock: a capture
        # that books a debt holds the same lock) whether the payer owes a debt.
        lock = AccountLock.of([(payer, AccountPurpose.WALLET), (payer, AccountPurpose.HELD)])
        assert lock.statement is not None
        owes = Statement(
            f"SELECT 1 FROM {Debt._meta.db_table} WHERE organisation_id = %s AND status = %s LIMIT 1",  # noqa: S608
            [payer.pk, DebtStatus.OUTSTANDING],
            rows=True,
        )
        taken, account_rows, debts = batch_run([taken_ids_statement(external_id), lock.statement, owes])
        if taken:
            existing = Hold.objects.filter(external_id=external_id).first()
            if existing is None or existing.request_hash != digest:
                raise errors.transfer_id_conflict(external_id)
            return existing
        accounts, locked = lock.result(account_rows)
        if debts:
            raise errors.debt_outstanding()
        wallet, held = accounts[(payer.pk, AccountPurpose.WALLET)], accounts[(payer.pk, AccountPurpose.HELD)]
        hold = Hold(
            external_id=external_id,
            organisation=payer,
            amount_fen=amount_fen,
            expires_at=expires,
            reference=reference,
            request_hash=digest,
        )
        [placed], [inserted] = write_with(
            [Posting(external_id, MovementType.HOLD, [Leg(wallet, -amount_fen), Leg(held, amount_fen)], digest, reference)],
            locked,
            then=[_hold_insert(hold, external_id)],
        )
        assert inserted is not None
        hold.pk = inserted[0][0]
        hold.place_transaction = placed
        hold._state.adding = False
        hold._state.db = connection.alias
        return hold

    return once(place)


def _hold_insert(hold: Hold, place_external_id: str) -> Statement:
    """The insert of a new hold's row (every column as the model saves it), with its place
    transaction found by external id: it travels in the batch that writes that transaction."""
    columns, values, params = [], [], []
    for field in Hold._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.attname == "place_transaction_id":
            values.append(transaction_id_sql())
            params.append(place_external_id)
            continue
        values.append("%s")
        params.append(field.get_db_prep_save(field.pre_save(hold, True), connection))
    return Statement(
        f"INSERT INTO {Hold._meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(values)}) RETURNING id",  # noqa: S608
        params,
        rows=True,
    )


# --- Resolving --------------------------------------------------------------------------
# The hold's row is read under lock and written with plain SQL, as the accounts are: clearing
# an order is the ledger's hot path (bench/ledger_clearing.py).
_HOLD_STATE = ("status", "amount_fen", "organisation_id", "resolution_external_id", "resolution_hash")


def _hold_lock_statement(hold: Hold) -> Statement:
    """Lock the hold's row (after the accounts: one order everywhere) and read its state."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return Statement(
        f"SELECT {', '.join(_HOLD_STATE)} FROM {Hold._meta.db_table} WHERE id = %s{lock}",  # noqa: S608
        [hold.pk],
        rows=True,
    )


def _hold_refresh(hold: Hold, rows: list[tuple[Any, ...]] | None) -> None:
    if not rows:
        raise errors.posting_invalid("No such hold.")
    for name, value in zip(_HOLD_STATE, rows[0], strict=True):
        setattr(hold, name, value)


def _lock_hold(hold: Hold) -> None:
    """Lock the hold's row and refresh its state."""
    _hold_refresh(hold, batch_run([_hold_lock_statement(hold)])[0])


def _already_resolved(hold: Hold, external_id: str, digest: str) -> bool:
    """True when this very resolution happened before (a retry); refuses any other one."""
    if hold.status == HoldStatus.PENDING:
        return False
    if hold.resolution_external_id == external_id:
        if hold.resolution_hash != digest:
            raise errors.transfer_id_conflict(external_id)
        return True
    raise errors.hold_already_resolved()


def _resolution(
    hold: Hold,
    *,
    status: str,
    external_id: str,
    digest: str,
    release: str,
    capture: str | None,
    captured_fen: int,
) -> tuple[Statement, dict[str, Any]]:
    """The update that records the resolution on the (locked) hold, with the transactions (by
    external id: ``release`` and ``capture``) written in the same batch, and the new values."""
    now = timezone.now()
    values: dict[str, Any] = {
        "status": status,
        "captured_fen": captured_fen,
        "released_fen": hold.amount_fen - captured_fen,
        "resolved_at": now,
        "resolution_external_id": external_id,
        "resolution_hash": digest,
        "updated_at": now,
    }
    stamp = connection.ops.adapt_datetimefield_value(now)
    assignments = [f"{name} = %s" for name in values] + [
        f"release_transaction_id = {transaction_id_sql()}",
        f"capture_transaction_id = {transaction_id_sql() if capture else 'NULL'}",
    ]
    params = [stamp if isinstance(value, datetime) else value for value in values.values()] + [release]
    if capture:
        params.append(capture)
    statement = Statement(
        f"UPDATE {Hold._meta.db_table} SET {', '.join(assignments)} WHERE id = %s",  # noqa: S608
        [*params, hold.pk],
    )
    return statement, values


def _resolved(hold: Hold, values: dict[str, Any], release: JournalTransaction, capture: JournalTransaction | None) -> None:
    """Record on the instance what ``_resolution`` wrote."""
    for name, value in values.items():
        setattr(hold, name, value)
    hold.release_transaction = release
    hold.capture_transaction = capture


def _retried(hold: Hold, external_id: str, digest: str) -> Hold:
    """A resolution whose id is already posted: the same one again (returned), or a conflict."""
    current = Hold.objects.get(pk=hold.pk)
    if _already_resolved(current, external_id, digest):
        return current
    raise errors.transfer_id_conflict(external_id)


def _release(hold: Hold, *, external_id: str, status: str) -> tuple[Hold, bool]:
    """Void or expire: the whole hold back to the wallet. Runs inside ``once``. Returns the hold
    and whether this call released it (False: a retry of the same release)."""
    digest = request_digest(f"hold_{status}", hold=hold.pk)
    if taken_ids(external_id):
        return _retried(hold, external_id, digest), False
    payer = hold.organisation
    accounts, locked = lock_accounts_for([(payer, AccountPurpose.WALLET), (payer, AccountPurpose.HELD)])
    current = Hold.objects.get(pk=hold.pk)
    _lock_hold(current)
    if _already_resolved(current, external_id, digest):
        return current, False
    wallet, held = accounts[(payer.pk, AccountPurpose.WALLET)], accounts[(payer.pk, AccountPurpose.HELD)]
    legs = [Leg(held, -current.amount_fen), Leg(wallet, current.amount_fen)]
    resolution, values = _resolution(
        current, status=status, external_id=external_id, digest=digest, release=external_id, capture=None, captured_fen=0
    )
    [release], _ = write_with(
        [Posting(external_id, MovementType.HOLD, legs, digest, current.reference)], locked, then=[resolution]
    )
    _resolved(current, values, release, None)
    return current, True


def hold_void(*, hold: Hold, external_id: str) -> Hold:
    """Cancel a hold: all of it back to the wallet."""
    require_external_id(external_id)
    return once(partial(_release, hold, external_id=external_id, status=HoldStatus.VOIDED))[0]


def holds_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Void every pending hold past its expiry (at most ``limit`` per call, oldest first).
    Returns how many this call expired; a hold captured meanwhile is left as it is."""
    moment = now or timezone.now()
    expired = 0
    due = Hold.objects.filter(status=HoldStatus.PENDING, expires_at__lte=moment).order_by("expires_at", "pk")[:limit]
    for hold in due:
        try:
            _hold, released = once(partial(_release, hold, external_id=f"hold-expiry:{hold.pk}", status=HoldStatus.EXPIRED))
        except ApplicationError:
            continue  # captured or voided since it was read
        expired += released
    return expired


def bill_pay(
    *,
    external_id: str,
    payer: Organisation,
    credits: Sequence[Credit],
    hold: Hold | None,
    movement_type: str,
    digest: str,
    reference: str = "",
) -> Payment:
    """Pay a bill of sum(credits) from the payer: capture its hold (if any), take what is above
    the hold from the wallet, book what the wallet cannot cover as a debt. Runs inside ``once``.
    The hold given is updated in place."""
    payer_purposes = [AccountPurpose.WALLET, AccountPurpose.PAYABLE] + ([AccountPurpose.HELD] if hold else [])
    # One batch: the ids, then the locks (accounts first, then the hold: one order everywhere).
    lock = AccountLock.of(
        [(payer, purpose) for purpose in payer_purposes] + [(credit.organisation, credit.purpose) for credit in credits]
    )
    assert lock.statement is not None
    reads = [taken_ids_statement(external_id, release_id(external_id)) if hold is not None else taken_ids_statement(external_id)]
    reads.append(lock.statement)
    if hold is not None:
        reads.append(_hold_lock_statement(hold))
    results = batch_run(reads)
    taken: dict[str, str] = dict(results[0] or [])
    if external_id in taken:
        if taken[external_id] != digest:
            raise errors.transfer_id_conflict(external_id)
        existing = JournalTransaction.objects.get(external_id=external_id)
        return Payment(
            transaction=existing,
            hold=Hold.objects.filter(capture_transaction=existing).first(),
            debt=Debt.objects.filter(journal_transaction=existing).first(),
        )
    if hold is not None and taken:  # only the release is posted: a zero bill that captured the hold
        return Payment(transaction=None, hold=_retried(hold, external_id, digest), debt=None)
    if hold is not None and hold.organisation_id != payer.pk:
        raise errors.posting_invalid("The hold is not the payer's.")
    for credit in credits:  # an earner's commission is a negative credit to its own account
        if type(credit.amount_fen) is not int:
            raise errors.posting_invalid("Amounts are integer fen.")
    total = require_fen(sum(credit.amount_fen for credit in credits), what="bill")
    accounts, locked = lock.result(results[1])
    wallet = accounts[(payer.pk, AccountPurpose.WALLET)]
    postings: list[Posting] = []
    held_fen = 0
    if hold is not None:
        _hold_refresh(hold, results[2])
        if _already_resolved(hold, external_id, digest):
            return Payment(transaction=None, hold=hold, debt=None)
        held_fen = hold.amount_fen
        held = accounts[(payer.pk, AccountPurpose.HELD)]
        postings.append(
            Posting(release_id(external_id), MovementType.HOLD, [Leg(held, -held_fen), Leg(wallet, held_fen)], digest, reference)
        )
    # What the wallet can give once the hold is back in it; the rest of the bill is a debt.
    floor = wallet.floor_fen
    from_wallet = total if floor is None else min(total, max(wallet.balance_fen + held_fen - floor, 0))
    shortfall = total - from_wallet
    if total > 0:
        legs = [Leg(accounts[(c.organisation.pk, c.purpose)], c.amount_fen, c.movement_type) for c in credits if c.amount_fen]
        if from_wallet:
            legs.append(Leg(wallet, -from_wallet))
        if shortfall:
            legs.append(Leg(accounts[(payer.pk, AccountPurpose.PAYABLE)], -shortfall))
        postings.append(Posting(external_id, movement_type, legs, digest, reference))
    then: list[Statement] = []
    values: dict[str, Any] = {}
    if hold is not None:
        resolution, values = _resolution(
            hold,
            status=HoldStatus.CAPTURED,
            external_id=external_id,
            digest=digest,
            release=release_id(external_id),
            capture=external_id if total > 0 else None,
            captured_fen=min(total, held_fen),
        )
        then.append(resolution)
    written, _ = write_with(postings, locked, then=then)
    bill = written[-1] if total > 0 else None
    if hold is not None:
        _resolved(hold, values, written[0], bill)
    debt = None
    if shortfall and bill is not None:
        debt = Debt.objects.create(organisation=payer, amount_fen=shortfall, journal_transaction=bill)
    return Payment(transaction=bill, hold=hold, debt=debt)


def hold_capture(
    *,
    hold: Hold,
    amount_fen: int,
    external_id: str,
    destination: Account,
    movement_type: str = MovementType.SWAP_EXPENSE,
) -> Payment:
    """Capture a bill of ``amount_fen`` into one account (``order_clear`` splits it among earners):
    up to the hold from the hold, the rest released to the wallet at once; a bill above the hold
    as ``bill_pay`` says."""
    require_external_id(external_id)
    require_fen(amount_fen)
    digest = request_digest(
        "hold_capture", hold=hold.pk, amount_fen=amount_fen, destination=destination.pk, movement_type=movement_type
    )
    credit = Credit(destination.organisation, destination.purpose, amount_fen, movement_type)
    if destination.organisation_id == hold.organisation_id:
        raise errors.posting_invalid("A hold is captured into another organisation's account.")
    return once(
        lambda: bill_pay(
            external_id=external_id,
            payer=hold.organisation,
            credits=[credit],
            hold=hold,
            movement_type=movement_type,
            digest=digest,
            reference=hold.reference,
        )
    )


# --- Debts ------------------------------------------------------------------------------
def debt_pay(*, debt: Debt, external_id: str) -> Debt:
    """Pay an outstanding debt from the wallet (wallet → payable); ``insufficient_funds`` if it
    cannot. A retry with the same id returns the paid debt."""
    require_external_id(external_id)
    digest = request_digest("debt_pay", debt=debt.pk)

    def pay() -> Debt:
        current = Debt.objects.select_related("settled_transaction").get(pk=debt.pk)
        if current.status != DebtStatus.OUTSTANDING:
            settled = current.settled_transaction
            if settled is not None and settled.external_id == external_id and settled.request_hash == digest:
                return current
            raise errors.debt_already_settled()
        refuse_taken(external_id)
        payer = current.organisation
        accounts, locked = lock_accounts_for([(payer, AccountPurpose.WALLET), (payer, AccountPurpose.PAYABLE)])
        current = Debt.objects.select_for_update().get(pk=debt.pk)
        if current.status != DebtStatus.OUTSTANDING:
            raise errors.debt_already_settled()
        legs = [
            Leg(accounts[(payer.pk, AccountPurpose.WALLET)], -current.amount_fen),
            Leg(accounts[(payer.pk, AccountPurpose.PAYABLE)], current.amount_fen),
        ]
        [paid] = write([Posting(external_id, MovementType.ADJUSTMENT, legs, digest)], locked)
        current.status = DebtStatus.PAID
        current.settled_transaction = paid
        current.settled_at = timezone.now()
        current.save(update_fields=["status", "settled_transaction", "settled_at", "updated_at"])
        return current

    return once(pay)
