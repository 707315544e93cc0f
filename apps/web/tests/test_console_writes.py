"""The consoles' writes through the pages: drivers' spending limits, a station's tariff, a
battery owner's usage rate, resolving an abnormal order. Each refusal leaves everything as it was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import DriverInvitation, InvitationStatus, Membership, Role
from apps.accounts.services import carriers as carrier_services
from apps.assets.models import Vehicle
from apps.billing.models import BatteryRate, StationTariff
from apps.billing.selectors import tariff_in_force
from apps.common.identifiers import vin_check_digit
from apps.ledger.models import JournalTransaction
from apps.ledger.selectors import wallet_get
from apps.swaps.models import OrderState
from apps.swaps.tests.factories import SwapWorld
from apps.web.tests.console_world import client_for, console_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> SwapWorld:
    return console_world()


def _limits(world: SwapWorld) -> tuple[int | None, int | None]:
    membership = Membership.objects.get(organisation=world.carrier, user=world.driver, role=Role.DRIVER)
    return membership.limit_per_swap_fen, membership.limit_per_day_fen


def _tariffs(world: SwapWorld) -> list[tuple[object, ...]]:
    return list(StationTariff.objects.filter(station=world.station).values_list("pk", "price_peak", "effective_from"))


TARIFF = {
    "price_sharp": "1.5000",
    "price_peak": "1.2000",
    "price_flat": "0.8000",
    "price_valley": "0.4000",
    "price_deep_valley": "0.3000",
    "service_fee_per_kwh": "0.5000",
    "service_fee_per_swap": "10",
}


# --- limits ---------------------------------------------------------------------------------
def test_a_carrier_admin_sets_a_driver_s_limits_in_yuan(world: SwapWorld) -> None:
    response = client_for(world, "carrier_admin").post(
        f"/carrier/drivers/{world.driver.pk}/limits", {"per_swap_yuan": "800.50", "per_day_yuan": ""}
    )
    assert (response.status_code, response["Location"]) == (302, f"/carrier/drivers?carrier={world.carrier.pk}")
    assert _limits(world) == (80_050, None)
    page = client_for(world, "carrier_admin").get("/carrier/drivers").content.decode()
    assert 'value="800.50"' in page


def test_a_limit_with_fractions_of_a_fen_is_refused_and_nothing_changes(world: SwapWorld) -> None:
    before = _limits(world)
    client = client_for(world, "carrier_admin")
    response = client.post(f"/carrier/drivers/{world.driver.pk}/limits", {"per_swap_yuan": "1.005", "per_day_yuan": "-1"})
    assert response.status_code == 302
    assert _limits(world) == before
    assert "flash-error" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("who", ["other_carrier_admin", "driver", "operator_admin", "platform_admin"])
def test_others_cannot_set_the_fleet_s_limits(world: SwapWorld, who: str) -> None:
    before = _limits(world)
    response = client_for(world, who).post(
        f"/carrier/drivers/{world.driver.pk}/limits?carrier={world.carrier.pk}", {"per_swap_yuan": "1", "per_day_yuan": "1"}
    )
    assert response.status_code == 404
    assert _limits(world) == before


def test_another_carrier_s_driver_is_not_found_in_this_fleet(world: SwapWorld) -> None:
    before = Membership.objects.get(user=world.other.driver, role=Role.DRIVER).limit_per_swap_fen
    response = client_for(world, "carrier_admin").post(f"/carrier/drivers/{world.other.driver.pk}/limits", {"per_swap_yuan": "1"})
    assert response.status_code == 404
    assert Membership.objects.get(user=world.other.driver, role=Role.DRIVER).limit_per_swap_fen == before


# --- tariffs and rates --------------------------------------------------------------------------
def test_the_operator_puts_a_new_tariff_in_force(world: SwapWorld) -> None:
    count = StationTariff.objects.filter(station=world.station).count()
    response = client_for(world, "operator_admin").post(
        f"/ops/tariffs/{world.station.code}", {f"{world.station.code}-{k}": v for k, v in TARIFF.items()}
    )
    assert response.status_code == 302
    assert StationTariff.objects.filter(station=world.station).count() == count + 1
    tariff = tariff_in_force(station=world.station, at=timezone.now())
    assert tariff is not None
    assert (tariff.price_peak, tariff.price_valley, tariff.service_fee_per_swap) == (
        Decimal("1.2000"), Decimal("0.4000"), Decimal("10.00")
    )  # fmt: skip


def test_a_malformed_tariff_is_refused_and_nothing_changes(world: SwapWorld) -> None:
    before = _tariffs(world)
    bad = {**TARIFF, "price_peak": "-1"}
    client_for(world, "operator_admin").post(
        f"/ops/tariffs/{world.station.code}", {f"{world.station.code}-{k}": v for k, v in bad.items()}
    )
    assert _tariffs(world) == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("other_operator_admin", 404), ("owner_admin", 404), ("staff", 404), ("carrier_admin", 404), ("platform_admin", 302)],
)
def test_only_the_station_s_operator_changes_its_tariff(world: SwapWorld, who: str, status: int) -> None:
    before = _tariffs(world)
    response = client_for(world, who).post(
        f"/ops/tariffs/{world.station.code}", {f"{world.station.code}-{k}": v for k, v in TARIFF.items()}
    )
    assert response.status_code == status
    assert _tariffs(world) == before  # the platform sees the station but the service refuses it


def test_a_battery_owner_sets_its_default_usage_rate(world: SwapWorld) -> None:
    response = client_for(world, "owner_admin").post(
        f"/ops/rates/{world.owner.pk}", {f"owner-{world.owner.pk}-fee_per_kwh": "0.4200"}
    )
    assert response.status_code == 302
    latest = BatteryRate.objects.filter(owner=world.owner, battery__isnull=True).order_by("-effective_from").first()
    assert latest is not None
    assert latest.fee_per_kwh == Decimal("0.4200")


def test_another_owner_cannot_set_this_owner_s_rate(world: SwapWorld) -> None:
    before = BatteryRate.objects.filter(owner=world.owner).count()
    response = client_for(world, "other_owner_admin").post(
        f"/ops/rates/{world.owner.pk}", {f"owner-{world.owner.pk}-fee_per_kwh": "9"}
    )
    assert response.status_code == 404
    assert BatteryRate.objects.filter(owner=world.owner).count() == before


# --- abnormal orders ----------------------------------------------------------------------------
def _resolve_form(world: SwapWorld) -> dict[str, str]:
    order = world.abnormal
    return {
        "action": "complete",
        "delivered_battery": order.reserved_battery.code,
        "returned_battery": order.expected_return_battery.code,
        "delivered_kwh": str(order.reserved_battery.energy_kwh - Decimal(1)),
        "returned_kwh": "55.500",
        "note": "checked the BMS log",
    }


def test_the_operator_completes_an_abnormal_order_with_corrected_readings(world: SwapWorld) -> None:
    client = client_for(world, "operator_admin")
    page = client.get("/ops/abnormal").content.decode()
    assert f'value="{world.abnormal.reserved_battery.code}"' in page  # the form starts from what the order expects
    response = client.post(f"/ops/abnormal/{world.abnormal.pk}/resolve", _resolve_form(world))
    assert response.status_code == 302
    world.abnormal.refresh_from_db()
    assert world.abnormal.state == OrderState.COMPLETED
    assert world.abnormal.bill_total_fen is not None
    assert world.abnormal.bill_total_fen > 0
    assert f'data-testid="abnormal-{world.abnormal.pk}"' not in client.get("/ops/abnormal").content.decode()


def test_the_platform_cancels_an_abnormal_order_and_the_hold_is_released(world: SwapWorld) -> None:
    held_before = wallet_get(actor=Actor.of(world.users["carrier_admin"])).held_fen
    response = client_for(world, "platform_admin").post(f"/ops/abnormal/{world.abnormal.pk}/resolve", {"action": "cancel"})
    assert response.status_code == 302
    world.abnormal.refresh_from_db()
    assert world.abnormal.state == OrderState.CANCELLED
    assert wallet_get(actor=Actor.of(world.users["carrier_admin"])).held_fen == held_before - world.abnormal.quote_total_fen


def test_readings_the_service_refuses_leave_the_order_abnormal(world: SwapWorld) -> None:
    transactions = JournalTransaction.objects.count()
    form = {**_resolve_form(world), "returned_kwh": "9999.000"}  # more than was handed out
    client = client_for(world, "operator_admin")
    response = client.post(f"/ops/abnormal/{world.abnormal.pk}/resolve", form)
    assert response.status_code == 302
    world.abnormal.refresh_from_db()
    assert world.abnormal.state == OrderState.ABNORMAL
    assert JournalTransaction.objects.count() == transactions
    assert "flash-error" in client.get("/ops/abnormal").content.decode()


@pytest.mark.parametrize("who", ["other_operator_admin", "owner_admin", "carrier_admin", "driver", "staff"])
def test_others_cannot_resolve_the_order(world: SwapWorld, who: str) -> None:
    transactions = JournalTransaction.objects.count()
    response = client_for(world, who).post(f"/ops/abnormal/{world.abnormal.pk}/resolve", {"action": "cancel"})
    assert response.status_code == 404
    world.abnormal.refresh_from_db()
    assert world.abnormal.state == OrderState.ABNORMAL
    assert JournalTransaction.objects.count() == transactions


# --- the fleet: vehicles and invitations ------------------------------------------------------
def _vin(serial: int) -> str:
    body = f"LBNCH2B4X{serial:08d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def test_a_carrier_admin_adds_a_vehicle_to_the_fleet(world: SwapWorld) -> None:
    client = client_for(world, "carrier_admin")
    standard = world.vehicle.pack_standard
    response = client.post("/carrier/vehicles", {"plate": "冀j 66666d", "vin": _vin(1), "pack_standard": standard.code})
    assert (response.status_code, response["Location"]) == (302, f"/carrier/vehicles?carrier={world.carrier.pk}")
    added = Vehicle.objects.get(vin=_vin(1))
    assert (added.plate, added.carrier, added.pack_standard) == ("冀J66666D", world.carrier, standard)
    assert "冀J66666D" in client.get("/carrier/vehicles").content.decode()


def test_a_plate_already_in_the_network_is_refused_on_the_form_and_nothing_changes(world: SwapWorld) -> None:
    before = list(Vehicle.objects.values_list("pk", "plate", "vin", "carrier_id"))
    response = client_for(world, "carrier_admin").post(
        "/carrier/vehicles",
        {"plate": world.other.vehicle.plate, "vin": _vin(2), "pack_standard": world.vehicle.pack_standard.code},
    )
    assert response.status_code == 409
    assert 'class="field field-error"' in response.content.decode() or "form-errors" in response.content.decode()
    assert list(Vehicle.objects.values_list("pk", "plate", "vin", "carrier_id")) == before


@pytest.mark.parametrize("who", ["other_carrier_admin", "driver", "operator_admin"])
def test_others_cannot_add_to_the_fleet(world: SwapWorld, who: str) -> None:
    before = Vehicle.objects.count()
    response = client_for(world, who).post(
        f"/carrier/vehicles?carrier={world.carrier.pk}",
        {"plate": "冀J77777D", "vin": _vin(3), "pack_standard": world.vehicle.pack_standard.code},
    )
    assert response.status_code in (403, 404)
    assert Vehicle.objects.count() == before


def _invite(world: SwapWorld, phone: str = "13900000055") -> DriverInvitation:
    return carrier_services.driver_invite(actor=Actor.of(world.users["carrier_admin"]), carrier=world.carrier, phone=phone)


def test_a_carrier_admin_withdraws_a_pending_invitation(world: SwapWorld) -> None:
    invitation = _invite(world)
    client = client_for(world, "carrier_admin")
    assert f'data-testid="revoke-{invitation.pk}"' in client.get("/carrier/drivers").content.decode()
    response = client.post(f"/carrier/invitations/{invitation.pk}/revoke", {"carrier": world.carrier.pk})
    assert (response.status_code, response["Location"]) == (302, f"/carrier/drivers?carrier={world.carrier.pk}")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    assert f'data-testid="revoke-{invitation.pk}"' not in client.get("/carrier/drivers").content.decode()


def test_an_answered_invitation_cannot_be_withdrawn_and_stays_as_it_was(world: SwapWorld) -> None:
    invitation = _invite(world)
    DriverInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.ACCEPTED)
    response = client_for(world, "carrier_admin").post(
        f"/carrier/invitations/{invitation.pk}/revoke", {"carrier": world.carrier.pk}
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED


@pytest.mark.parametrize("who", ["other_carrier_admin", "driver", "operator_admin"])
def test_others_cannot_withdraw_the_fleet_s_invitations(world: SwapWorld, who: str) -> None:
    invitation = _invite(world)
    response = client_for(world, who).post(f"/carrier/invitations/{invitation.pk}/revoke", {"carrier": world.carrier.pk})
    assert response.status_code in (403, 404)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
