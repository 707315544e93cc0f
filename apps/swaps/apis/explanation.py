"""A swap's quote and bill explained line by line (``apps.swaps.explanation``).

Who may read it is the order's rule: the selector ``order_get`` answers 404 for an order the
caller does not see, exactly like a missing one; a battery owner gets its own fee lines only.
The serializers below describe the answer for the OpenAPI schema; the body is written by
``bill_explanation`` (a test holds the two equal).
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.common.schema import MoneySerializer, error_response
from apps.swaps import selectors
from apps.swaps.explanation import bill_explanation


def _kwh(**options: Any) -> serializers.CharField:
    return serializers.CharField(help_text="kWh, a decimal string with three decimals.", **options)


class OrganisationRefSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()


class PriceSourceSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["station_tariff", "battery_rate"])
    id = serializers.IntegerField(help_text="The tariff or rate version the unit price came from.")
    effective_from = serializers.DateTimeField()
    scope = serializers.ChoiceField(
        choices=["battery_grade", "battery", "owner_grade", "owner"],
        allow_null=True,
        help_text="A battery rate: for this battery (and its health grade) or the owner's default.",
    )
    health_grade = serializers.CharField(allow_null=True)


class RoundingFields(serializers.Serializer[Any]):
    amount = MoneySerializer()
    exact_amount = serializers.CharField(help_text="The amount before rounding, in yuan (six decimals).")
    rounding_fen = serializers.CharField(help_text="Rounded amount less the exact amount, in fen (signed).")
    rule = serializers.CharField(help_text="half_up_to_fen: each line rounded once, half up.")


class ExplainedLineSerializer(RoundingFields):
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["energy", "service_energy", "service_swap", "battery_usage"])
    title = serializers.CharField()
    beneficiary = OrganisationRefSerializer()
    period = serializers.CharField(allow_null=True)
    period_label = serializers.CharField(allow_null=True)
    kwh = _kwh(allow_null=True)
    derivation = serializers.CharField(allow_blank=True, help_text="How the kWh (or the fee) was derived, in words.")
    unit_price = serializers.CharField(help_text="CNY per kWh, or per swap.")
    price_source = PriceSourceSerializer(allow_null=True)


class ContractRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    effective_from = serializers.DateField()
    min = MoneySerializer()
    max = MoneySerializer(allow_null=True)


class ExplainedCommissionSerializer(RoundingFields):
    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["commission"])
    title = serializers.CharField()
    earner = OrganisationRefSerializer(help_text="Whose lines it comes out of.")
    beneficiary = OrganisationRefSerializer()
    base = MoneySerializer(help_text="The earner's share of the bill.")
    rate = serializers.CharField(help_text="A fraction: 0.05 is 5 %.")
    contract = ContractRefSerializer(allow_null=True)
    bound = serializers.ChoiceField(choices=["minimum", "maximum"], allow_null=True)
    derivation = serializers.CharField()


class PeriodPartSerializer(serializers.Serializer[Any]):
    period = serializers.CharField()
    period_label = serializers.CharField()
    kwh = _kwh()


class PeriodShareSerializer(PeriodPartSerializer):
    share_pct = serializers.CharField()


class IntervalSerializer(serializers.Serializer[Any]):
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(help_text="Cut at the moment of pricing.")
    kwh = _kwh()
    by_period = PeriodPartSerializer(many=True)


class ChargingSerializer(serializers.Serializer[Any]):
    since = serializers.DateTimeField(allow_null=True, help_text="When the delivered battery last left a vehicle.")
    until = serializers.DateTimeField()
    intervals = IntervalSerializer(many=True)
    charged_kwh = _kwh()
    by_period = PeriodShareSerializer(many=True)


class CalendarRefSerializer(serializers.Serializer[Any]):
    zone = serializers.CharField()
    effective_from = serializers.DateField()
    policy = serializers.CharField(allow_blank=True)
    swap_time_period = serializers.CharField(allow_null=True)


class ExplainedStageSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=["quote", "bill"])
    priced_at = serializers.DateTimeField(allow_null=True)
    total = MoneySerializer()
    delivered_battery = serializers.CharField(allow_null=True)
    delivered_kwh = _kwh(allow_null=True)
    returned_battery = serializers.CharField(allow_null=True)
    returned_kwh = _kwh(allow_null=True)
    energy_kwh = _kwh()
    energy_basis = serializers.ChoiceField(choices=["charging_history", "swap_time_period", "no_energy"], allow_null=True)
    charging = ChargingSerializer(allow_null=True, help_text="The full view only.")
    tariff = PriceSourceSerializer(allow_null=True)
    calendar = CalendarRefSerializer(allow_null=True, help_text="The full view only.")
    lines = ExplainedLineSerializer(many=True)
    commissions = ExplainedCommissionSerializer(many=True, help_text="Of which, platform commission: not added to the total.")
    reproduced = serializers.BooleanField(help_text="Pricing the rebuilt inputs again gives the stored lines.")


class ComparisonSerializer(serializers.Serializer[Any]):
    quote = MoneySerializer()
    bill = MoneySerializer(allow_null=True)
    difference = MoneySerializer(allow_null=True, help_text="Bill less quote (signed).")
    difference_pct = serializers.CharField(allow_null=True)
    tolerance_pct = serializers.CharField()
    beyond_tolerance = serializers.BooleanField(allow_null=True)
    review_required = serializers.BooleanField()
    review_reason = serializers.CharField(allow_blank=True)


class StationNamesSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name_zh = serializers.CharField()
    name_en = serializers.CharField()


class BillExplanationSerializer(serializers.Serializer[Any]):
    order = serializers.IntegerField()
    view = serializers.ChoiceField(choices=["full", "owner"])
    state = serializers.CharField()
    station = StationNamesSerializer()
    currency = serializers.CharField()
    explained_at = serializers.DateTimeField()
    quote = ExplainedStageSerializer(allow_null=True)
    bill = ExplainedStageSerializer(allow_null=True)
    comparison = ComparisonSerializer()


class BillExplanationApi(APIView):
    @extend_schema(
        responses={200: BillExplanationSerializer, 404: error_response("not_found: no such order, or not yours to see.")},
        summary="The quote and bill explained line by line: kWh and how they were derived, unit price and its "
        "version, amount and rounding, beneficiary, commission, quote against bill",
        description=(
            "Same access as GET /api/v1/swaps/{id}: the driver, their carrier's admins, the station's operator "
            "admins and staff, the platform see every line; the owner of either battery sees only its own fee "
            "lines and their commission, never the driver or the vehicle. Others: 404. The words (titles, "
            "period names, derivations) are in the caller's language: Chinese by default, English on request "
            "(Accept-Language or the django_language cookie)."
        ),
    )
    def get(self, request: Request, order_id: int) -> Response:
        actor = Actor.of(request.user)
        order = selectors.order_get(actor=actor, order_id=order_id)
        # Paths without a language prefix get the default language from LocaleMiddleware; the
        # words are in the caller's own (the django_language cookie, then Accept-Language).
        language = translation.get_language_from_request(request._request)
        with translation.override(language):
            response = Response(bill_explanation(actor=actor, order=order))
        response["Content-Language"] = language
        return response
