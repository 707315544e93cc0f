"""Real-name verification services against the database: submission, review, the provider
plug-in point, the audited reveal, export and account deletion. A refusal changes nothing."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils import timezone

from apps.access import Actor
from apps.accounts import personal_data
from apps.accounts.models import (
    AuthToken,
    CertificationStatus,
    Membership,
    OrganisationKind,
    RealNameVerification,
    Role,
    SmsCode,
    User,
    VerificationStatus,
)
from apps.accounts.selectors.verification import is_verified, may_drive, verification_current
from apps.accounts.services import verification as services
from apps.accounts.services.carriers import individual_code
from apps.accounts.tests.factories import OrganisationFactory, UserFactory, member
from apps.assets.models import VehicleAssignment, VehicleSegment
from apps.assets.tests.factories import VehicleFactory
from apps.common.errors import ApplicationError, NotFound
from apps.common.identifiers import id_check_character
from apps.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def id_number(region: str = "110105", born: str = "19491231", sequence: str = "002") -> str:
    first17 = f"{region}{born}{sequence}"
    return first17 + id_check_character(first17)


ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = id_number("130983", "19900307", "001")


def submit(user: User, **changes: Any) -> RealNameVerification:
    fields: dict[str, Any] = {
        "legal_name": "张三",
        "id_number": ID_NUMBER,
        "licence_number": ID_NUMBER,
        "licence_class": "A2",
        "licence_expires_on": timezone.localdate() + timedelta(days=2000),
    }
    fields.update(changes)
    return services.verification_submit(user=user, **fields)


def state() -> tuple[list[tuple[Any, ...]], int]:
    """Every verification's decision fields, and the audit trail's length."""
    rows = list(
        RealNameVerification.objects.order_by("pk").values_list(
            "pk", "user_id", "status", "reason", "reviewed_by_id", "reviewed_at", "id_number_hash"
        )
    )
    return rows, AuditEvent.objects.count()


def refused(code: str, call: Any, *, status_code: int | None = None) -> ApplicationError:
    before = state()
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.code == code
    if status_code is not None:
        assert caught.value.status_code == status_code
    assert state() == before
    return caught.value


@pytest.fixture
def carrier():
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def driver(carrier) -> User:
    return member(Role.DRIVER, carrier)


@pytest.fixture
def other_driver(carrier) -> User:
    return member(Role.DRIVER, carrier)


@pytest.fixture
def platform_admin() -> User:
    return member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM))


@pytest.fixture
def platform(platform_admin: User) -> Actor:
    return Actor.of(platform_admin)


# --- Submission ---------------------------------------------------------------------------
def test_a_submission_is_pending_with_encrypted_and_masked_numbers(driver: User) -> None:
    verification = submit(driver)

    assert verification.status == VerificationStatus.PENDING
    assert verification.user == driver
    assert verification.legal_name == "张三"
    assert verification.id_number_masked == "1101**********002X"
    assert verification.licence_number_masked == "1101**********002X"
    assert verification.licence_class == "A2"
    assert verification.provider == "manual"
    assert verification.reviewed_by is None
    assert verification.reviewed_at is None
    assert ID_NUMBER not in verification.id_number_encrypted
    assert personal_data.decrypt(verification.id_number_encrypted) == ID_NUMBER
    assert personal_data.decrypt(verification.licence_number_encrypted) == ID_NUMBER
    assert verification.id_number_hash == personal_data.lookup_hash(ID_NUMBER)
    assert verification_current(user=driver) == verification
    assert not is_verified(user=driver)


def test_what_people_type_is_folded(driver: User) -> None:
    verification = submit(
        driver,
        legal_name="  买买提·艾力 ",
        id_number="１１０１０５ 19491231 002x",
        licence_number="c1234-5678",
        licence_class="a2",
    )
    assert verification.legal_name == "买买提·艾力"
    assert personal_data.decrypt(verification.id_number_encrypted) == ID_NUMBER
    assert personal_data.decrypt(verification.licence_number_encrypted) == "C12345678"
    assert verification.licence_number_masked == "C123*5678"
    assert verification.licence_class == "A2"


def test_a_licence_valid_until_today_is_accepted(driver: User) -> None:
    assert submit(driver, licence_expires_on=timezone.localdate()).status == VerificationStatus.PENDING


@pytest.mark.parametrize("licence_class", ["A1", "A2", "A3", "B1", "B2", "C1", "C2"])
def test_every_class_that_drives_a_network_vehicle_is_accepted(driver: User, licence_class: str) -> None:
    assert submit(driver, licence_class=licence_class).licence_class == licence_class


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"id_number": "11010519491231003X"}, "id_number_invalid", "id_number"),
        ({"id_number": id_number(born="19900230")}, "id_number_invalid", "id_number"),
        ({"id_number": id_number(region="990105")}, "id_number_invalid", "id_number"),
        ({"id_number": "110105491231002"}, "id_number_legacy", "id_number"),
        ({"licence_expires_on": timezone.localdate() - timedelta(days=1)}, "licence_expired", "licence_expires_on"),
        ({"licence_class": "D"}, "licence_class_invalid", "licence_class"),
        ({"licence_class": "C3"}, "licence_class_invalid", "licence_class"),
        ({"licence_class": "M"}, "licence_class_invalid", "licence_class"),
        ({"licence_class": ""}, "licence_class_invalid", "licence_class"),
        ({"licence_number": "12"}, "licence_number_invalid", "licence_number"),
        ({"licence_number": "1" * 21}, "licence_number_invalid", "licence_number"),
        ({"legal_name": "   "}, "legal_name_invalid", "legal_name"),
        ({"legal_name": "名" * 61}, "legal_name_invalid", "legal_name"),
    ],
)
def test_an_invalid_submission_is_refused_and_changes_nothing(
    driver: User, changes: dict[str, Any], code: str, field: str
) -> None:
    error = refused(code, lambda: submit(driver, **changes), status_code=400)
    assert list(error.fields) == [field]
    assert RealNameVerification.objects.count() == 0


def test_a_second_submission_while_one_is_pending_is_refused(driver: User) -> None:
    submit(driver)
    refused("verification_pending", lambda: submit(driver, id_number=OTHER_ID_NUMBER), status_code=409)
    assert RealNameVerification.objects.count() == 1


def test_a_verified_driver_cannot_submit_again(driver: User, platform: Actor) -> None:
    services.verification_approve(actor=platform, verification=submit(driver))
    refused("already_verified", lambda: submit(driver, id_number=OTHER_ID_NUMBER), status_code=409)


@pytest.mark.parametrize("first_decision", ["pending", "verified"])
def test_an_id_number_live_on_another_account_is_refused(
    driver: User, other_driver: User, platform: Actor, first_decision: str
) -> None:
    first = submit(driver)
    if first_decision == "verified":
        services.verification_approve(actor=platform, verification=first)

    error = refused("id_number_in_use", lambda: submit(other_driver, id_number="11010519491231002x"), status_code=409)

    assert list(error.fields) == ["id_number"]
    assert not RealNameVerification.objects.filter(user=other_driver).exists()


def test_an_id_number_may_be_used_again_once_its_submission_was_rejected(
    driver: User, other_driver: User, platform: Actor
) -> None:
    services.verification_reject(actor=platform, verification=submit(driver), reason="证件照片模糊")

    second = submit(other_driver)

    assert second.status == VerificationStatus.PENDING
    assert second.id_number_hash == personal_data.lookup_hash(ID_NUMBER)


def test_the_loser_of_a_race_for_an_id_number_is_told_it_is_in_use(
    driver: User, other_driver: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both accounts passed the check; the database's unique index decides, and the loser
    gets ``id_number_in_use``, not a server error."""
    submit(driver)
    real_check = services._id_number_taken
    calls: list[bool] = []

    def misses_the_winner_once(id_number_hash: str) -> bool:
        # The pre-check runs before the winner's row is visible, as in a real race.
        calls.append(not calls)
        return False if len(calls) == 1 else real_check(id_number_hash)

    monkeypatch.setattr(services, "_id_number_taken", misses_the_winner_once)

    refused("id_number_in_use", lambda: submit(other_driver), status_code=409)
    assert len(calls) == 2  # the pre-check, then the look after the unique violation
    assert RealNameVerification.objects.filter(user=other_driver).count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql  # select_for_update and concurrent writers need PostgreSQL
