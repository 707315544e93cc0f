"""Payments: wallet top-ups, refunds to the original payment methods, provider webhooks and
payouts to station operators and battery owners, through Stripe or the embedded sandbox.

Money only moves in the ledger (``apps.ledger``); this app decides when, from what the payment
provider reports. A wallet is credited only by a verified ``payment_intent.succeeded`` (a
webhook, or the reconciliation task that reads the provider when a webhook was lost).
"""
