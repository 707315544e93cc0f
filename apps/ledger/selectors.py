"""Reads of the ledger: contracts in force, wallets, movements and statements, each filtered by
the actor through ``apps.access.ledger``; what the actor may not see answers 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from apps.access import Actor
from apps.access import ledger as ledger_access
from apps.accounts.models import Organisation
from apps.billing.pricing import CommissionTerms
from apps.common.errors import ApplicationError, NotFound
from apps.ledger.models import CNY, Account, AccountPurpose, Contract, Entry, JournalTransaction, Statement


# --- Contracts --------------------------------------------------------------------------
def _local_date(at: datetime | date) -> date:
    if isinstance(at, datetime):
        return timezone.localdate(at)
    return at


def contract_in_force(*, organisation: Organisation, at: datetime | date) -> Contract | None:
    """The party's contract in force on the local (Asia/Shanghai) date of ``at``."""
    day = _local_date(at)
    return (
        Contract.objects.filter(party=organisation, effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day))
        .order_by("-effective_from")
        .first()
    )


def commission_terms_for(*, organisation: Organisation, at: datetime | date) -> CommissionTerms | None:
    """The commission the platform takes of the party's share of an order at ``at``; None without a contract."""
    contract = contract_in_force(organisation=organisation, at=at)
    if contract is None:
        return None
    return CommissionTerms(
        rate=contract.commission_rate, min_fen=contract.commission_min_fen, max_fen=contract.commission_max_fen
    )


# --- Balances ---------------------------------------------------------------------------
def local_midnight(day: date) -> datetime:
    """The instant a local calendar day begins (aware)."""
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone())


def balance_at(*, account_ids: list[int], at: datetime) -> int:
    """The accounts' combined balance from their entries posted before ``at``."""
    total = Entry.objects.filter(account_id__in=account_ids, journal_transaction__created_at__lt=at).aggregate(
        total=Sum("amount_fen")
    )["total"]
    return int(total or 0)


# --- Wallets ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Wallet:
    organisation: Organisation
    account_ids: tuple[int, ...]  # the wallet and held accounts
    balance_fen: int  # wallet + held: all the organisation's money for swaps
    held_fen: int  # reserved by pending holds
    available_fen: int  # what a new hold or bill may take now, credit line included
    credit_line_fen: int


def wallet_get(*, actor: Actor, organisation_id: int | None = None) -> Wallet:
    """The wallet of a carrier or individual the actor administers (any, for the platform).
    Without ``organisation_id`` the actor must administer exactly one payer."""
    payers = ledger_access.wallet_organisations(actor)
    if organisation_id is not None:
        organisation = payers.filter(pk=organisation_id).first()
    else:
        candidates = list(payers.filter(pk__in=actor.carrier_admin_of)[:2])
        if len(candidates) > 1:
            raise ApplicationError("organisation_required", "Name the organisation: you administer more than one.")
        organisation = candidates[0] if candidates else None
    if organisation is None:
        raise NotFound("wallet")
    balances = wallet_balances(organisation_id=organisation.pk)
    return Wallet(
        organisation=organisation,
        account_ids=balances.account_ids,
        balance_fen=balances.balance_fen,
        held_fen=balances.held_fen,
        available_fen=balances.available_fen,
        credit_line_fen=balances.credit_line_fen,
    )


@dataclass(frozen=True)
class WalletBalances:
    account_ids: tuple[int, ...]  # the wallet and held accounts
    balance_fen: int
    held_fen: int
    available_fen: int
    credit_line_fen: int


def wallet_balances(*, organisation_id: int) -> WalletBalances:
    """A payer's balances as ``Wallet`` gives them; no access check (``wallet_get`` makes it, the
    live push sends them only to the wallet's watchers)."""
    accounts = {
        account.purpose: account
        for account in Account.objects.filter(
            organisation_id=organisation_id, currency=CNY, purpose__in=[AccountPurpose.WALLET, AccountPurpose.HELD]
        )
    }
    wallet, held = accounts.get(AccountPurpose.WALLET), accounts.get(AccountPurpose.HELD)
    wallet_fen = wallet.balance_fen if wallet else 0
    floor = wallet.floor_fen if wallet and wallet.floor_fen is not None else 0
    held_fen = held.balance_fen if held else 0
    return WalletBalances(
        account_ids=tuple(account.pk for account in accounts.values()),
        balance_fen=wallet_fen + held_fen,
        held_fen=held_fen,
        available_fen=max(wallet_fen - floor, 0),
        credit_line_fen=-floor,
    )


def wallet_movement_list(*, wallet: Wallet) -> QuerySet[JournalTransaction]:
    """The journal transactions that changed the organisation's money for swaps (wallet and held
    together), newest first, each annotated with ``net_fen``; holds, which move money between
    the two, net to zero and are left out."""
    return (
        JournalTransaction.objects.filter(entries__account_id__in=wallet.account_ids)
        .annotate(net_fen=Sum("entries__amount_fen"))
        .exclude(net_fen=0)
        .order_by("-created_at", "-id")
    )


# --- Statements -------------------------------------------------------------------------
def _statement_organisation(*, actor: Actor, organisation_id: int) -> Organisation:
    organisation = ledger_access.statement_organisations(actor).filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound("organisation")
    return organisation


def statement_list(*, actor: Actor, organisation_id: int, period: date | None = None) -> QuerySet[Statement]:
    """The organisation's statements, newest first; ``period``: only the one whose period holds that date."""
    organisation = _statement_organisation(actor=actor, organisation_id=organisation_id)
    statements = ledger_access.visible_statements(actor).filter(organisation=organisation)
    if period is not None:
        statements = statements.filter(period_start__lte=period, period_end__gt=period)
    return statements.order_by("-period_start", "-id")


def statement_get(*, actor: Actor, organisation_id: int, statement_id: int) -> Statement:
    statement = statement_list(actor=actor, organisation_id=organisation_id).filter(pk=statement_id).first()
    if statement is None:
        raise NotFound("statement")
    return statement


def statement_totals(*, statement: Statement) -> list[dict[str, Any]]:
    """The statement's lines summed per movement type, in a fixed order."""
    rows = statement.lines.values("movement_type").annotate(amount_fen=Sum("amount_fen")).order_by("movement_type")
    return [{"movement_type": row["movement_type"], "amount_fen": int(row["amount_fen"])} for row in rows]
