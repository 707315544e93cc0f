"""Payers, top-ups and signed events for payments tests.

Stripe is never called over the network: ``recorded_stripe`` gives the library a recorded-answer
HTTP client (its own seam), and events are signed by the library's own helper.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client

from apps.accounts.models import Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.ledger.models import Account, AccountPurpose, JournalTransaction
from apps.payments.clients.recorded import RecordedHTTPClient
from apps.payments.clients.stripe_api import StripeApi, stripe_client, webhook_sign
from apps.payments.models import Provider, ProviderEvent, TopUp, TopUpStatus
from apps.payments.providers.stripe import StripeProvider

RECORDED = Path(__file__).resolve().parent / "recorded"
WEBHOOK_SECRET = "whsec_test_recorded_0123456789abcdef"
STRIPE_KEYS = {
    "STRIPE_SECRET_KEY": "sk_test_recorded",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_recorded",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}
WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"
_ids = itertools.count(1)


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


@dataclass
class Payer:
    platform: Organisation
    carrier: Organisation
    admin: User


def payer(kind: str = OrganisationKind.CARRIER) -> Payer:
    platform = Organisation.objects.filter(kind=OrganisationKind.PLATFORM).first() or OrganisationFactory(
        kind=OrganisationKind.PLATFORM
    )
    carrier = OrganisationFactory(kind=kind)
    return Payer(platform=platform, carrier=carrier, admin=member(Role.CARRIER_ADMIN, carrier))


def use_stripe(settings: Any, http: RecordedHTTPClient | None = None) -> RecordedHTTPClient:
    """Switch the settings to Stripe with test keys and a recorded-answer HTTP client."""
    http = http or RecordedHTTPClient(RECORDED)
    settings.PAYMENT_PROVIDER = Provider.STRIPE
    for name, value in STRIPE_KEYS.items():
        setattr(settings, name, value)
    settings.STRIPE_HTTP_CLIENT = http
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return http


def stripe_provider(http: RecordedHTTPClient) -> StripeProvider:
    client = stripe_client(api_key=STRIPE_KEYS["STRIPE_SECRET_KEY"], http_client=http, max_network_retries=0)
    return StripeProvider(api=StripeApi(client), webhook_secret=WEBHOOK_SECRET)


def new_intent_id() -> str:
    return f"pi_3Qtest{next(_ids):010d}"


def top_up(
    organisation: Organisation, amount_fen: int = 50_000, *, intent_id: str | None = None, provider: str = Provider.STRIPE
) -> TopUp:
    """A top-up awaiting payment, as ``topup_create`` leaves it (without calling a provider)."""
    number = next(_ids)
    return TopUp.objects.create(
        organisation=organisation,
        amount_fen=amount_fen,
        provider=provider,
        provider_intent_id=intent_id or new_intent_id(),
        client_secret=f"secret_{number}",
        idempotency_key=f"swapnet-topup-test-{number}",
        payment_method_types=["card", "alipay", "wechat_pay"],
        status=TopUpStatus.PENDING,
    )


def intent_object(top_up: TopUp, status: str) -> dict[str, Any]:
    """The PaymentIntent of ``top_up`` as Stripe writes it in an event, in ``status``."""
    assert top_up.provider_intent_id is not None
    obj = recorded("payment_intent_created.json")
    obj.update(
        id=top_up.provider_intent_id,
        amount=top_up.amount_fen,
        amount_received=top_up.amount_fen if status == "succeeded" else 0,
        client_secret=f"{top_up.provider_intent_id}_secret_x",
        metadata={"swapnet_top_up": str(top_up.public_id), "swapnet_organisation": str(top_up.organisation_id)},
        status=status,
    )
    if status == "canceled":
        obj.update(canceled_at=obj["created"] + 3600, cancellation_reason="abandoned")
    return obj


def event(event_type: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(recorded("event_payment_intent_succeeded.json"))
    body.update(type=event_type, id=event_id or f"evt_3Qtest{next(_ids):010d}", created=created or int(time.time()))
    body["data"] = {"object": obj}
    return body


def signed(body: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    """The body as bytes and its ``Stripe-Signature``, made by the stripe library's helper."""
    payload = json.dumps(body, separators=(",", ":"))
    return payload.encode(), webhook_sign(payload=payload, secret=secret, timestamp=timestamp)


def post_webhook(client: Client, payload: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(WEBHOOK_PATH, data=payload, content_type="application/json", **headers)


def wallet_fen(organisation: Organisation) -> int:
    account = Account.objects.filter(organisation=organisation, purpose=AccountPurpose.WALLET).first()
    return 0 if account is None else account.balance_fen


def credits_of(top_up: TopUp) -> int:
    """Ledger credits posted for the top-up's intent."""
    return JournalTransaction.objects.filter(external_id=f"payments:top-up:{top_up.provider_intent_id}").count()


def side_effects() -> tuple[int, int, list[tuple[int, int]], list[tuple[int, str]]]:
    """What a refused webhook must leave unchanged: events, ledger rows and balances, top-ups."""
    return (
        ProviderEvent.objects.count(),
        JournalTransaction.objects.count(),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        list(TopUp.objects.order_by("pk").values_list("pk", "status")),
    )


def paid_top_up(world: Payer, amount_fen: int = 50_000) -> TopUp:
    """A sandbox top-up the payer paid, credited by reconciliation (no event delivered)."""
    from apps.access import Actor
    from apps.payments import services
    from apps.payments.providers import sandbox

    created = services.topup_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=amount_fen)
    assert created.provider_intent_id is not None
    sandbox.intent_pay(intent_id=created.provider_intent_id)
    services.payments_reconcile()
    created.refresh_from_db()
    assert created.status == TopUpStatus.SUCCEEDED
    return created
