"""Clearing a completed order to its earners, and refunds and corrections by reversal.

``order_clear`` takes the bill as the billing module computed it: what each party receives
(``Bill.shares()``: commission already moved to the platform, summing to the total), keyed by
organisation, and optionally the commission each earner paid out of its share (so that its
statement shows its gross income and the commission separately). In one database transaction it
captures the payer's hold and posts one balanced transaction:

    payer's wallet (and payable, for a debt)        − total           swap_expense
    each earner's receivable                        + share (+ commission)   swap_income
    each earner's receivable                        − commission      commission
    the platform's commission account               + commission      commission
    the platform's revenue account                  + its own lines   swap_income

The ledger splits nothing itself: every amount is the billing module's, so the parties' shares
sum to the bill exactly and any remainder is where billing put it.

A refund, or a corrected bill, is a reversal (a new transaction with every entry negated, linked
to the original) plus, for a correction, a new posting of the corrected bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from apps.accounts.models import Organisation, OrganisationKind
from apps.ledger import errors
from apps.ledger.models import AccountPurpose, Debt, DebtStatus, Hold, JournalTransaction, MovementType
from apps.ledger.services.holds import Credit, Payment, bill_pay
from apps.ledger.services.posting import (
    Leg,
    Posting,
    account_get,
    lock_accounts,
    once,
    refuse_taken,
    replayed,
    request_digest,
    require_external_id,
    require_fen,
    write,
)


@dataclass(frozen=True)
class Refund:
    reversal: JournalTransaction
    correction: Payment | None  # the corrected bill, when there is one


def clearing_credits(
    *, payer: Organisation, bill_shares: Mapping[Organisation, int], commissions: Mapping[Organisation, int] | None = None
) -> list[Credit]:
    """The credits of a bill, in a canonical order (by organisation id, then purpose)."""
    commissions = dict(commissions or {})
    platforms = [organisation for organisation in bill_shares if organisation.kind == OrganisationKind.PLATFORM]
    if len(platforms) > 1:
        raise errors.posting_invalid("A bill has at most one platform among its earners.")
    if payer in bill_shares:
        raise errors.posting_invalid("The payer cannot be one of the bill's earners.")
    for organisation, amount in commissions.items():
        require_fen(amount, what="commission")
        if organisation not in bill_shares or organisation.kind == OrganisationKind.PLATFORM:
            raise errors.posting_invalid("Commission is paid by the bill's earners other than the platform.")
    commission_total = sum(commissions.values())
    if commission_total and not platforms:
        raise errors.posting_invalid("Commission goes to the platform, which is not among the bill's earners.")
    credits: list[Credit] = []
    for organisation in sorted(bill_shares, key=lambda organisation: organisation.pk):
        share = require_fen(bill_shares[organisation], what="share")
        if organisation.kind == OrganisationKind.PLATFORM:
            # Without a breakdown, the platform's share is its commission (PRODUCT.md).
            commission = commission_total if commissions else share
            if commission > share:
                raise errors.posting_invalid("The platform's share is smaller than the commission it receives.")
            credits.append(Credit(organisation, AccountPurpose.PLATFORM_COMMISSION, commission, MovementType.COMMISSION))
            credits.append(Credit(organisation, AccountPurpose.REVENUE, share - commission, MovementType.SWAP_INCOME))
            continue
        commission = commissions.get(organisation, 0)
        credits.append(Credit(organisation, AccountPurpose.RECEIVABLE, share + commission, MovementType.SWAP_INCOME))
        if commission:
            credits.append(Credit(organisation, AccountPurpose.RECEIVABLE, -commission, MovementType.COMMISSION))
    return [credit for credit in credits if credit.amount_fen]


def _clearing_digest(
    operation: str,
    *,
    payer: Organisation,
    bill_shares: Mapping[Organisation, int],
    commissions: Mapping[Organisation, int] | None,
    hold: Hold | None,
) -> str:
    return request_digest(
        operation,
        payer=payer.pk,
        hold=None if hold is None else hold.pk,
        shares=sorted((organisation.pk, amount) for organisation, amount in bill_shares.items()),
        commissions=sorted((organisation.pk, amount) for organisation, amount in (commissions or {}).items()),
    )


def order_clear(
    *,
    external_id: str,
    payer: Organisation,
    bill_shares: Mapping[Organisation, int],
    hold: Hold | None = None,
    commissions: Mapping[Organisation, int] | None = None,
    reference: str = "",
) -> Payment:
    """Clear a completed order: capture the payer's hold and move the bill to its earners in one
    database transaction. Idempotent on ``external_id``. A bill of 0 releases the hold in full."""
    require_external_id(external_id)
    credits = clearing_credits(payer=payer, bill_shares=bill_shares, commissions=commissions)
    digest = _clearing_digest("order_clear", payer=payer, bill_shares=bill_shares, commissions=commissions, hold=hold)
    return once(
        lambda: bill_pay(
            external_id=external_id,
            payer=payer,
            credits=credits,
            hold=hold,
            movement_type=MovementType.SWAP_EXPENSE,
            digest=digest,
            reference=reference,
        )
    )


# --- Reversals --------------------------------------------------------------------------
def debt_refund_id(external_id: str) -> str:
    return f"{external_id}:debt"


def correction_id(external_id: str) -> str:
    return f"{external_id}:corrected"


def _reverse(original: JournalTransaction, *, external_id: str, movement_type: str, digest: str) -> JournalTransaction:
    """Post the reversal of ``original``. Runs inside ``once``.

    A debt booked by the original is settled with it: an outstanding one is cancelled (the
    reversal brings the payable account back); a paid one is refunded to the wallet by a second
    posting, since the reversal returns it to the payable account."""
    existing = replayed(external_id, digest)
    if existing is not None:
        return existing
    original = JournalTransaction.objects.get(pk=original.pk)
    if original.movement_type == MovementType.HOLD or original.reverses_id is not None:
        raise errors.transaction_not_reversible()
    if JournalTransaction.objects.filter(reverses=original).exists():
        raise errors.transaction_already_reversed()
    refuse_taken(external_id, debt_refund_id(external_id))
    entries = list(original.entries.select_related("account__organisation").order_by("pk"))
    debt = Debt.objects.select_related("organisation").filter(journal_transaction=original).first()
    accounts = [entry.account for entry in entries]
    if debt is not None:
        wallet = account_get(organisation=debt.organisation, purpose=AccountPurpose.WALLET)
        payable = account_get(organisation=debt.organisation, purpose=AccountPurpose.PAYABLE)
        accounts += [wallet, payable]
    locked = lock_accounts(accounts)  # all in one query, in the one lock order
    legs = [Leg(locked[entry.account_id], -entry.amount_fen, movement_type) for entry in entries]
    postings = [Posting(external_id, movement_type, legs, digest, original.reference, reverses=original)]
    if debt is not None:
        debt = Debt.objects.select_for_update().get(pk=debt.pk)
        if debt.status == DebtStatus.PAID:
            back = [Leg(locked[payable.pk], -debt.amount_fen), Leg(locked[wallet.pk], debt.amount_fen)]
            postings.append(Posting(debt_refund_id(external_id), movement_type, back, digest, original.reference))
    written = write(postings, locked)
    if debt is not None and debt.status == DebtStatus.OUTSTANDING:
        debt.status = DebtStatus.CANCELLED
        debt.settled_transaction = written[0]
        debt.settled_at = timezone.now()
        debt.save(update_fields=["status", "settled_transaction", "settled_at", "updated_at"])
    return written[0]


def transaction_reverse(
    *, original: JournalTransaction, external_id: str, movement_type: str = MovementType.REFUND
) -> JournalTransaction:
    """Reverse a posted transaction: a new one with every entry negated, linked to it. A
    transaction is reversed at most once; holds are resolved instead, reversals not reversed."""
    require_external_id(external_id)
    if movement_type not in (MovementType.REFUND, MovementType.ADJUSTMENT):
        raise errors.posting_invalid("A reversal is a refund or an adjustment.")
    digest = request_digest("transaction_reverse", original=original.pk, movement_type=movement_type)
    return once(lambda: _reverse(original, external_id=external_id, movement_type=movement_type, digest=digest))


def order_refund(
    *,
    external_id: str,
    payer: Organisation,
    original: JournalTransaction,
    corrected_shares: Mapping[Organisation, int] | None = None,
    corrected_commissions: Mapping[Organisation, int] | None = None,
    reference: str = "",
) -> Refund:
    """Refund an order's bill in full (a reversal), or correct it: the reversal plus the
    corrected bill, paid from the wallet (a debt if it cannot), all in one database transaction."""
    require_external_id(external_id)
    payer_paid = original.entries.filter(
        account__organisation=payer, account__purpose__in=[AccountPurpose.WALLET, AccountPurpose.PAYABLE]
    ).exists()
    if original.movement_type != MovementType.SWAP_EXPENSE or not payer_paid:
        raise errors.posting_invalid("Only a bill this payer paid is refunded.")
    credits, correction_digest = None, None
    if corrected_shares is not None:
        credits = clearing_credits(payer=payer, bill_shares=corrected_shares, commissions=corrected_commissions)
        correction_digest = _clearing_digest(
            "order_correct", payer=payer, bill_shares=corrected_shares, commissions=corrected_commissions, hold=None
        )
    # The reversal's fingerprint covers the correction: a retry must ask for the same one.
    digest = request_digest("order_refund", original=original.pk, correction=correction_digest)

    def refund() -> Refund:
        reversal = _reverse(original, external_id=external_id, movement_type=MovementType.REFUND, digest=digest)
        if credits is None:
            return Refund(reversal=reversal, correction=None)
        correction = bill_pay(
            external_id=correction_id(external_id),
            payer=payer,
            credits=credits,
            hold=None,
            movement_type=MovementType.SWAP_EXPENSE,
            digest=str(correction_digest),
            reference=reference or original.reference,
        )
        return Refund(reversal=reversal, correction=correction)

    return once(refund)
