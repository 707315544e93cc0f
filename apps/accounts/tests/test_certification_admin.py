"""The platform's certification queue in the admin: decisions through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.access import Actor
from apps.accounts.models import CarrierCertification, CertificationStatus, OrganisationKind, Role
from apps.accounts.services import carriers as services
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.common.identifiers import uscc_check_character

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_carriercertification_changelist"


@pytest.fixture
def application() -> CarrierCertification:
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    admin = member(Role.CARRIER_ADMIN, carrier, is_staff=True)
    body = "91130983MA0DEM001"
    return services.certification_apply(
        actor=Actor.of(admin),
        carrier=carrier,
        company_name="沧州港煤物流有限公司",
        credit_code=body + uscc_check_character(body),
        contact_name="刘队",
        contact_phone="13800000031",
    )


def test_the_platform_approves_from_the_queue(client, application: CarrierCertification) -> None:
    client.force_login(member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), is_staff=True))
    listed = client.get(reverse(CHANGELIST))
    assert application in listed.context["cl"].result_list
    client.post(reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [application.pk], "reason": ""})
    application.refresh_from_db()
    application.organisation.refresh_from_db()
    assert application.status == CertificationStatus.CERTIFIED
    assert application.organisation.certification_status == CertificationStatus.CERTIFIED


def test_rejecting_without_a_reason_changes_nothing(client, application: CarrierCertification) -> None:
    client.force_login(member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), is_staff=True))
    client.post(reverse(CHANGELIST), {"action": "reject_selected", "_selected_action": [application.pk], "reason": ""})
    application.refresh_from_db()
    assert application.status == CertificationStatus.PENDING


def test_a_carrier_admin_cannot_open_the_queue(client, application: CarrierCertification) -> None:
    client.force_login(application.applied_by)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    response = client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [application.pk], "reason": ""}
    )
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == CertificationStatus.PENDING
