"""The ledger's writes. Every service is keyword-only, atomic and idempotent on its external id."""

from apps.ledger.services.clearing import (
    Refund,
    clearing_credits,
    order_clear,
    order_refund,
    transaction_reverse,
)
from apps.ledger.services.contracts import contract_create, wallet_credit_line_set
from apps.ledger.services.holds import (
    DEFAULT_HOLD_TTL,
    Credit,
    Payment,
    debt_pay,
    hold_capture,
    hold_place,
    hold_void,
    holds_expire,
)
from apps.ledger.services.posting import (
    Leg,
    Transfer,
    account_get,
    energy_deposit_release,
    energy_deposit_take,
    journal_post,
    journal_post_many,
    platform_organisation,
    wallet_top_up,
)
from apps.ledger.services.settlement import statement_close, statements_close_due

__all__ = [
    "DEFAULT_HOLD_TTL",
    "Credit",
    "Leg",
    "Payment",
    "Refund",
    "Transfer",
    "account_get",
    "clearing_credits",
    "contract_create",
    "debt_pay",
    "energy_deposit_release",
    "energy_deposit_take",
    "hold_capture",
    "hold_place",
    "hold_void",
    "holds_expire",
    "journal_post",
    "journal_post_many",
    "order_clear",
    "order_refund",
    "platform_organisation",
    "statement_close",
    "statements_close_due",
    "transaction_reverse",
    "wallet_credit_line_set",
    "wallet_top_up",
]
