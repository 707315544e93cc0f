"""Refunds of unused wallet balance to the original payment methods, through Stripe (recorded
answers at the library's HTTP seam): oldest top-ups first, partial where needed; the money is
held in the ledger until Stripe answers; a failed refund is reported on the refund and leaves
the balance as it was."""

from __future__ import annotations

from typing import cast

import pytest
from django.test import Client

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.common.errors import ApplicationError
from apps.ledger import services as ledger_services
from apps.ledger.models import AccountPurpose, Hold, HoldStatus, MovementType
from apps.ledger.tests.factories import account, assert_ledger_invariants, held, ledger_snapshot
from apps.payments import services
from apps.payments.models import Refund, RefundStatus, TopUp
from apps.payments.services.reconcile import REFUND_SUBMIT_GRACE
from apps.payments.tests.factories import (
    Payer,
    event,
    intent_object,
    payer,
    post_webhook,
    recorded,
    signed,
    top_up,
    use_stripe,
    wallet_fen,
)

pytestmark = pytest.mark.django_db


def credited(world: Payer, amount_fen: int) -> TopUp:
    pending = top_up(world.carrier, amount_fen)
    assert (
        post_webhook(Client(), *signed(event("payment_intent.succeeded", intent_object(pending, "succeeded")))).status_code == 200
    )
    pending.refresh_from_db()
    return pending


def refund(world: Payer, amount_fen: int | None, capture) -> list[Refund]:
    with capture(execute=True):
        parts = services.refund_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=amount_fen)
    return [Refund.objects.get(pk=part.pk) for part in parts]


def refund_event(event_type: str, refund_row: Refund, recording: str) -> dict:
    obj = recorded(recording)
    obj.update(
        id=refund_row.provider_refund_id or "re_3Qunknown",
        amount=refund_row.amount_fen,
        payment_intent=refund_row.top_up.provider_intent_id,
        metadata={"swapnet_refund": str(refund_row.public_id)},
    )
    return event(event_type, obj)


