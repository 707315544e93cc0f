"""Parties and money for ledger tests, and the ledger's own invariants as assertions."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Sum

from apps.accounts.models import Organisation, OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.ledger import services
from apps.ledger.models import Account, AccountPurpose, Entry, Hold, HoldStatus, JournalTransaction

_ids = itertools.count(1)


def new_id(prefix: str = "test") -> str:
    return f"{prefix}-{next(_ids)}"


@dataclass
class Parties:
    platform: Organisation
    carrier: Organisation
    operator: Organisation
    owner: Organisation


def organisation(kind: str, **fields: object) -> Organisation:
    """An organisation (typed: factory_boy's stubs call the result a factory)."""
    return OrganisationFactory(kind=kind, **fields)


def parties() -> Parties:
    return Parties(
        platform=OrganisationFactory(kind=OrganisationKind.PLATFORM),
        carrier=OrganisationFactory(kind=OrganisationKind.CARRIER),
        operator=OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR),
        owner=OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER),
    )


def top_up(payer: Organisation, amount_fen: int) -> JournalTransaction:
    return services.wallet_top_up(external_id=new_id("top-up"), payer=payer, amount_fen=amount_fen)


def account(organisation: Organisation, purpose: str) -> Account:
    return services.account_get(organisation=organisation, purpose=purpose)


def balance(organisation: Organisation, purpose: str) -> int:
    found = Account.objects.filter(organisation=organisation, purpose=purpose).first()
    return 0 if found is None else found.balance_fen


def wallet(organisation: Organisation) -> int:
    return balance(organisation, AccountPurpose.WALLET)


def held(organisation: Organisation) -> int:
    return balance(organisation, AccountPurpose.HELD)


def ledger_snapshot() -> tuple[int, int, int, list[tuple[int, int]]]:
    """Rows and balances: a refusal must leave this unchanged."""
    return (
        JournalTransaction.objects.count(),
        Entry.objects.count(),
        Hold.objects.count(),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
    )


def assert_ledger_invariants() -> None:
    """Money is never created or lost (RELIABILITY.md): every transaction has two or more entries
    summing to zero; all balances sum to zero per currency; every balance is the sum of its
    entries; no account is below its floor; the held accounts hold exactly the pending holds;
    every resolved hold was resolved once, in full."""
    per_transaction = Entry.objects.values("journal_transaction_id").annotate(total=Sum("amount_fen"))
    assert [row for row in per_transaction if row["total"] != 0] == []
    with_two = Entry.objects.values("journal_transaction_id").annotate(n=Count("id")).filter(n__gte=2)
    assert not JournalTransaction.objects.exclude(pk__in=with_two.values("journal_transaction_id")).exists()
    per_currency: dict[str, int] = defaultdict(int)
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("amount_fen")))
    for account_row in Account.objects.all():
        per_currency[account_row.currency] += account_row.balance_fen
        assert account_row.balance_fen == sums.get(account_row.pk, 0), account_row
        if account_row.floor_fen is not None:
            assert account_row.balance_fen >= account_row.floor_fen, account_row
    assert all(total == 0 for total in per_currency.values()), per_currency
    pending = dict(
        Hold.objects.filter(status=HoldStatus.PENDING).values_list("organisation_id").annotate(total=Sum("amount_fen"))
    )
    held_balances = dict(Account.objects.filter(purpose=AccountPurpose.HELD).values_list("organisation_id", "balance_fen"))
    assert {org: fen for org, fen in held_balances.items() if fen} == {org: fen for org, fen in pending.items() if fen}
    for hold in Hold.objects.exclude(status=HoldStatus.PENDING):
        assert hold.captured_fen + hold.released_fen == hold.amount_fen
        assert hold.release_transaction_id is not None