def test_two_accounts_submitting_one_id_number_at_once_verify_one(monkeypatch: pytest.MonkeyPatch) -> None:
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    drivers = [member(Role.DRIVER, carrier), member(Role.DRIVER, carrier)]
    both_checked = threading.Barrier(2, timeout=10)
    real_check = services._id_number_taken

    def check_then_wait(id_number_hash: str) -> bool:
        taken = real_check(id_number_hash)
        if not taken:
            both_checked.wait()  # both threads pass the check before either inserts
        return taken

    monkeypatch.setattr(services, "_id_number_taken", check_then_wait)
    outcomes: dict[int, str] = {}

    def attempt(user: User) -> None:
        try:
            outcomes[user.pk] = submit(user).status
        except ApplicationError as error:
            outcomes[user.pk] = error.code
        finally:
            close_old_connections()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["id_number_in_use", "pending"]
    assert RealNameVerification.objects.count() == 1


# --- Review -------------------------------------------------------------------------------
def test_the_platform_approves_a_pending_submission(driver: User, platform_admin: User, platform: Actor) -> None:
    verification = services.verification_approve(actor=platform, verification=submit(driver))

    verification.refresh_from_db()
    assert verification.status == VerificationStatus.VERIFIED
    assert verification.reviewed_by == platform_admin
    assert verification.reviewed_at is not None
    assert verification.reason == ""
    assert is_verified(user=driver)


