"""A new driver, end to end through the HTTP API with real bearer tokens: registers, submits
real-name details, is approved by the platform, joins a certified carrier's fleet by invitation,
and is assigned a truck."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import CertificationStatus, OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.tests.factories import PackStandardFactory
from apps.common.identifiers import id_check_character, uscc_check_character, vin_check_digit

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def signed_in(phone: str, password: str = PASSWORD) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/login", {"phone": phone, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def test_a_driver_joins_the_network_step_by_step() -> None:
    PackStandardFactory()  # HT-282-LFP
    platform = member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), phone="13800000001")
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    member(Role.CARRIER_ADMIN, carrier, phone="13800000031")
    as_platform = signed_in(platform.phone)
    as_carrier = signed_in("13800000031")

    # 1. The carrier applies for certification; the platform approves.
    credit_body = "91130983MA0DEM001"
    applied = as_carrier.post(
        f"/api/v1/carriers/{carrier.pk}/certification",
        {
            "company_name": "沧州港煤物流有限公司",
            "credit_code": credit_body + uscc_check_character(credit_body),
            "contact_name": "刘队",
            "contact_phone": "13800000031",
        },
        format="json",
    )
    assert applied.status_code == 201, applied.json()
    queue = as_platform.get("/api/v1/certifications", {"status": "pending"}).json()["results"]
    assert [row["id"] for row in queue] == [applied.json()["id"]]
    assert as_platform.post(f"/api/v1/certifications/{applied.json()['id']}/approve").status_code == 200
    carrier.refresh_from_db()
    assert carrier.certification_status == CertificationStatus.CERTIFIED

    # 2. A driver registers with a full-width, spaced number and signs in.
    registered = APIClient().post(
        "/api/v1/auth/register",
        {"phone": "１３９ ００００ ０００１", "password": PASSWORD, "display_name": "张师傅"},
        format="json",
    )
    assert registered.status_code == 201, registered.json()
    assert registered.json()["phone"] == "13900000001"
    as_driver = signed_in("13900000001")
    assert as_driver.get("/api/v1/drivers/me").json()["verification"] is None

    # 3. Real-name details: pending, shown masked; the platform approves.
    id_body = "13098319820314061"
    id_number = id_body + id_check_character(id_body)
    submitted = as_driver.post(
        "/api/v1/drivers/me/verification",
        {
            "legal_name": "张建国",
            "id_number": id_number,
            "licence_number": id_number,
            "licence_class": "A2",
            "licence_expires_on": "2031-06-30",
        },
        format="json",
    )
    assert submitted.status_code == 201, submitted.json()
    assert submitted.json()["status"] == "pending"
    assert id_number not in submitted.content.decode()
    assert submitted.json()["id_number_masked"] == f"{id_number[:4]}**********{id_number[-4:]}"
    approved = as_platform.post(f"/api/v1/verifications/{submitted.json()['id']}/approve")
    assert approved.status_code == 200, approved.json()
    assert as_driver.get("/api/v1/drivers/me").json()["verification"]["status"] == "verified"

    # 4. The carrier invites the driver by phone; the driver accepts.
    invited = as_carrier.post(f"/api/v1/carriers/{carrier.pk}/drivers", {"phone": "13900000001"}, format="json")
    assert invited.status_code == 201, invited.json()
    mine = as_driver.get("/api/v1/invitations").json()["results"]
    assert [row["id"] for row in mine] == [invited.json()["id"]]
    assert as_driver.post(f"/api/v1/invitations/{invited.json()['id']}/accept").status_code == 200

    # 5. The carrier adds a truck and assigns the driver; the driver sees it as theirs.
    vin_body = "LSWHT2B4X00000001"
    vin = vin_body[:8] + vin_check_digit(vin_body) + vin_body[9:]
    added = as_carrier.post(
        f"/api/v1/carriers/{carrier.pk}/vehicles",
        {"plate": "冀J10001D", "vin": vin, "pack_standard": "HT-282-LFP"},
        format="json",
    )
    assert added.status_code == 201, added.json()
    driver_id = as_driver.get("/api/v1/drivers/me").json()["id"]
    assigned = as_carrier.post(f"/api/v1/vehicles/{quote('冀J10001D')}/assignments", {"driver": driver_id}, format="json")
    assert assigned.status_code == 201, assigned.json()
    assert [row["plate"] for row in as_driver.get("/api/v1/vehicles").json()["results"]] == ["冀J10001D"]
    profile = as_driver.get("/api/v1/drivers/me").json()
    assert [m["role"] for m in profile["memberships"]] == [Role.DRIVER]
