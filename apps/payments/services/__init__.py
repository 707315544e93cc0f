"""The payments app's writes. Keyword-only; each says what it locks and when it calls the provider."""

from apps.payments.services.payouts import payout_create, payout_submit, payouts_bank_export, payouts_run
from apps.payments.services.reconcile import payments_reconcile
from apps.payments.services.refunds import refund_apply_result, refund_create, refund_submit, refundable_fen, refunds_submit
from apps.payments.services.topups import topup_apply_intent, topup_create
from apps.payments.services.webhooks import WebhookResult, event_handle, webhook_receive

__all__ = [
    "WebhookResult",
    "event_handle",
    "payments_reconcile",
    "payout_create",
    "payout_submit",
    "payouts_bank_export",
    "payouts_run",
    "refund_apply_result",
    "refund_create",
    "refund_submit",
    "refundable_fen",
    "refunds_submit",
    "topup_apply_intent",
    "topup_create",
    "webhook_receive",
]
