"""The ledger: double-entry accounts per organisation, immutable journal transactions, holds,
debts, contracts and statements (PRODUCT.md, "Money movement").

Sign convention. Every account is one organisation's money *in the network*, and an entry's
amount is signed from that account's point of view: positive adds to its balance (a credit),
negative takes from it (a debit). The entries of a journal transaction sum to zero per
currency, so all balances together sum to zero: the platform's provider-clearing account is the
negative mirror of the money that came in from outside through the payment provider.

What the database holds, whoever writes:
- an entry is never zero; an account never goes below its floor (``floor_fen``: 0 for wallets,
  minus the credit line for a fleet with credit; empty for accounts without a floor);
- posted entries and journal transactions cannot be updated or deleted, and on PostgreSQL a
  journal transaction whose entries do not sum to zero per currency, or that has fewer than two
  entries, cannot be committed (triggers, migration 0002);
- a hold is resolved at most once, with amounts that add up; one reversal per transaction.

Balances are changed only by ``apps.ledger.services``, under ``select_for_update`` in the database
transaction that writes the entries; ``manage.py reconcile_ledger`` recomputes them all.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel

CNY = "CNY"


class AccountPurpose(models.TextChoices):
    WALLET = "wallet", _("wallet")  # a payer's spendable money
    HELD = "held", _("held")  # a payer's money reserved by pending holds
    RECEIVABLE = "receivable", _("receivable")  # an earner's cleared income, owed to it until paid out
    PAYABLE = "payable", _("payable")  # what an organisation owes the network (debts): negative while it owes
    REVENUE = "revenue", _("revenue")  # the platform's income from bill lines it earns itself
    PLATFORM_COMMISSION = "platform_commission", _("platform commission")
    PROVIDER_CLEARING = "provider_clearing", _("payment-provider clearing")  # the platform's mirror of money paid in
    ENERGY_DEPOSIT = "energy_deposit", _("energy deposit")  # a payer's deposit for a network battery it carries


# Accounts of these purposes may not go below zero unless given a lower floor (a credit line).
FLOORED_PURPOSES = (AccountPurpose.WALLET, AccountPurpose.HELD, AccountPurpose.ENERGY_DEPOSIT)


class MovementType(models.TextChoices):
    """What a movement is, as the parties see it (PRODUCT.md). ``hold`` moves money between a
    payer's own wallet and held accounts and is never a line of a statement."""

    TOP_UP = "top_up", _("wallet top-up")
    ENERGY_DEPOSIT = "energy_deposit", _("energy deposit")
    SWAP_EXPENSE = "swap_expense", _("swap expense")
    SWAP_INCOME = "swap_income", _("swap income")
    COMMISSION = "commission", _("commission")
    REFUND = "refund", _("refund")
    ADJUSTMENT = "adjustment", _("adjustment")
    HOLD = "hold", _("hold")


class Account(TimeStampedModel):
    # Every posting updates its accounts: only the indexes that reads use. Accounts are found by
    # organisation and purpose (the unique constraint's index), never by time.
    created_at = models.DateTimeField(auto_now_add=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="ledger_accounts", db_index=False
    )
    purpose = models.CharField(_("purpose"), max_length=30, choices=AccountPurpose.choices)
    currency = models.CharField(_("currency"), max_length=3, default=CNY)
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0)
    floor_fen = models.BigIntegerField(_("floor (fen)"), null=True, blank=True, help_text=_("Empty: no floor."))

    class Meta:
        ordering = ["organisation_id", "purpose"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "purpose", "currency"], name="ledger_account_one_per_purpose"),
            models.CheckConstraint(
                condition=Q(floor_fen__isnull=True) | Q(balance_fen__gte=F("floor_fen")),
                name="ledger_account_balance_not_below_floor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.purpose}:{self.currency}"


class JournalTransaction(TimeStampedModel):
    """A balanced set of entries, posted once under a unique external id. ``created_at`` is the
    posting time. ``request_hash`` fingerprints the request that posted it, so that a retry with
    the same id and the same content returns this row, and other content is a conflict."""

    # Unique by a constraint, not ``unique=True``, which adds a second index for LIKE queries
    # that nothing runs; every posting inserts here.
    external_id = models.CharField(_("external id"), max_length=255)
    movement_type = models.CharField(_("movement type"), max_length=20, choices=MovementType.choices)
    request_hash = models.CharField(max_length=64)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal", verbose_name=_("reverses")
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("journal transaction")
        verbose_name_plural = _("journal transactions")
        constraints = [models.UniqueConstraint(fields=["external_id"], name="ledger_transaction_one_per_external_id")]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.movement_type})"


