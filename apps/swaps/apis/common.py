"""What the swaps views share: a JSON parser without floats, and the order as an actor sees it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.swaps import selectors
from apps.swaps.models import ControllerReport, OrderLine, OrderTransition, SwapOrder
from apps.swaps.serializers import moment_json, order_data, order_payload


class DecimalJSONParser(JSONParser):
    """JSON whose numbers with a fraction become ``Decimal``, never ``float`` (energy and money)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from None


def report_data(order: SwapOrder) -> dict[str, Any] | None:
    report = ControllerReport.objects.filter(order=order).first()
    if report is None:
        return None
    return {"received_at": moment_json(report.received_at), "outcome": report.outcome, "payload": report.payload}


def order_json(
    *, actor: Actor, order: SwapOrder, lines: list[OrderLine] | None = None, history: list[OrderTransition] | None = None
) -> dict[str, Any]:
    """The order serialized for the actor, who sees it (the selector or the service has decided).
    ``lines`` and ``history`` default to the order's (prefetched by ``selectors.order_get``)."""
    view = swap_access.order_view(actor, order)
    assert view is not None
    lines = list(order.lines.all()) if lines is None else lines
    if view == swap_access.OrderView.OWNER:
        mine = actor.owner_admin_of
        lines = [line for line in lines if line.beneficiary_id in mine or line.earner_id in mine]
    data = order_data(
        order,
        view=view,
        lines=lines,
        queue=selectors.queue_position(order=order),
        history=list(order.transitions.all()) if history is None else history,
        controller_report=report_data(order) if swap_access.sees_controller_report(actor, order) else None,
    )
    return order_payload(data)
