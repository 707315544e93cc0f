"""The fast order payload is exactly what ``OrderSerializer`` (the documented shape) gives."""

from __future__ import annotations

import json

import pytest
from rest_framework.renderers import JSONRenderer

from apps.access import Actor
from apps.access.swaps import order_view
from apps.swaps import selectors
from apps.swaps.apis.common import report_data
from apps.swaps.serializers import OrderSerializer, order_data, order_payload
from apps.swaps.tests.factories import advanced, swap_world
from apps.swaps.tests.test_completion import report

pytestmark = pytest.mark.django_db


def both(actor: Actor, order_id: int) -> tuple[object, object]:
    order = selectors.order_get(actor=actor, order_id=order_id)
    view = order_view(actor, order)
    lines = list(order.lines.all())
    if view == "owner":
        lines = [line for line in lines if line.beneficiary_id in actor.owner_admin_of or line.earner_id in actor.owner_admin_of]
    data = order_data(
        order,
        view=view,
        lines=lines,
        queue=selectors.queue_position(order=order),
        history=list(order.transitions.all()),
        controller_report=report_data(order),
    )
    rendered = json.loads(JSONRenderer().render(OrderSerializer(data).data))
    return rendered, json.loads(JSONRenderer().render(order_payload(data)))


@pytest.mark.parametrize("state", ["queued", "called", "swapping", "completed", "abnormal"])
@pytest.mark.parametrize("who", ["driver", "staff", "owner_admin"])
def test_the_fast_payload_equals_the_serializer(state: str, who: str) -> None:
    world = swap_world()
    if state == "abnormal":
        order = advanced(world, "swapping")
        report(world, order, returned_battery=None)
    else:
        order = advanced(world, state)
    user = world.driver if who == "driver" else world.users[who]
    serialized, fast = both(Actor.of(user), order.pk)
    assert fast == serialized
