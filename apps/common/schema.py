"""OpenAPI pieces shared by every app's views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers

from apps.common.idempotency import HEADER as IDEMPOTENCY_HEADER
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


# ``?organisation=``: whose wallet, for those who administer several payers (and the platform).
ORGANISATION_PARAMETER = OpenApiParameter(
    "organisation",
    {"type": "integer", "minimum": 1},
    description="The carrier or individual; needed by those who administer several (and by the platform).",
)


# ``Idempotency-Key`` on the POSTs that honour it (apps.common.idempotency).
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A retry with the same key returns the first answer.",
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


# Every operation may answer these with the error body; a view's own text for a status wins.
COMMON_ERRORS = {
    "400": "The input is invalid (`error.code` names why; `error.fields` the fields).",
    "401": "Not signed in, or the token is no longer valid.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object, or not one this caller may see (the two are not told apart).",
    "409": "The object's state does not allow it now, or an `Idempotency-Key` is in use.",
    "415": "The body is not in a supported content type (send JSON).",
    "429": "Too many requests; `Retry-After` says when to try again.",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}


# What apps.common.idempotency accepts: 1 to 255 printable ASCII characters, no outer spaces
# (HTTP strips them).
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
}


def common_errors_documented(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: document the shared error answers on every operation,
    so that clients (and the schema tests) know every status code the API can give, and the shape
    of an ``Idempotency-Key`` wherever one is taken."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "put", "patch", "post", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    parameter["schema"] = dict(IDEMPOTENCY_KEY_SCHEMA)
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, {"description": description, "content": error_content})
    return result


class _EmptyQueryValueKept(serializers.Field):
    """In a query string, a parameter given empty (``?status=``) is refused like any other value
    it may not take, instead of DRF's form habit of reading an empty value as absent."""

    def get_value(self, dictionary: Any) -> Any:
        if self.field_name in dictionary and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class QueryChoiceField(_EmptyQueryValueKept, serializers.ChoiceField):
    """One of the choices, in a query string; left out, it filters nothing."""


class QueryTextField(_EmptyQueryValueKept, serializers.CharField):
    """A text of at least one character, in a query string; left out, it filters nothing."""
