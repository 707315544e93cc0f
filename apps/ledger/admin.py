"""Read-only admin pages for the ledger, scoped by ``apps.access.ledger``: an organisation's
admins see its own accounts, entries, holds, debts, contracts and statements; the platform sees
all. Nobody adds, changes or deletes anything here: the ledger is written by services only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps import access
from apps.access import ledger as ledger_access
from apps.common.admin import ScopedInline, ScopedModelAdmin
from apps.ledger.models import Account, Contract, Debt, Entry, Hold, JournalTransaction, Statement, StatementLine


class ReadOnlyLedgerAdmin(ScopedModelAdmin[Any]):
    may_change = staticmethod(ledger_access.may_change_ledger)
    list_per_page = 50

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # not even the platform: corrections are reversals


@admin.register(Account)
class AccountAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_ledger_accounts)
    related_choices = {"organisation": access.visible_organisations}
    list_display = ("id", "organisation", "purpose", "currency", "balance_fen", "floor_fen", "updated_at")
    list_filter = ("purpose", "currency")
    search_fields = ("organisation__code", "organisation__name")
    list_select_related = ("organisation",)


class EntryInline(ScopedInline[Entry, JournalTransaction]):
    model = Entry
    visible = staticmethod(ledger_access.visible_ledger_entries)
    may_change_parent = staticmethod(ledger_access.may_change_ledger)
    related_choices = {"account": ledger_access.visible_ledger_accounts}
    fields = ("account", "movement_type", "amount_fen")
    readonly_fields = fields
    can_delete = False


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyLedgerAdmin):
    """Each transaction shows only the entries the viewer may see (the platform: all)."""

    visible = staticmethod(ledger_access.visible_journal_transactions)
    related_choices = {"reverses": ledger_access.visible_journal_transactions}
    inlines = [EntryInline]
    list_display = ("id", "external_id", "movement_type", "reference", "reverses", "created_at")
    list_filter = ("movement_type",)
    search_fields = ("external_id", "reference")
    date_hierarchy = "created_at"


@admin.register(Entry)
class EntryAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_ledger_entries)
    related_choices = {
        "account": ledger_access.visible_ledger_accounts,
        "journal_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "journal_transaction", "account", "movement_type", "amount_fen", "created_at")
    list_filter = ("movement_type", "account__purpose")
    search_fields = ("journal_transaction__external_id",)
    list_select_related = ("journal_transaction", "account")


@admin.register(Hold)
class HoldAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_holds)
    related_choices = {
        "organisation": access.visible_organisations,
        "place_transaction": ledger_access.visible_journal_transactions,
        "release_transaction": ledger_access.visible_journal_transactions,
        "capture_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "external_id", "organisation", "amount_fen", "status", "captured_fen", "released_fen", "expires_at")
    list_filter = ("status",)
    search_fields = ("external_id", "reference")
    list_select_related = ("organisation",)


@admin.register(Debt)
class DebtAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_debts)
    related_choices = {
        "organisation": access.visible_organisations,
        "journal_transaction": ledger_access.visible_journal_transactions,
        "settled_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "organisation", "amount_fen", "status", "created_at", "settled_at")
    list_filter = ("status",)
    list_select_related = ("organisation",)


@admin.register(Contract)
class ContractAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_contracts)
    related_choices = {"platform": access.visible_organisations, "party": access.visible_organisations}
    list_display = (
        "id",
        "party",
        "commission_rate",
        "commission_min_fen",
        "commission_max_fen",
        "account_period",
        "payment_terms_days",
        "effective_from",
        "effective_to",
    )
    list_filter = ("account_period",)
    list_select_related = ("party",)


class StatementLineInline(ScopedInline[StatementLine, Statement]):
    model = StatementLine
    visible = staticmethod(ledger_access.visible_statement_lines)
    may_change_parent = staticmethod(ledger_access.may_change_ledger)
    related_choices = {"journal_transaction": ledger_access.visible_journal_transactions}
    fields = ("posted_at", "movement_type", "journal_transaction", "amount_fen")
    readonly_fields = fields
    can_delete = False


@admin.register(Statement)
class StatementAdmin(ReadOnlyLedgerAdmin):
    visible = staticmethod(ledger_access.visible_statements)
    related_choices = {"organisation": access.visible_organisations}
    inlines = [StatementLineInline]
    list_display = (
        "id",
        "organisation",
        "period_start",
        "period_end",
        "opening_balance_fen",
        "closing_balance_fen",
        "amount_payable_fen",
        "due_date",
    )
    list_filter = ("account_period",)
    list_select_related = ("organisation",)
