"""Who may see the ledger (``ACCESS.md``: wallet, holds, ledger entries, statements, contracts).

An organisation's admins see its own accounts, entries, holds, debts and statements; contracts
are seen by their two parties (the party's admins, and the platform). The platform sees
everything. Nobody changes any of it by hand: only services write the ledger, so every
``may_change_*`` here answers no.

Drivers see none of it for now: a fleet driver is to see their own spending and limits, not the
fleet's balance, and that view does not exist yet.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind
from apps.ledger.models import Account, Contract, Debt, Entry, Hold, JournalTransaction, Statement, StatementLine

WALLET_KINDS = (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL)


def visible_ledger_accounts(actor: Actor) -> QuerySet[Account]:
    if actor.platform_admin:
        return Account.objects.all()
    return Account.objects.filter(organisation_id__in=actor.admin_of)


def visible_ledger_entries(actor: Actor) -> QuerySet[Entry]:
    if actor.platform_admin:
        return Entry.objects.all()
    return Entry.objects.filter(account__organisation_id__in=actor.admin_of)


def visible_journal_transactions(actor: Actor) -> QuerySet[JournalTransaction]:
    """Those with an entry on one of the actor's accounts (each shows only its visible entries)."""
    if actor.platform_admin:
        return JournalTransaction.objects.all()
    touching = Entry.objects.filter(account__organisation_id__in=actor.admin_of).values("journal_transaction_id")
    return JournalTransaction.objects.filter(pk__in=touching)


def visible_holds(actor: Actor) -> QuerySet[Hold]:
    if actor.platform_admin:
        return Hold.objects.all()
    return Hold.objects.filter(organisation_id__in=actor.admin_of)


def visible_debts(actor: Actor) -> QuerySet[Debt]:
    if actor.platform_admin:
        return Debt.objects.all()
    return Debt.objects.filter(organisation_id__in=actor.admin_of)


def visible_contracts(actor: Actor) -> QuerySet[Contract]:
    if actor.platform_admin:
        return Contract.objects.all()
    return Contract.objects.filter(party_id__in=actor.admin_of)


def visible_statements(actor: Actor) -> QuerySet[Statement]:
    if actor.platform_admin:
        return Statement.objects.all()
    return Statement.objects.filter(organisation_id__in=actor.admin_of)


def visible_statement_lines(actor: Actor) -> QuerySet[StatementLine]:
    return StatementLine.objects.filter(statement__in=visible_statements(actor))


def statement_organisations(actor: Actor) -> QuerySet[Organisation]:
    """The organisations whose statements the actor may read."""
    if actor.platform_admin:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk__in=actor.admin_of)


def wallet_organisations(actor: Actor) -> QuerySet[Organisation]:
    """The carriers and individuals whose wallet the actor may read: their admins, the platform."""
    payers = Organisation.objects.filter(kind__in=WALLET_KINDS)
    if actor.platform_admin:
        return payers
    return payers.filter(pk__in=actor.carrier_admin_of)


def may_change_ledger(actor: Actor, obj: Any) -> bool:
    """Nobody edits the ledger by hand; services write it."""
    return False