def test_a_rejected_driver_submits_anew(driver: User, platform_admin: User, platform: Actor) -> None:
    rejected = services.verification_reject(actor=platform, verification=submit(driver), reason="  姓名与证件 不符 ")

    rejected.refresh_from_db()
    assert rejected.status == VerificationStatus.REJECTED
    assert rejected.reason == "姓名与证件 不符"
    assert rejected.reviewed_by == platform_admin
    assert rejected.reviewed_at is not None
    assert verification_current(user=driver) == rejected

    again = submit(driver, legal_name="张叁")

    assert again.status == VerificationStatus.PENDING
    assert verification_current(user=driver) == again
    assert RealNameVerification.objects.filter(user=driver).count() == 2


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_rejection_needs_a_reason(driver: User, platform: Actor, reason: str) -> None:
    verification = submit(driver)
    error = refused(
        "reason_required", lambda: services.verification_reject(actor=platform, verification=verification, reason=reason)
    )
    assert list(error.fields) == ["reason"]


def test_a_rejection_reason_fits_the_record(driver: User, platform: Actor) -> None:
    verification = submit(driver)
    refused("reason_too_long", lambda: services.verification_reject(actor=platform, verification=verification, reason="长" * 201))


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("then", ["approve", "reject"])
def test_a_decided_submission_cannot_be_decided_again(driver: User, platform: Actor, first: str, then: str) -> None:
    verification = submit(driver)
    decide = {
        "approve": lambda: services.verification_approve(actor=platform, verification=verification),
        "reject": lambda: services.verification_reject(actor=platform, verification=verification, reason="不清楚"),
    }
    decide[first]()
    refused("verification_not_pending", decide[then], status_code=409)


@pytest.mark.parametrize("who", ["the_driver", "carrier_admin", "operator_admin", "station_staff_less_org"])
def test_only_platform_admins_review(driver: User, carrier, who: str) -> None:
    verification = submit(driver)
    users = {
        "the_driver": driver,
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "operator_admin": member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)),
        "station_staff_less_org": UserFactory(is_staff=True),
    }
    actor = Actor.of(users[who])

    refused("permission_denied", lambda: services.verification_approve(actor=actor, verification=verification), status_code=403)
    refused(
        "permission_denied",
        lambda: services.verification_reject(actor=actor, verification=verification, reason="x"),
        status_code=403,
    )


def test_a_platform_admin_does_not_review_their_own_submission(platform_admin: User, platform: Actor) -> None:
    own = submit(platform_admin)
    refused("permission_denied", lambda: services.verification_approve(actor=platform, verification=own), status_code=403)


def test_a_licence_that_expired_while_waiting_is_not_approved(driver: User, platform: Actor) -> None:
    verification = submit(driver)
    RealNameVerification.objects.filter(pk=verification.pk).update(licence_expires_on=timezone.localdate() - timedelta(days=1))
    refused("licence_expired", lambda: services.verification_approve(actor=platform, verification=verification))


