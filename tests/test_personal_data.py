"""Personal data end to end (RELIABILITY.md test 21): after registration, verification (with its
refusals), review, the audited reveal, export and account deletion, no plaintext ID number is in
any column of any table, in any log record, or in any SQL statement sent to the database."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import AuthToken, Membership, OrganisationKind, RealNameVerification, Role, User, VerificationStatus
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.common.identifiers import id_check_character
from apps.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def id_number(region: str, born: str, sequence: str) -> str:
    first17 = f"{region}{born}{sequence}"
    return first17 + id_check_character(first17)


FIRST_ID = "11010519491231002X"
SECOND_ID = id_number("440305", "19880101", "123")
# Refused on the way (a typo and a legacy number): people's numbers all the same.
TYPO_ID = FIRST_ID[:10] + "0" + FIRST_ID[11:]
LEGACY_ID = "110105491231002"
PLAINTEXTS = [FIRST_ID, SECOND_ID, TYPO_ID, LEGACY_ID]
PASSWORD = "a long enough passphrase"


def needles() -> list[str]:
    """Every form a number might be stored or logged in: as typed, lower case, and without its
    check character (the 17 digits that identify the person)."""
    forms = set()
    for number in PLAINTEXTS:
        forms.update({number, number.lower(), number[:17] if len(number) == 18 else number})
    return sorted(forms)


def every_text_value() -> Iterator[tuple[str, str, str]]:
    """(table, column, value) for every non-null value of every column of every table, by raw SQL
    (so tables without a model, sessions and migrations included)."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [column.name for column in connection.introspection.get_table_description(cursor, table)]
            quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("utf-8", "replace")
                    yield table, column, str(value)


def found_in_database(text: str) -> list[tuple[str, str]]:
    return [(table, column) for table, column, value in every_text_value() if text in value]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def register_and_sign_in(phone: str, name: str) -> tuple[User, APIClient, str]:
    anonymous = APIClient()
    registered = anonymous.post(
        "/api/v1/auth/register", {"phone": phone, "password": PASSWORD, "display_name": name}, format="json"
    )
    assert registered.status_code == 201, registered.content
    signed_in = anonymous.post("/api/v1/auth/login", {"phone": phone, "password": PASSWORD, "device": "phone"}, format="json")
    assert signed_in.status_code == 200, signed_in.content
    token = signed_in.json()["token"]
    return User.objects.get(phone=phone), bearer(token), token


def submission(number: str, name: str) -> dict[str, Any]:
    return {
        "legal_name": name,
        "id_number": number,
        "licence_number": number.lower(),
        "licence_class": "A2",
        "licence_expires_on": (timezone.localdate() + timedelta(days=1000)).isoformat(),
    }


@pytest.fixture
def sql_and_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every log record at DEBUG, SQL statements with their parameters included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    forced = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        yield caplog
    finally:
        connection.force_debug_cursor = forced


def test_no_plaintext_id_number_is_stored_or_logged(sql_and_logs: pytest.LogCaptureFixture, settings) -> None:
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    platform_admin = member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM))
    platform = APIClient()
    platform.force_authenticate(platform_admin)

    first, first_client, _ = register_and_sign_in("13900000001", "王师傅")
    second, second_client, second_token = register_and_sign_in("13900000002", "赵师傅")
    Membership.objects.create(user=first, organisation=carrier, role=Role.DRIVER)

    # Refusals on the way, each with the number in the request body.
    for refused, code in ((TYPO_ID, "id_number_invalid"), (LEGACY_ID, "id_number_legacy")):
        response = first_client.post("/api/v1/drivers/me/verification", submission(refused, "王五"), format="json")
        assert response.json()["error"]["code"] == code
    created = first_client.post("/api/v1/drivers/me/verification", submission(FIRST_ID.lower(), "王五"), format="json")
    assert created.status_code == 201
    taken = second_client.post("/api/v1/drivers/me/verification", submission(FIRST_ID, "赵六"), format="json")
    assert taken.json()["error"]["code"] == "id_number_in_use"
    assert second_client.post("/api/v1/drivers/me/verification", submission(SECOND_ID, "赵六"), format="json").status_code == 201

    # Review and the audited reveal.
    queue = platform.get("/api/v1/verifications", {"status": "pending"}).json()["results"]
    assert len(queue) == 2
    for row in queue:
        revealed = platform.post(f"/api/v1/verifications/{row['id']}/reveal")
        assert revealed.json()["id_number"] in (FIRST_ID, SECOND_ID)
        assert platform.post(f"/api/v1/verifications/{row['id']}/approve").status_code == 200
    assert AuditEvent.objects.filter(action="id_number.reveal").count() == 2

    # The driver's own views and the export carry the masked number only.
    profile = first_client.get("/api/v1/drivers/me").json()
    assert profile["verification"]["id_number_masked"] == "1101**********002X"
    export = first_client.get("/api/v1/drivers/me/export")
    assert export.status_code == 200
    exported = json.loads(export.content)
    assert [v["id_number_masked"] for v in exported["verifications"]] == ["1101**********002X"]
    for text in (json.dumps(profile), export.content.decode()):
        assert not [needle for needle in needles() if needle in text]

    # The second driver leaves.
    assert second_client.delete("/api/v1/drivers/me", {"password": PASSWORD}, format="json").status_code == 204

    # The scan: every column of every table, then every log record (SQL included).
    assert found_in_database("1101**********002X"), "the scan must see the masked copies it is looking past"
    for needle in needles():
        assert found_in_database(needle) == [], needle
    assert any("accounts_realnameverification" in record.getMessage() for record in sql_and_logs.records), (
        "SQL statements must be among the captured records"
    )
    for record in sql_and_logs.records:
        logged = record.getMessage() + (record.exc_text or "")
        assert not [needle for needle in needles() if needle in logged], record.name

    # And the deleted account: pseudonymised, signed out, kept as a record with masked numbers.
    second.refresh_from_db()
    assert second.phone == f"deleted-{second.pk}"
    assert second.display_name == "已注销用户"
    assert not second.is_active
    assert AuthToken.objects.filter(user=second, revoked_at__isnull=True).count() == 0
    assert bearer(second_token).get("/api/v1/drivers/me").status_code == 401
    login = APIClient().post("/api/v1/auth/login", {"phone": "13900000002", "password": PASSWORD}, format="json")
    assert login.status_code in (400, 401)
    assert "token" not in login.json()
    [kept] = RealNameVerification.objects.filter(user=second)
    assert kept.status == VerificationStatus.VERIFIED
    assert kept.id_number_masked == SECOND_ID[:4] + "*" * 10 + SECOND_ID[-4:]
    assert (kept.legal_name, kept.id_number_encrypted, kept.licence_number_encrypted) == ("", "", "")
