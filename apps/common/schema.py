"""OpenAPI pieces shared by every app's views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers

from apps.common.money import money_json

# The body of every error (apps.common.errors); "fields" cannot be a declared field name.
ERROR_BODY = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        )
    },
)


def error_response(description: str) -> OpenApiResponse:
    """An error response for ``extend_schema(responses=...)``; name its stable codes in the text."""
    return OpenApiResponse(ERROR_BODY, description=description)


class MoneySerializer(serializers.Serializer[Any]):
    """Money in the API: ``{"amount_fen": 12345, "currency": "CNY"}`` (API.md)."""

    amount_fen = serializers.IntegerField()
    currency = serializers.CharField()


@extend_schema_field(MoneySerializer)
class MoneyField(serializers.Field):
    """A read-only field that shows an integer fen attribute as money."""

    def __init__(self, *, currency: str = "CNY", **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.currency = currency

    def to_representation(self, value: int) -> dict[str, int | str]:
        return money_json(int(value), self.currency)