def test_licence_classes_decide_what_a_verified_driver_may_drive(driver: User, other_driver: User, platform: Actor) -> None:
    services.verification_approve(actor=platform, verification=submit(driver, licence_class="A2"))
    services.verification_approve(
        actor=platform, verification=submit(other_driver, id_number=OTHER_ID_NUMBER, licence_class="C1")
    )
    expiry = RealNameVerification.objects.get(user=driver).licence_expires_on

    assert may_drive(user=driver, segment=VehicleSegment.HEAVY_TRUCK)
    assert may_drive(user=driver, segment=VehicleSegment.CAR)
    assert not may_drive(user=other_driver, segment=VehicleSegment.HEAVY_TRUCK)
    assert may_drive(user=other_driver, segment=VehicleSegment.CAR)
    assert not may_drive(user=driver, segment=VehicleSegment.HEAVY_TRUCK, on=expiry + timedelta(days=1))


def test_a_pending_driver_may_drive_nothing(driver: User) -> None:
    submit(driver)
    assert not may_drive(user=driver, segment=VehicleSegment.CAR)


def test_approval_certifies_a_private_owners_carrier_of_one(driver: User, platform: Actor) -> None:
    own = OrganisationFactory(code=individual_code(driver), kind=OrganisationKind.INDIVIDUAL)
    verification = submit(driver)
    assert own.certification_status == CertificationStatus.NOT_APPLIED

    services.verification_approve(actor=platform, verification=verification)

    own.refresh_from_db()
    assert own.certification_status == CertificationStatus.CERTIFIED


# --- The provider plug-in point -------------------------------------------------------------
class AutoApproveProvider:
    """An automatic provider: approves what the rules accept, rejects a name it cannot match."""

    name = "auto-test"

    def review(self, verification: RealNameVerification) -> None:
        if verification.legal_name == "查无此人":
            services.verification_provider_reject(verification=verification, reason="姓名与号码不匹配")
        else:
            services.verification_provider_approve(verification=verification)


class BrokenProvider:
    name = "broken"

    def review(self, verification: RealNameVerification) -> None:
        raise RuntimeError(f"remote service refused {personal_data.decrypt(verification.id_number_encrypted)}")


MODULE = __name__


def test_the_default_provider_leaves_submissions_for_manual_review(driver: User) -> None:
    assert submit(driver).provider == "manual"


def test_an_automatic_provider_may_approve_at_once(driver: User, settings) -> None:
    settings.VERIFICATION_PROVIDER = f"{MODULE}.AutoApproveProvider"

    verification = submit(driver)

    assert verification.status == VerificationStatus.VERIFIED
    assert verification.provider == "auto-test"
    assert verification.reviewed_by is None
    assert verification.reviewed_at is not None
    assert is_verified(user=driver)


def test_an_automatic_provider_may_reject_at_once(driver: User, settings) -> None:
    settings.VERIFICATION_PROVIDER = f"{MODULE}.AutoApproveProvider"

    verification = submit(driver, legal_name="查无此人")

    assert verification.status == VerificationStatus.REJECTED
    assert verification.reason == "姓名与号码不匹配"


