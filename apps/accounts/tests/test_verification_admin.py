"""The platform's review queue in the admin: masked numbers only, decisions through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.access import Actor
from apps.accounts.models import OrganisationKind, RealNameVerification, Role, User, VerificationStatus
from apps.accounts.services import verification as services
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.common.identifiers import id_check_character

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_realnameverification_changelist"


def id_number(sequence: str) -> str:
    first17 = f"11010519491231{sequence}"
    return first17 + id_check_character(first17)


def submitted(user: User, number: str) -> RealNameVerification:
    return services.verification_submit(
        user=user,
        legal_name="李四",
        id_number=number,
        licence_number=number,
        licence_class="C1",
        licence_expires_on=timezone.localdate() + timedelta(days=365),
    )


@pytest.fixture
def carrier():
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def platform_admin() -> User:
    return member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), is_staff=True)


@pytest.fixture
def admin_client(client: Client, platform_admin: User) -> Client:
    client.force_login(platform_admin)
    return client


@pytest.fixture
def pending(carrier) -> RealNameVerification:
    return submitted(member(Role.DRIVER, carrier), id_number("001"))


def test_the_queue_lists_pending_first_with_masked_numbers_only(admin_client: Client, carrier, platform_admin: User) -> None:
    decided = submitted(member(Role.DRIVER, carrier), id_number("002"))
    services.verification_approve(actor=Actor.of(platform_admin), verification=decided)
    waiting = submitted(member(Role.DRIVER, carrier), id_number("003"))

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [waiting, decided]
    page = response.content.decode()
    assert waiting.id_number_masked in page
    for row in (waiting, decided):
        assert row.id_number_encrypted not in page
        assert row.id_number_hash not in page
    assert id_number("003") not in page


def test_the_detail_page_is_read_only_and_masked(admin_client: Client, pending: RealNameVerification) -> None:
    url = reverse("admin:accounts_realnameverification_change", args=[pending.pk])

    page = admin_client.get(url).content.decode()

    assert pending.id_number_masked in page
    assert id_number("001") not in page
    assert pending.id_number_encrypted not in page
    assert pending.licence_number_encrypted not in page
    assert admin_client.post(url, {"status": "verified"}).status_code == 403
    assert admin_client.post(reverse("admin:accounts_realnameverification_delete", args=[pending.pk])).status_code == 403
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.PENDING


def test_the_approve_action_goes_through_the_service(admin_client: Client, platform_admin: User, pending) -> None:
    response = admin_client.post(reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [pending.pk]})

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.VERIFIED
    assert pending.reviewed_by == platform_admin


def test_the_reject_action_needs_a_reason(admin_client: Client, pending: RealNameVerification) -> None:
    data = {"action": "reject_selected", "_selected_action": [pending.pk], "reason": ""}

    admin_client.post(reverse(CHANGELIST), data)
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.PENDING

    admin_client.post(reverse(CHANGELIST), {**data, "reason": "驾驶证已注销"})
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.REJECTED
    assert pending.reason == "驾驶证已注销"


def test_the_queue_is_searched_by_the_masked_number(admin_client: Client, pending: RealNameVerification, carrier) -> None:
    other = submitted(member(Role.DRIVER, carrier), id_number("004"))
    response = admin_client.get(reverse(CHANGELIST), {"q": other.id_number_masked[-4:]})
    assert list(response.context["cl"].result_list) == [other]


def test_carrier_admins_do_not_get_the_queue(client: Client, carrier, pending: RealNameVerification) -> None:
    client.force_login(member(Role.CARRIER_ADMIN, carrier, is_staff=True))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:accounts_realnameverification_change", args=[pending.pk])).status_code == 404
    client.post(reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [pending.pk]})
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.PENDING
