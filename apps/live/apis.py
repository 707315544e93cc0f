"""Tickets for API clients' WebSockets: a bearer token never goes in a URL."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import Actor
from apps.live import services


class LiveTicketApi(APIView):
    @extend_schema(
        request=None,
        responses={
            201: inline_serializer("LiveTicket", {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField()})
        },
        summary="A single-use ticket to open a WebSocket with (?ticket=...), valid for 60 s",
    )
    def post(self, request: Request) -> Response:
        ticket = services.ticket_issue(actor=Actor.of(request.user))
        return Response({"ticket": ticket.ticket, "expires_in": ticket.expires_in}, status=status.HTTP_201_CREATED)
