from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.accounts import selectors
from apps.accounts.models import Organisation


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "name_en", "kind"]


class OrganisationListApi(ListAPIView[Organisation]):
    serializer_class = OrganisationSerializer

    @extend_schema(summary="The caller's organisations (all of them for the platform)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.organisation_list(actor=Actor.of(self.request.user))


class OrganisationDetailApi(APIView):
    @extend_schema(responses=OrganisationSerializer, summary="One of the caller's organisations")
    def get(self, request: Request, organisation_id: int) -> Response:
        organisation = selectors.organisation_get(actor=Actor.of(request.user), organisation_id=organisation_id)
        return Response(OrganisationSerializer(organisation).data)
