"""The wallet and statements over HTTP. Reads only: the ledger is written by services.

Money is always ``{"amount_fen": int, "currency": "CNY"}``. Statements answer only to the party
they are for (its admins) and the platform; everyone else gets 404, as for a missing one.
Drivers get 404 from the wallet for now (ACCESS.md: a fleet driver is to see their own
spending and limits, not the fleet's balance; that view is not built yet).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.common.money import money_json
from apps.common.schema import ORGANISATION_PARAMETER, MoneyField
from apps.ledger import selectors
from apps.ledger.models import JournalTransaction, Statement


def _money_schema(name: str) -> Any:
    return inline_serializer(name, {"amount_fen": serializers.IntegerField(), "currency": serializers.CharField()})


# --- Wallet -----------------------------------------------------------------------------
class OrganisationQuerySerializer(serializers.Serializer[Any]):
    organisation = serializers.IntegerField(required=False, min_value=1)


def _wallet(request: Request) -> selectors.Wallet:
    query = OrganisationQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return selectors.wallet_get(actor=Actor.of(request.user), organisation_id=query.validated_data.get("organisation"))




class WalletApi(APIView):
    @extend_schema(
        parameters=[ORGANISATION_PARAMETER],
        responses=inline_serializer(
            "Wallet",
            {
                "organisation": serializers.IntegerField(),
                "balance": _money_schema("WalletBalance"),
                "held": _money_schema("WalletHeld"),
                "available": _money_schema("WalletAvailable"),
                "credit_line": _money_schema("WalletCreditLine"),
            },
        ),
        summary="The wallet of the caller's carrier: balance (held included), held, available now",
    )
    def get(self, request: Request) -> Response:
        wallet = _wallet(request)
        return Response(
            {
                "organisation": wallet.organisation.pk,
                "balance": money_json(wallet.balance_fen),
                "held": money_json(wallet.held_fen),
                "available": money_json(wallet.available_fen),
                "credit_line": money_json(wallet.credit_line_fen),
            }
        )


class MovementSerializer(serializers.ModelSerializer[JournalTransaction]):
    amount = MoneyField(source="net_fen")
    posted_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = JournalTransaction
        fields = ["id", "external_id", "movement_type", "reference", "amount", "posted_at"]


class WalletMovementListApi(ListAPIView[JournalTransaction]):
    serializer_class = MovementSerializer

    @extend_schema(parameters=[ORGANISATION_PARAMETER], summary="What changed the wallet, newest first (holds left out)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.wallet_movement_list(wallet=_wallet(self.request))


# --- Statements -------------------------------------------------------------------------
class StatementSerializer(serializers.ModelSerializer[Statement]):
    opening_balance = MoneyField(source="opening_balance_fen")
    closing_balance = MoneyField(source="closing_balance_fen")
    amount_payable = MoneyField(source="amount_payable_fen")
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Statement
        fields = [
            "id",
            "organisation",
            "currency",
            "account_period",
            "period_start",
            "period_end",
            "opening_balance",
            "closing_balance",
            "amount_payable",
            "due_date",
            "totals",
        ]

    @extend_schema_field(
        inline_serializer(
            "StatementTotal",
            {"movement_type": serializers.CharField(), "amount": _money_schema("StatementTotalAmount")},
            many=True,
        )
    )
    def get_totals(self, statement: Statement) -> list[dict[str, Any]]:
        return [
            {"movement_type": row["movement_type"], "amount": money_json(row["amount_fen"], statement.currency)}
            for row in selectors.statement_totals(statement=statement)
        ]


class PeriodQuerySerializer(serializers.Serializer[Any]):
    period = serializers.DateField(required=False, help_text="A date: the statement whose period holds it.")


class StatementListApi(ListAPIView[Statement]):
    serializer_class = StatementSerializer

    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.DATE, description="YYYY-MM-DD: the period holding this date")],
        summary="The organisation's statements (its admins and the platform only)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        query = PeriodQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        period: date | None = query.validated_data.get("period")
        return selectors.statement_list(
            actor=Actor.of(self.request.user), organisation_id=self.kwargs["organisation_id"], period=period
        )


class StatementLineSerializer(serializers.Serializer[Any]):
    posted_at = serializers.DateTimeField()
    movement_type = serializers.CharField()
    external_id = serializers.CharField(source="journal_transaction.external_id")
    reference = serializers.CharField(source="journal_transaction.reference")
    amount = MoneyField(source="amount_fen")


class StatementDetailApi(APIView):
    @extend_schema(
        responses=inline_serializer(
            "StatementDetail", {"statement": StatementSerializer(), "lines": StatementLineSerializer(many=True)}
        ),
        summary="One statement with its lines, each traced to its journal transaction",
    )
    def get(self, request: Request, organisation_id: int, statement_id: int) -> Response:
        statement = selectors.statement_get(
            actor=Actor.of(request.user), organisation_id=organisation_id, statement_id=statement_id
        )
        lines = statement.lines.select_related("journal_transaction").order_by("posted_at", "id")
        lines_data = StatementLineSerializer(lines, many=True).data
        return Response({"statement": StatementSerializer(statement).data, "lines": lines_data})


class CsvRenderer(BaseRenderer):
    """Lets ``Accept: text/csv`` through content negotiation; errors are still JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return JSONRenderer().render(data)


def _yuan(fen: int) -> str:
    """Fen as a yuan amount for people (integer arithmetic: no float)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def statement_csv(statement: Statement) -> str:
    """One table, one row kind per row: opening, each line, each movement type's total, closing,
    payable. Times are Asia/Shanghai."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "posted_at", "movement_type", "external_id", "reference", "amount_fen", "amount_cny"])

    def summary(row: str, day: date, fen: int) -> None:
        writer.writerow([row, day.isoformat(), "", "", "", fen, _yuan(fen)])

    summary("opening_balance", statement.period_start, statement.opening_balance_fen)
    for line in statement.lines.select_related("journal_transaction").order_by("posted_at", "id"):
        transfer = line.journal_transaction
        posted = timezone.localtime(line.posted_at).isoformat()
        writer.writerow(
            [
                "line",
                posted,
                line.movement_type,
                transfer.external_id,
                transfer.reference,
                line.amount_fen,
                _yuan(line.amount_fen),
            ]
        )
    for total in selectors.statement_totals(statement=statement):
        writer.writerow(["total", "", total["movement_type"], "", "", total["amount_fen"], _yuan(total["amount_fen"])])
    summary("closing_balance", statement.period_end, statement.closing_balance_fen)
    summary("amount_payable", statement.due_date, statement.amount_payable_fen)
    return out.getvalue()


class StatementCsvApi(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, summary="One statement as CSV")
    def get(self, request: Request, organisation_id: int, statement_id: int) -> HttpResponse:
        statement = selectors.statement_get(
            actor=Actor.of(request.user), organisation_id=organisation_id, statement_id=statement_id
        )
        response = HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8")
        filename = f"statement-{statement.organisation_id}-{statement.period_start.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
