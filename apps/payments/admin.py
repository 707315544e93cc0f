"""Read-only admin pages for payments, scoped by ``apps.access.payments``: a payer's admins see
its top-ups and refunds, a paid party's admins its payouts, the platform everything (and the
provider events, which only it sees). Only payout accounts are kept here, by the platform."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps import access
from apps.access import ledger as ledger_access
from apps.access import payments as payments_access
from apps.common.admin import ScopedModelAdmin
from apps.payments.models import Payout, PayoutAccount, ProviderEvent, Refund, TopUp


class ReadOnlyPaymentsAdmin(ScopedModelAdmin[Any]):
    may_change = staticmethod(payments_access.may_change_payments)
    list_per_page = 50

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        hidden = set(self.exclude or ())
        return tuple(field.name for field in self.model._meta.fields if field.name not in hidden)


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyPaymentsAdmin):
    visible = staticmethod(payments_access.visible_top_ups)
    related_choices = {
        "organisation": access.visible_organisations,
        "created_by": access.visible_users,
        "credited_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "organisation", "amount_fen", "refunded_fen", "status", "provider", "provider_intent_id", "created_at")
    list_filter = ("status", "provider")
    search_fields = ("provider_intent_id", "organisation__code", "organisation__name")
    list_select_related = ("organisation",)
    exclude = ("client_secret",)
    date_hierarchy = "created_at"


@admin.register(Refund)
class RefundAdmin(ReadOnlyPaymentsAdmin):
    visible = staticmethod(payments_access.visible_refunds)
    related_choices = {
        "organisation": access.visible_organisations,
        "top_up": payments_access.visible_top_ups,
        "requested_by": access.visible_users,
        "hold": ledger_access.visible_holds,
        "capture_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "organisation", "top_up", "amount_fen", "status", "provider_refund_id", "created_at")
    list_filter = ("status",)
    search_fields = ("provider_refund_id", "organisation__code")
    list_select_related = ("organisation",)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyPaymentsAdmin):
    visible = staticmethod(payments_access.visible_payouts)
    related_choices = {
        "organisation": access.visible_organisations,
        "statement": ledger_access.visible_statements,
        "journal_transaction": ledger_access.visible_journal_transactions,
        "reversal_transaction": ledger_access.visible_journal_transactions,
    }
    list_display = ("id", "organisation", "amount_fen", "method", "status", "provider_transfer_id", "created_at")
    list_filter = ("status", "method")
    search_fields = ("organisation__code", "provider_transfer_id")
    list_select_related = ("organisation",)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyPaymentsAdmin):
    visible = staticmethod(payments_access.visible_provider_events)
    platform_only = True
    list_display = ("event_id", "type", "status", "outcome", "attempts", "received_at", "processed_at")
    list_filter = ("status", "provider", "type")
    search_fields = ("event_id",)
    date_hierarchy = "received_at"


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ScopedModelAdmin[PayoutAccount]):
    visible = staticmethod(payments_access.visible_payout_accounts)
    may_change = staticmethod(payments_access.may_change_payout_account)
    may_add = staticmethod(payments_access.may_add_payout_account)
    owner_field = "organisation"
    owner_choices = staticmethod(payments_access.payout_account_organisations)
    list_display = ("organisation", "stripe_account_id", "bank_name", "masked_account_number")
    list_select_related = ("organisation",)
    fields = ("organisation", "stripe_account_id", "bank_account_name", "bank_name", "bank_account_number")

    @admin.display(description="account number")
    def masked_account_number(self, account: PayoutAccount) -> str:
        number = account.bank_account_number
        return f"****{number[-4:]}" if len(number) > 4 else number
