"""The access matrix of ACCESS.md for a swap's bill explanation (``GET /api/v1/swaps/{id}/bill/explanation``):
the order's own rule — its driver, their carrier's admins, the station's operator admins and
staff, the platform (every line), the owner of either battery (its own fee lines only); anyone
else 404 like a missing order, with nothing changed."""

from __future__ import annotations

import pytest

from apps.swaps.tests.factories import advanced
from tests.test_access_matrix_swaps import ACTORS, SEES_ORDER, Matrix, client, expect, matrix, state

pytestmark = pytest.mark.django_db

__all__ = ["matrix"]  # the fixture, shared with the swaps matrix


@pytest.mark.parametrize("actor", ACTORS)
def test_bill_explanation_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "completed")
    before = state()
    response = client(matrix, actor).get(f"/api/v1/swaps/{order.pk}/bill/explanation")
    allowed = expect(response, actor, SEES_ORDER)
    assert state() == before
    if not allowed:
        return
    body = response.json()
    assert body["order"] == order.pk
    kinds = [line["kind"] for line in body["bill"]["lines"]]
    content = response.content.decode()
    if actor == "battery_owner":
        assert body["view"] == "owner"
        assert kinds == ["battery_usage"]
        assert matrix.world.driver.display_name not in content
        assert matrix.world.vehicle.plate not in content
    else:
        assert body["view"] == "full"
        assert kinds[0] == "energy"
        assert "battery_usage" in kinds


def test_a_hidden_explanation_answers_like_a_missing_order(matrix: Matrix) -> None:
    order = advanced(matrix.world, "completed")
    api = client(matrix, "other_battery_owner")
    hidden, missing = api.get(f"/api/v1/swaps/{order.pk}/bill/explanation"), api.get("/api/v1/swaps/999999/bill/explanation")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