def test_a_failing_provider_leaves_the_submission_pending_and_logs_no_number(
    driver: User, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.VERIFICATION_PROVIDER = f"{MODULE}.BrokenProvider"
    caplog.set_level(logging.DEBUG)

    verification = submit(driver)

    assert verification.status == VerificationStatus.PENDING
    assert verification.provider == "broken"
    assert "RuntimeError" in caplog.text
    assert ID_NUMBER not in caplog.text
    for record in caplog.records:
        assert record.exc_info is None


# --- The audited reveal ---------------------------------------------------------------------
def test_a_platform_admin_reveals_the_number_and_it_is_audited(driver: User, platform_admin: User, platform: Actor) -> None:
    verification = submit(driver)

    assert services.id_number_reveal(actor=platform, verification=verification) == ID_NUMBER

    event = AuditEvent.objects.get()
    assert event.actor == platform_admin
    assert event.action == "id_number.reveal"
    assert event.subject_type == "accounts.realnameverification"
    assert event.subject_id == str(verification.pk)
    assert ID_NUMBER not in json.dumps(event.detail)


@pytest.mark.parametrize("who", ["the_driver", "carrier_admin", "anonymous"])
def test_nobody_else_may_reveal_a_number(driver: User, carrier, who: str) -> None:
    verification = submit(driver)
    actors = {
        "the_driver": Actor.of(driver),
        "carrier_admin": Actor.of(member(Role.CARRIER_ADMIN, carrier)),
        "anonymous": Actor.anonymous(),
    }
    before = state()
    with pytest.raises(NotFound):
        services.id_number_reveal(actor=actors[who], verification=verification)
    assert state() == before
    assert AuditEvent.objects.count() == 0


# --- Export and deletion ---------------------------------------------------------------------
def test_the_export_holds_the_profile_memberships_verifications_and_vehicles(driver: User, carrier) -> None:
    vehicle = VehicleFactory(carrier=carrier)
    VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
    submit(driver)

    export = services.personal_data_export(user=driver)

    assert export["profile"]["phone"] == driver.phone
    assert export["profile"]["display_name"] == driver.display_name
    assert [(m["organisation_code"], m["role"]) for m in export["memberships"]] == [(carrier.code, Role.DRIVER)]
    assert [v["plate"] for v in export["vehicles"]] == [vehicle.plate]
    [verification] = export["verifications"]
    assert verification["id_number_masked"] == "1101**********002X"
    assert verification["licence_number_masked"] == "1101**********002X"
    assert verification["status"] == "pending"
    text = json.dumps(export, ensure_ascii=False)
    assert ID_NUMBER not in text
    assert "encrypted" not in text
    assert AuditEvent.objects.filter(action="personal_data.export", actor=driver).count() == 1


def test_deleting_an_account_pseudonymises_it_and_keeps_the_record(driver: User, carrier, platform: Actor) -> None:
    VehicleAssignment.objects.create(vehicle=VehicleFactory(carrier=carrier), driver=driver)
    verified = services.verification_approve(actor=platform, verification=submit(driver))
    token = AuthToken.objects.create(user=driver, key_hash="a" * 64, label="phone")
    SmsCode.objects.create(phone=driver.phone, purpose="password_reset", code_hash="b" * 64, expires_at=timezone.now())

    services.account_delete(user=driver)

    driver.refresh_from_db()
    assert driver.phone == f"deleted-{driver.pk}"
    assert driver.display_name == "已注销用户"
    assert not driver.is_active
    assert driver.deleted_at is not None
    assert not driver.has_usable_password()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not Membership.objects.filter(user=driver).exists()
    assert not VehicleAssignment.objects.filter(driver=driver).exists()
    assert not SmsCode.objects.exists()
    verified.refresh_from_db()
    assert verified.status == VerificationStatus.VERIFIED
    assert verified.id_number_masked == "1101**********002X"
    assert verified.legal_name == ""
    assert verified.id_number_encrypted == ""
    assert verified.licence_number_encrypted == ""
    assert verified.id_number_hash != personal_data.lookup_hash(ID_NUMBER)
    assert AuditEvent.objects.filter(action="account.delete", actor=driver).count() == 1


def test_a_pending_submission_of_a_deleted_account_leaves_the_queue(driver: User) -> None:
    pending = submit(driver)
    services.account_delete(user=driver)
    pending.refresh_from_db()
    assert pending.status == VerificationStatus.REJECTED
    assert pending.reason


def test_the_id_number_of_a_deleted_account_may_verify_a_new_one(driver: User, other_driver: User, platform: Actor) -> None:
    services.verification_approve(actor=platform, verification=submit(driver))
    services.account_delete(user=driver)
    assert submit(other_driver).status == VerificationStatus.PENDING


def test_a_deleted_accounts_number_can_no_longer_be_revealed(driver: User, platform: Actor) -> None:
    verification = submit(driver)
    services.account_delete(user=driver)
    verification.refresh_from_db()
    refused("id_number_erased", lambda: services.id_number_reveal(actor=platform, verification=verification), status_code=409)


def test_deleting_twice_changes_nothing_more(driver: User) -> None:
    services.account_delete(user=driver)
    driver.refresh_from_db()
    first = (driver.phone, driver.deleted_at, driver.password)
    services.account_delete(user=driver)
    driver.refresh_from_db()
    assert (driver.phone, driver.deleted_at, driver.password) == first
    assert AuditEvent.objects.filter(action="account.delete").count() == 1