class Entry(TimeStampedModel):
    # Every order writes several entries: only the indexes that reads use. Entries are read by
    # account (with their transactions: the composite index) and by transaction, never by time
    # of their own (their transaction's created_at is the posting time).
    created_at = models.DateTimeField(auto_now_add=True)
    journal_transaction = models.ForeignKey(JournalTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    # As the account's owner sees it (an order's clearing is an expense to the payer, income to
    # the station operator and commission to the platform).
    movement_type = models.CharField(_("movement type"), max_length=20, choices=MovementType.choices)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="ledger_entry_amount_not_zero")]
        indexes = [models.Index(fields=["account", "journal_transaction"], name="ledger_entry_account_txn")]

    def __str__(self) -> str:
        return f"{self.account} {self.amount_fen:+d}"


class HoldStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    CAPTURED = "captured", _("captured")
    VOIDED = "voided", _("voided")
    EXPIRED = "expired", _("expired")


class Hold(TimeStampedModel):
    """A two-phase transfer: money moved from a payer's wallet to its held account at scan time,
    resolved exactly once: captured (the bill; the rest released at once), voided or expired."""

    # Every order inserts a hold and updates it once (not in place: the update changes indexed
    # columns), so only the indexes that reads use: no time index, and the unique ids by
    # constraints, without the LIKE indexes of ``unique=True``.
    created_at = models.DateTimeField(auto_now_add=True)
    external_id = models.CharField(_("external id"), max_length=255)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ledger_holds")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    status = models.CharField(_("status"), max_length=20, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    request_hash = models.CharField(max_length=64)
    place_transaction = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="placed_hold")
    # The hold-type transaction that emptied it back into the wallet, and (captures) the one that
    # paid the bill from the wallet; the latter is what a refund reverses.
    release_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="released_hold"
    )
    capture_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="captured_hold"
    )
    captured_fen = models.BigIntegerField(_("captured (fen)"), default=0)
    released_fen = models.BigIntegerField(_("released (fen)"), default=0)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution_external_id = models.CharField(max_length=255, null=True, blank=True)
    resolution_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="ledger_hold_one_per_external_id"),
            models.UniqueConstraint(fields=["resolution_external_id"], name="ledger_hold_resolved_once_per_id"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_hold_amount_positive"),
            models.CheckConstraint(
                condition=(
                    Q(status=HoldStatus.PENDING, resolved_at__isnull=True, resolution_external_id__isnull=True)
                    & Q(captured_fen=0, released_fen=0, release_transaction__isnull=True)
                )
                | (
                    ~Q(status=HoldStatus.PENDING)
                    & Q(resolved_at__isnull=False, resolution_external_id__isnull=False, release_transaction__isnull=False)
                    & Q(captured_fen__gte=0, released_fen__gte=0, amount_fen=F("captured_fen") + F("released_fen"))
                ),
                name="ledger_hold_resolved_once_in_full",
            ),
            models.CheckConstraint(
                condition=Q(status=HoldStatus.CAPTURED) | Q(captured_fen=0, capture_transaction__isnull=True),
                name="ledger_hold_only_captures_capture",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.amount_fen} ({self.status})"


class DebtStatus(models.TextChoices):
    OUTSTANDING = "outstanding", _("outstanding")
    PAID = "paid", _("paid")
    CANCELLED = "cancelled", _("cancelled by a reversal")


class Debt(TimeStampedModel):
    """The part of a bill above its hold that the wallet could not cover, booked to the payer's
    payable account. An outstanding debt blocks the payer's next hold until it is paid."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ledger_debts")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    journal_transaction = models.OneToOneField(JournalTransaction, on_delete=models.PROTECT, related_name="debt")
    status = models.CharField(_("status"), max_length=20, choices=DebtStatus.choices, default=DebtStatus.OUTSTANDING)
    settled_transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="settled_debt"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("debt")
        verbose_name_plural = _("debts")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_debt_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=DebtStatus.OUTSTANDING, settled_at__isnull=True, settled_transaction__isnull=True)
                | (~Q(status=DebtStatus.OUTSTANDING) & Q(settled_at__isnull=False, settled_transaction__isnull=False)),
                name="ledger_debt_settled_with_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} owes {self.amount_fen} ({self.status})"


class AccountPeriod(models.TextChoices):
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly (Monday to Sunday)")
    MONTHLY = "monthly", _("monthly")


class Contract(TimeStampedModel):
    """The platform's contract with a station operator or a battery owner: the commission it
    takes of the party's share of each order, the account period and the payment terms (T+N).
    In force on local dates [effective_from, effective_to)."""

    platform = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    party = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ledger_contracts")
    commission_rate = models.DecimalField(_("commission rate (fraction)"), max_digits=6, decimal_places=5)
    commission_min_fen = models.BigIntegerField(_("minimum commission per order (fen)"), default=0)
    commission_max_fen = models.BigIntegerField(_("maximum commission per order (fen)"), null=True, blank=True)
    account_period = models.CharField(_("account period"), max_length=10, choices=AccountPeriod.choices)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (T+N days)"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until (exclusive)"), null=True, blank=True)

    class Meta:
        ordering = ["party_id", "effective_from"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0, commission_rate__lte=1), name="ledger_contract_rate_is_fraction"
            ),
            models.CheckConstraint(condition=Q(commission_min_fen__gte=0), name="ledger_contract_min_not_negative"),
            models.CheckConstraint(
                condition=Q(commission_max_fen__isnull=True) | Q(commission_max_fen__gte=F("commission_min_fen")),
                name="ledger_contract_max_not_below_min",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="ledger_contract_dates_ordered",
            ),
            models.UniqueConstraint(fields=["party", "effective_from"], name="ledger_contract_one_start_per_party"),
        ]

    def __str__(self) -> str:
        return f"{self.party_id} from {self.effective_from}"


class Statement(TimeStampedModel):
    """One party's closed account period [period_start, period_end): opening balance, its lines,
    closing balance, what the network pays it and when. Generated once per party and period."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ledger_statements")
    currency = models.CharField(_("currency"), max_length=3, default=CNY)
    account_period = models.CharField(_("account period"), max_length=10, choices=AccountPeriod.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (exclusive)"))
    opening_balance_fen = models.BigIntegerField(_("opening balance (fen)"))
    closing_balance_fen = models.BigIntegerField(_("closing balance (fen)"))
    amount_payable_fen = models.BigIntegerField(_("payable to the party (fen)"))
    due_date = models.DateField(_("due"))

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "currency", "period_start"], name="ledger_statement_once_per_period"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="ledger_statement_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.period_start}–{self.period_end}"


class StatementLine(TimeStampedModel):
    """A party's net movement of one type in one journal transaction."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    journal_transaction = models.ForeignKey(JournalTransaction, on_delete=models.PROTECT, related_name="+")
    movement_type = models.CharField(_("movement type"), max_length=20, choices=MovementType.choices)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    posted_at = models.DateTimeField(_("posted"))

    class Meta:
        ordering = ["posted_at", "id"]
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")

    def __str__(self) -> str:
        return f"{self.movement_type} {self.amount_fen:+d}"
