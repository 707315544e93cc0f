from django.urls import path

from apps.payments import apis

urlpatterns = [
    path("wallet/topups", apis.WalletTopUpListCreateApi.as_view(), name="wallet-topups"),
    path("wallet/topups/<int:top_up_id>", apis.WalletTopUpDetailApi.as_view(), name="wallet-topup-detail"),
    path("wallet/refunds", apis.WalletRefundListCreateApi.as_view(), name="wallet-refunds"),
    path("wallet/refunds/<int:refund_id>", apis.WalletRefundDetailApi.as_view(), name="wallet-refund-detail"),
    path("wallet/refundable", apis.WalletRefundableApi.as_view(), name="wallet-refundable"),
    path("payments/stripe/webhook", apis.StripeWebhookApi.as_view(), name="payments-stripe-webhook"),
]
