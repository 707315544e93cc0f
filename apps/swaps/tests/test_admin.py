"""The swaps admin, scoped by access: who lists and opens an order (a battery owner sees the
reduced view), controller keys (rotated by the operator's action, the secret never stored in the
clear) and custody events; nothing is changed through it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.swaps.models import BatteryCustodyEvent, ControllerCredential, SwapOrder
from apps.swaps.tests.factories import SwapWorld, advanced, swap_world

pytestmark = pytest.mark.django_db


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_user(role: str, organisation, **extra) -> User:
    return member(role, organisation, is_staff=True, **extra)


@pytest.fixture
def world_and_order() -> tuple[SwapWorld, SwapOrder]:
    world = swap_world()
    return world, advanced(world, "completed")


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("platform", True),
        ("operator", True),
        ("other_operator", False),
        ("owner", True),
        ("carrier", True),
        ("other_carrier", False),
    ],
)
def test_who_opens_an_order_in_the_admin(world_and_order, who: str, sees: bool) -> None:
    world, order = world_and_order
    organisation = {
        "platform": world.platform,
        "operator": world.operator,
        "other_operator": OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR),
        "owner": world.owner,
        "carrier": world.carrier,
        "other_carrier": OrganisationFactory(kind=OrganisationKind.CARRIER),
    }[who]
    role = {
        "platform": Role.PLATFORM_ADMIN,
        "operator": Role.OPERATOR_ADMIN,
        "other_operator": Role.OPERATOR_ADMIN,
        "owner": Role.OWNER_ADMIN,
        "carrier": Role.CARRIER_ADMIN,
        "other_carrier": Role.CARRIER_ADMIN,
    }[who]
    client = admin_client(staff_user(role, organisation))
    listing = client.get(reverse("admin:swaps_swaporder_changelist"))
    assert listing.status_code == 200
    page = client.get(reverse("admin:swaps_swaporder_change", args=[order.pk]))
    assert page.status_code == (200 if sees else 404)
    if not sees:
        return
    html = page.content.decode()
    if who == "owner":
        assert world.vehicle.plate not in html
        assert world.driver.display_name not in html
        assert "Order transitions" not in html
        assert "order transitions" not in html.lower()
    else:
        assert world.vehicle.plate in html
    assert 'name="_save"' not in html  # read-only


def test_the_operator_rotates_the_controller_key_from_the_admin(world_and_order) -> None:
    world, _order = world_and_order
    client = admin_client(staff_user(Role.OPERATOR_ADMIN, world.operator))
    response = client.post(
        reverse("admin:swaps_controllercredential_changelist"),
        {"action": "rotate", "_selected_action": [world.credential.pk]},
        follow=True,
    )
    assert response.status_code == 200
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    live = ControllerCredential.objects.get(station=world.station, revoked_at__isnull=True)
    assert live.pk != world.credential.pk
    assert live.key_id in message
    assert "sk_" in message
    assert "sk_" not in live.secret_encrypted


def test_another_operator_cannot_see_or_rotate_the_key(world_and_order) -> None:
    world, _order = world_and_order
    client = admin_client(staff_user(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)))
    assert client.get(reverse("admin:swaps_controllercredential_change", args=[world.credential.pk])).status_code == 404
    client.post(
        reverse("admin:swaps_controllercredential_changelist"), {"action": "rotate", "_selected_action": [world.credential.pk]}
    )
    assert ControllerCredential.objects.get(pk=world.credential.pk).revoked_at is None


def test_custody_events_are_seen_by_the_batterys_owner_and_not_by_strangers(world_and_order) -> None:
    world, order = world_and_order
    event = BatteryCustodyEvent.objects.filter(order=order).first()
    owner = admin_client(staff_user(Role.OWNER_ADMIN, world.owner))
    stranger = admin_client(staff_user(Role.OWNER_ADMIN, OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)))
    assert owner.get(reverse("admin:swaps_batterycustodyevent_change", args=[event.pk])).status_code == 200
    assert stranger.get(reverse("admin:swaps_batterycustodyevent_change", args=[event.pk])).status_code == 404
