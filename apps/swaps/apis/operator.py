"""A station's operator admins: rotate the controller key (the new secret shown once) and print
the bay codes. Anyone else gets 404: these are the station's internals (ACCESS.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.assets.models import Bay
from apps.swaps import selectors, services
from apps.swaps.bay_codes import bay_codes_svg
from apps.swaps.serializers import NewKeySerializer


class SvgRenderer(BaseRenderer):
    media_type = "image/svg+xml"
    format = "svg"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return JSONRenderer().render(data)  # an error body


class ControllerKeyApi(APIView):
    @extend_schema(
        request=None,
        responses={201: NewKeySerializer},
        summary="Rotate the station's controller key (its operator admins); the secret is shown once",
    )
    def post(self, request: Request, code: str) -> Response:
        actor = Actor.of(request.user)
        station = selectors.station_internals_get(actor=actor, code=code)
        made = services.controller_key_rotate(actor=actor, station=station)
        data = {
            "station": station.code,
            "key_id": made.credential.key_id,
            "secret": made.secret,
            "created_at": made.credential.created_at,
        }
        return Response(NewKeySerializer(data).data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class BayCodesSvgApi(APIView):
    renderer_classes = [JSONRenderer, SvgRenderer]

    @extend_schema(
        responses={(200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="A printable SVG sheet of the station's printed bay codes (its operator admins)",
    )
    def get(self, request: Request, code: str) -> HttpResponse:
        station = selectors.station_internals_get(actor=Actor.of(request.user), code=code)
        svg = bay_codes_svg(station=station, bays=list(Bay.objects.filter(station=station).order_by("number")))
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{station.code}-bay-codes.svg"'
        return response
