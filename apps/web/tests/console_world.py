"""A world for the consoles' tests: the swap world with a completed order, an abnormal order,
a closed statement for the operator and the carrier, and a second, unrelated world whose
people stand for "another carrier / operator / owner"."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from apps.access import Actor
from apps.accounts.tests.factories import UserFactory
from apps.ledger.services.settlement import statement_close
from apps.swaps.services import swap_mark_abnormal
from apps.swaps.tests.factories import SwapWorld, advanced, swap_world

WHO = [
    "anonymous",
    "newcomer",
    "driver",
    "other_driver",
    "staff",
    "other_staff",
    "operator_admin",
    "other_operator_admin",
    "carrier_admin",
    "other_carrier_admin",
    "owner_admin",
    "other_owner_admin",
    "platform_admin",
]


def console_world() -> SwapWorld:
    world = swap_world(stock=3)
    world.order = advanced(world, "completed")
    driver, vehicle = world.add_driver()
    stuck = advanced(world, "swapping", driver=driver, vehicle=vehicle)
    swap_mark_abnormal(actor=Actor.of(world.users["staff"]), order=stuck, reason="staff_reported", detail="robot stopped")
    stuck.refresh_from_db()
    world.abnormal = stuck
    world.second_driver = driver
    later = timezone.now() + timedelta(days=40)
    today = timezone.localdate()
    world.operator_statement = statement_close(organisation=world.operator, period_start=today, now=later)
    world.carrier_statement = statement_close(organisation=world.carrier, period_start=today.replace(day=1), now=later)
    other = swap_world()
    world.other = other
    world.users["driver"] = world.driver
    world.users["newcomer"] = UserFactory.create()
    for role in ("staff", "operator_admin", "carrier_admin", "owner_admin"):
        world.users[f"other_{role}"] = other.users[role]
    world.users["other_driver"] = other.driver
    return world


def client_for(world: SwapWorld, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    return client