def test_a_refund_takes_the_oldest_top_ups_first_the_last_one_partly(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    first, second, third = credited(world, 30_000), credited(world, 20_000), credited(world, 50_000)
    http.answer(
        "post", "/v1/refunds", "refund_succeeded.json", id="re_3Qfirst", amount=30_000, payment_intent=first.provider_intent_id
    )
    http.answer(
        "post", "/v1/refunds", "refund_succeeded.json", id="re_3Qsecond", amount=10_000, payment_intent=second.provider_intent_id
    )

    parts = refund(world, 40_000, django_capture_on_commit_callbacks)

    assert [(part.top_up_id, part.amount_fen, part.status) for part in parts] == [
        (first.pk, 30_000, RefundStatus.SUCCEEDED),
        (second.pk, 10_000, RefundStatus.SUCCEEDED),
    ]
    assert [(r.form["payment_intent"], r.form["amount"], r.headers["Idempotency-Key"]) for r in http.requests] == [
        (first.provider_intent_id, "30000", f"swapnet-refund-{parts[0].public_id}"),
        (second.provider_intent_id, "10000", f"swapnet-refund-{parts[1].public_id}"),
    ]
    assert [TopUp.objects.get(pk=t.pk).refunded_fen for t in (first, second, third)] == [30_000, 10_000, 0]
    assert (wallet_fen(world.carrier), held(world.carrier)) == (60_000, 0)
    clearing = account(world.platform, AccountPurpose.PROVIDER_CLEARING)
    assert clearing.balance_fen == -60_000  # 100,000 came in, 40,000 went back out
    assert {part.capture_transaction.movement_type for part in parts} == {MovementType.REFUND}
    assert_ledger_invariants()


def test_a_refund_refused_by_stripe_is_reported_and_leaves_the_balance(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    paid = credited(world, 30_000)
    http.answer("post", "/v1/refunds", "error_charge_already_refunded.json", status=400)

    [part] = refund(world, 10_000, django_capture_on_commit_callbacks)

    assert part.status == RefundStatus.FAILED
    assert part.failure_message == "Charge ch_3QrecordedTopUp01 has already been refunded."
    assert (wallet_fen(world.carrier), held(world.carrier)) == (30_000, 0)
    assert Hold.objects.get(pk=part.hold_id).status == HoldStatus.VOIDED
    assert TopUp.objects.get(pk=paid.pk).refunded_fen == 0
    assert account(world.platform, AccountPurpose.PROVIDER_CLEARING).balance_fen == -30_000
    assert_ledger_invariants()


def test_a_refund_stripe_did_not_answer_stays_held_until_reconciliation(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    credited(world, 30_000)
    http.answer("post", "/v1/refunds", "error_api_error.json", status=500)

    [part] = refund(world, 10_000, django_capture_on_commit_callbacks)
    assert (part.status, wallet_fen(world.carrier), held(world.carrier)) == (RefundStatus.PENDING, 20_000, 10_000)

    Refund.objects.filter(pk=part.pk).update(created_at=part.created_at - REFUND_SUBMIT_GRACE)
    http.answer("get", "/v1/payment_intents", "payment_intent_list.json", data=[])
    http.answer("post", "/v1/refunds", "refund_succeeded.json", amount=10_000)
    outcome = services.payments_reconcile()

    assert outcome["refund_succeeded"] == 1
    assert http.requests[0].headers["Idempotency-Key"] == http.requests[-1].headers["Idempotency-Key"]
    part.refresh_from_db()
    assert part.status == RefundStatus.SUCCEEDED
    assert (wallet_fen(world.carrier), held(world.carrier)) == (20_000, 0)
    assert_ledger_invariants()


def test_a_pending_refund_completes_on_its_event_once(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    credited(world, 30_000)
    http.answer("post", "/v1/refunds", "refund_pending.json", amount=10_000)

    [part] = refund(world, 10_000, django_capture_on_commit_callbacks)
    assert (part.status, part.provider_refund_id, held(world.carrier)) == (
        RefundStatus.PROCESSING,
        "re_3QrecordedRefund01",
        10_000,
    )

    delivery = signed(refund_event("refund.updated", part, "refund_succeeded.json"))
    for _ in range(2):
        assert post_webhook(Client(), *delivery).status_code == 200
    part.refresh_from_db()
    assert part.status == RefundStatus.SUCCEEDED
    assert (wallet_fen(world.carrier), held(world.carrier)) == (20_000, 0)
    assert_ledger_invariants()


def test_a_refund_failing_after_it_succeeded_is_reversed(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    paid = credited(world, 30_000)
    http.answer("post", "/v1/refunds", "refund_succeeded.json", amount=10_000)
    [part] = refund(world, 10_000, django_capture_on_commit_callbacks)
    assert wallet_fen(world.carrier) == 20_000

    assert post_webhook(Client(), *signed(refund_event("refund.failed", part, "refund_failed.json"))).status_code == 200

    part.refresh_from_db()
    assert (part.status, part.failure_message) == (RefundStatus.FAILED, "expired_or_canceled_card")
    assert wallet_fen(world.carrier) == 30_000
    assert TopUp.objects.get(pk=paid.pk).refunded_fen == 0
    assert_ledger_invariants()


def test_more_than_is_refundable_is_refused_and_changes_nothing(settings) -> None:
    http = use_stripe(settings)
    world = payer()
    credited(world, 30_000)
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(actor=Actor.of(world.admin), organisation=world.carrier, amount_fen=30_001)
    assert (refused.value.code, refused.value.status_code) == ("refund_exceeds_refundable", 409)
    assert (ledger_snapshot(), Refund.objects.count(), http.requests) == (before, 0, [])


def test_only_money_still_in_the_wallet_is_refundable(settings, django_capture_on_commit_callbacks) -> None:
    http = use_stripe(settings)
    world = payer()
    credited(world, 30_000)
    operator = cast(Organisation, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR))
    ledger_services.order_clear(external_id="order-1", payer=world.carrier, bill_shares={operator: 12_000})
    assert services.refundable_fen(organisation=world.carrier) == 18_000
    http.answer("post", "/v1/refunds", "refund_succeeded.json", amount=18_000)

    [part] = refund(world, None, django_capture_on_commit_callbacks)

    assert (part.amount_fen, part.status, wallet_fen(world.carrier)) == (18_000, RefundStatus.SUCCEEDED, 0)
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(actor=Actor.of(world.admin), organisation=world.carrier)
    assert refused.value.code == "nothing_to_refund"


def test_a_credit_line_is_not_refundable(settings) -> None:
    use_stripe(settings)
    world = payer()
    ledger_services.wallet_credit_line_set(
        actor=Actor(user_id=None, platform_admin=True), organisation=world.carrier, credit_line_fen=100_000
    )
    with pytest.raises(ApplicationError) as refused:
        services.refund_create(actor=Actor.of(world.admin), organisation=world.carrier)
    assert refused.value.code == "nothing_to_refund"
