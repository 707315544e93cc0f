"""The Stripe client module against recorded answers at the library's own HTTP seam: what the
library sends, and how its errors become ProviderError (retryable when the outcome is unknown)."""

from __future__ import annotations

import pytest

from apps.payments.clients.recorded import RecordedHTTPClient, UnexpectedRequest
from apps.payments.providers.base import ProviderError
from apps.payments.tests.factories import RECORDED, stripe_provider


@pytest.fixture
def http() -> RecordedHTTPClient:
    return RecordedHTTPClient(RECORDED)


def test_requests_carry_the_secret_key_and_the_idempotency_key(http: RecordedHTTPClient) -> None:
    http.answer("post", "/v1/refunds", "refund_succeeded.json")
    result = stripe_provider(http).refund_create(
        intent_id="pi_3QrecordedTopUp01", amount_fen=20_000, idempotency_key="swapnet-refund-1", metadata={"swapnet_refund": "1"}
    )
    assert (result.id, result.status, result.amount, result.payment_intent) == (
        "re_3QrecordedRefund01",
        "succeeded",
        20_000,
        "pi_3QrecordedTopUp01",
    )
    [sent] = http.requests
    assert sent.headers["Authorization"] == "Bearer sk_test_recorded"
    assert sent.headers["Idempotency-Key"] == "swapnet-refund-1"
    assert sent.form == {"payment_intent": "pi_3QrecordedTopUp01", "amount": "20000", "metadata[swapnet_refund]": "1"}


def test_a_retrieved_intent_is_read_into_plain_data(http: RecordedHTTPClient) -> None:
    http.answer("get", "/v1/payment_intents/pi_3QrecordedTopUp01", "payment_intent_succeeded.json")
    intent = stripe_provider(http).intent_get("pi_3QrecordedTopUp01")
    assert (intent.status, intent.amount, intent.amount_received, intent.currency) == ("succeeded", 50_000, 50_000, "cny")
    assert intent.payment_method_types == ("card", "alipay", "wechat_pay")
    assert intent.created.timestamp() == 1767225600


@pytest.mark.parametrize(
    ("recording", "status", "retryable", "code"),
    [
        ("error_charge_already_refunded.json", 400, False, "charge_already_refunded"),
        ("error_balance_insufficient.json", 400, False, "balance_insufficient"),
        ("error_api_error.json", 500, True, ""),
    ],
)
def test_errors_become_provider_errors(http: RecordedHTTPClient, recording: str, status: int, retryable: bool, code: str) -> None:
    http.answer("post", "/v1/transfers", recording, status=status)
    with pytest.raises(ProviderError) as error:
        stripe_provider(http).transfer_create(
            destination="acct_1QrecordedOperator",
            amount_fen=100,
            currency="CNY",
            idempotency_key="k",
            metadata={},
            transfer_group="g",
        )
    assert (error.value.retryable, error.value.code) == (retryable, code)


def test_a_request_nobody_recorded_an_answer_for_fails_loudly(http: RecordedHTTPClient) -> None:
    with pytest.raises(UnexpectedRequest):
        stripe_provider(http).intent_get("pi_3Qnowhere")
