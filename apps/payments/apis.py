"""Top-ups, refunds and the provider's webhook over HTTP.

One view per operation: validate input -> selector -> one service -> serialize. A wallet the
caller may not see answers 404 (as a missing one); one they see but may not pay into or refund
(the platform) answers 403. POSTs take ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.access import payments as payments_access
from apps.common.idempotency import HEADER, idempotent
from apps.common.inputs import validated
from apps.common.money import money_json
from apps.common.schema import IDEMPOTENCY_KEY, ORGANISATION_PARAMETER, MoneyField, MoneySerializer, error_response
from apps.payments import selectors, services
from apps.payments.models import Provider, Refund, TopUp, TopUpStatus
from apps.payments.providers import checkout_path


class OrganisationQuery(serializers.Serializer[Any]):
    organisation = serializers.IntegerField(required=False, min_value=1)


def _actor(request: Request) -> Actor:
    actor = getattr(request, "_payments_actor", None)
    if actor is None:
        actor = Actor.of(request.user)
        request._payments_actor = actor  # type: ignore[attr-defined]
    return actor


# --- Top-ups ------------------------------------------------------------------------------
class TopUpSerializer(serializers.ModelSerializer[TopUp]):
    amount = MoneyField(source="amount_fen")
    refunded = MoneyField(source="refunded_fen")
    payment_intent = serializers.CharField(source="provider_intent_id")
    client_secret = serializers.SerializerMethodField(help_text="For the payer's app while the top-up awaits payment.")
    publishable_key = serializers.SerializerMethodField(help_text="Stripe's publishable key (Stripe only).")
    checkout_url = serializers.SerializerMethodField(help_text="The sandbox's checkout page (sandbox only).")

    class Meta:
        model = TopUp
        fields = [
            "id",
            "organisation",
            "status",
            "amount",
            "refunded",
            "provider",
            "payment_intent",
            "client_secret",
            "publishable_key",
            "checkout_url",
            "payment_method_types",
            "failure_message",
            "created_at",
            "succeeded_at",
        ]

    def _payer_may_pay(self, top_up: TopUp) -> bool:
        actor: Actor = self.context["actor"]
        open_ = top_up.status in (TopUpStatus.PENDING, TopUpStatus.PROCESSING)
        return open_ and payments_access.may_top_up(actor, top_up.organisation)

    def get_client_secret(self, top_up: TopUp) -> str | None:
        return top_up.client_secret if self._payer_may_pay(top_up) else None

    def get_publishable_key(self, top_up: TopUp) -> str | None:
        if top_up.provider != Provider.STRIPE:
            return None
        return settings.STRIPE_PUBLISHABLE_KEY or None

    def get_checkout_url(self, top_up: TopUp) -> str | None:
        if not self._payer_may_pay(top_up):
            return None
        path = checkout_path(provider=top_up.provider, intent_id=top_up.provider_intent_id, client_secret=top_up.client_secret)
        request: Request | None = self.context.get("request")
        return request.build_absolute_uri(path) if path and request is not None else path


class TopUpInput(serializers.Serializer[Any]):
    amount_fen = serializers.IntegerField(min_value=1, help_text="Integer fen (CNY minor units).")
    organisation = serializers.IntegerField(required=False, min_value=1)


class WalletTopUpListCreateApi(ListAPIView[TopUp]):
    serializer_class = TopUpSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": _actor(self.request)}

    def get_queryset(self) -> Any:
        query = validated(OrganisationQuery, self.request.query_params)
        actor = _actor(self.request)
        organisation = selectors.payer_get(actor=actor, organisation_id=query.get("organisation"))
        return selectors.top_up_list(actor=actor, organisation=organisation).select_related("organisation")

    @extend_schema(parameters=[ORGANISATION_PARAMETER], summary="The wallet's top-ups, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TopUpInput,
        responses={
            201: TopUpSerializer,
            400: error_response("invalid, amount_out_of_range, organisation_required, idempotency_key_invalid"),
            403: error_response("permission_denied: only the payer's own admins top up (not the platform)"),
            404: error_response("not_found: no such wallet, or not the caller's"),
            409: error_response("idempotency_in_flight"),
            422: error_response("idempotency_key_reused"),
            502: error_response("payment_provider_unavailable (try again, same key), payment_provider_refused"),
            503: error_response("payments_not_configured"),
        },
        parameters=[IDEMPOTENCY_KEY],
        summary="Top up the wallet: a payment intent to pay (Stripe's client secret, or the sandbox's checkout page)",
        description=(
            "The wallet is credited when the provider reports the payment succeeded, never by this call. "
            "Refusals: amount_out_of_range 400, permission_denied 403 (the platform), not_found 404, "
            "payment_provider_unavailable / payment_provider_refused 502, payments_not_configured 503."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(TopUpInput, request.data)
        actor = _actor(request)
        organisation = selectors.payer_get(actor=actor, organisation_id=data.get("organisation"))
        top_up = services.topup_create(
            actor=actor, organisation=organisation, amount_fen=data["amount_fen"], request_key=request.headers.get(HEADER)
        )
        body = TopUpSerializer(top_up, context={"actor": actor, "request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class WalletTopUpDetailApi(APIView):
    @extend_schema(responses=TopUpSerializer, summary="One top-up (poll it after paying)")
    def get(self, request: Request, top_up_id: int) -> Response:
        actor = _actor(request)
        top_up = selectors.top_up_get(actor=actor, top_up_id=top_up_id)
        return Response(TopUpSerializer(top_up, context={"actor": actor, "request": request}).data)


# --- Refunds ------------------------------------------------------------------------------
class RefundSerializer(serializers.ModelSerializer[Refund]):
    amount = MoneyField(source="amount_fen")
    top_up = serializers.IntegerField(source="top_up_id")

    class Meta:
        model = Refund
        fields = ["id", "batch", "organisation", "top_up", "amount", "status", "failure_message", "created_at", "finished_at"]


class RefundInput(serializers.Serializer[Any]):
    amount_fen = serializers.IntegerField(
        required=False, min_value=1, help_text="Integer fen; all that is refundable if left out."
    )
    organisation = serializers.IntegerField(required=False, min_value=1)


class WalletRefundListCreateApi(ListAPIView[Refund]):
    serializer_class = RefundSerializer

    def get_queryset(self) -> Any:
        query = validated(OrganisationQuery, self.request.query_params)
        actor = _actor(self.request)
        organisation = selectors.payer_get(actor=actor, organisation_id=query.get("organisation"))
        return selectors.refund_list(actor=actor, organisation=organisation)

    @extend_schema(
        parameters=[ORGANISATION_PARAMETER], summary="The wallet's refunds (one row per top-up refunded), newest first"
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=RefundInput,
        responses={
            202: inline_serializer(
                "RefundRequest",
                {"batch": serializers.UUIDField(), "amount": MoneySerializer(), "refunds": RefundSerializer(many=True)},
            ),
            400: error_response("invalid, organisation_required, idempotency_key_invalid"),
            402: error_response("debt_outstanding: an unpaid bill is paid first"),
            403: error_response("permission_denied: only the payer's own admins refund (not the platform)"),
            404: error_response("not_found: no such wallet, or not the caller's"),
            409: error_response("nothing_to_refund, refund_exceeds_refundable, idempotency_in_flight"),
            422: error_response("idempotency_key_reused"),
        },
        parameters=[IDEMPOTENCY_KEY],
        summary="Refund unused wallet balance to the payment methods it came from (oldest top-ups first)",
        description=(
            "The money is held at once and refunded by the provider after the answer; each part's status becomes "
            "succeeded, or failed with the provider's reason and the money back in the wallet (poll the refunds). "
            "Refusals: nothing_to_refund / refund_exceeds_refundable 409, debt_outstanding 402, permission_denied 403."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(RefundInput, request.data)
        actor = _actor(request)
        organisation = selectors.payer_get(actor=actor, organisation_id=data.get("organisation"))
        refunds = services.refund_create(actor=actor, organisation=organisation, amount_fen=data.get("amount_fen"))
        body = {
            "batch": str(refunds[0].batch),
            "amount": money_json(sum(refund.amount_fen for refund in refunds)),
            "refunds": RefundSerializer(refunds, many=True).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class WalletRefundDetailApi(APIView):
    @extend_schema(responses=RefundSerializer, summary="One refund")
    def get(self, request: Request, refund_id: int) -> Response:
        return Response(RefundSerializer(selectors.refund_get(actor=_actor(request), refund_id=refund_id)).data)


class WalletRefundableApi(APIView):
    @extend_schema(
        parameters=[ORGANISATION_PARAMETER],
        responses=inline_serializer("Refundable", {"organisation": serializers.IntegerField(), "refundable": MoneySerializer()}),
        summary="How much of the wallet can be refunded now",
    )
    def get(self, request: Request) -> Response:
        query = validated(OrganisationQuery, request.query_params)
        organisation = selectors.payer_get(actor=_actor(request), organisation_id=query.get("organisation"))
        return Response(
            {"organisation": organisation.pk, "refundable": money_json(services.refundable_fen(organisation=organisation))}
        )


# --- The provider's webhook ---------------------------------------------------------------
class StripeWebhookApi(APIView):
    """Stripe's events (and the sandbox's, signed the same way). No session, no token: the
    signature is the credential, checked against the raw body."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        request={"application/json": inline_serializer("StripeEvent", {"id": serializers.CharField()})},
        responses={
            200: inline_serializer(
                "WebhookReceived",
                {"event": serializers.CharField(), "status": serializers.CharField(), "duplicate": serializers.BooleanField()},
            ),
            400: error_response("signature_invalid (nothing is stored), event_malformed"),
            500: inline_serializer(
                "WebhookFailed",
                {"event": serializers.CharField(), "status": serializers.CharField(), "duplicate": serializers.BooleanField()},
            ),
        },
        parameters=[OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)],
        summary="Payment provider events: signature verified (400 if not), stored by id, applied once",
        description="An event that could not be applied is stored as failed and answers 500, so that it is delivered again.",
    )
    def post(self, request: Request) -> Response:
        result = services.webhook_receive(payload=request.body, signature_header=request.headers.get("Stripe-Signature"))
        body = {"event": result.event.event_id, "status": result.event.status, "duplicate": result.duplicate}
        return Response(body, status=status.HTTP_200_OK if result.acknowledged else status.HTTP_500_INTERNAL_SERVER_ERROR)
