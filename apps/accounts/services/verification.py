"""Real-name verification, the audited reveal of an ID number, and a driver's personal data.

Resident ID numbers and licence numbers (a Chinese licence number is usually the holder's ID
number) are personal data: they are stored encrypted, found by a keyed hash, shown masked, and
never put in a log line, an exception message or an audit detail.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.access.verification import may_reveal_id_number, may_review_verification
from apps.accounts import personal_data
from apps.accounts.licences import REQUIRED_FOR_SEGMENT, licence_allows
from apps.accounts.models import (
    ACTIVE_VERIFICATION,
    AuthToken,
    LicenceClass,
    Membership,
    RealNameVerification,
    SmsCode,
    User,
    VerificationStatus,
)
from apps.accounts.services.carriers import individual_certification_refresh
from apps.accounts.verification_providers import verification_provider
from apps.assets.models import VehicleAssignment
from apps.common.errors import ApplicationError, Conflict, NotFound
from apps.common.identifiers import InvalidIdentifier, fold, mask_id_number, normalize_id_number
from apps.common.models import AuditEvent

logger = logging.getLogger(__name__)

LEGAL_NAME_MAX = RealNameVerification._meta.get_field("legal_name").max_length or 60
REASON_MAX = RealNameVerification._meta.get_field("reason").max_length or 200
# Chinese licence numbers are the holder's 18-character ID number; others (for foreigners,
# older formats) are shorter. The masked copy keeps the length, so the column bounds it.
_LICENCE_NUMBER = re.compile(r"[0-9A-Z]{6,20}")
DELETED_DISPLAY_NAME = "已注销用户"


# --- Submission ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Submission:
    legal_name: str
    id_number: str
    licence_number: str
    licence_class: str
    licence_expires_on: date


def _refusal(code: str, field: str, message: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _clean_legal_name(raw: str) -> str:
    # Keep the middle dot of names such as 买买提·艾力; only collapse whitespace.
    name = " ".join(raw.split())
    if not name or len(name) > LEGAL_NAME_MAX:
        raise _refusal(
            "legal_name_invalid",
            "legal_name",
            _("Enter your name as on your ID card (at most %(max)d characters).") % {"max": LEGAL_NAME_MAX},
        )
    return name


def _clean_id_number(raw: str, *, today: date) -> str:
    try:
        return normalize_id_number(raw, today=today)
    except InvalidIdentifier as error:
        # The identifier's messages never repeat the number, so they are safe to return.
        raise _refusal(error.code, "id_number", error.message) from None


def _clean_licence_number(raw: str) -> str:
    number = fold(raw)
    if not _LICENCE_NUMBER.fullmatch(number):
        raise _refusal(
            "licence_number_invalid",
            "licence_number",
            _("Enter the licence number as printed on your driving licence (6 to 20 letters and digits)."),
        )
    return number


def _clean_licence_class(raw: str) -> str:
    licence_class = fold(raw)
    # A class is of use when it drives some vehicle of the network: A2 for heavy trucks, and
    # any class that includes C2 for cars. Motorcycle, tractor and tram classes are not.
    if licence_class not in LicenceClass.values or not any(licence_allows(licence_class, s) for s in REQUIRED_FOR_SEGMENT):
        raise _refusal(
            "licence_class_invalid",
            "licence_class",
            _("This licence class drives no vehicle of the network: heavy trucks need A2, cars C1 or C2 (or a higher class)."),
        )
    return licence_class


def _clean_licence_expiry(expires_on: date, *, today: date) -> date:
    if expires_on < today:
        raise _refusal("licence_expired", "licence_expires_on", _("This driving licence has expired."))
    return expires_on


def _live_submission_conflict(live: RealNameVerification) -> Conflict:
    if live.status == VerificationStatus.VERIFIED:
        return Conflict("already_verified", _("Your real name is already verified."))
    return Conflict("verification_pending", _("Your submission is being reviewed; wait for the decision."))


def _id_number_in_use() -> Conflict:
    return Conflict(
        "id_number_in_use",
        _("This ID number is already verified or being verified on another account."),
        fields={"id_number": [_("This ID number is in use on another account.")]},
    )


def _id_number_taken(id_number_hash: str) -> bool:
    """Whether a live submission (on any account) holds this ID number."""
    return RealNameVerification.objects.filter(id_number_hash=id_number_hash, status__in=ACTIVE_VERIFICATION).exists()


def _live_submission(user_id: int) -> RealNameVerification | None:
    return RealNameVerification.objects.filter(user_id=user_id, status__in=ACTIVE_VERIFICATION).first()


@transaction.atomic
def _verification_create(*, user: User, submission: _Submission, provider_name: str) -> RealNameVerification:
    # Lock the user: one person's submissions are decided one at a time.
    User.objects.select_for_update().filter(pk=user.pk).first()
    live = _live_submission(user.pk)
    if live is not None:
        raise _live_submission_conflict(live)
    id_number_hash = personal_data.lookup_hash(submission.id_number)
    if _id_number_taken(id_number_hash):
        raise _id_number_in_use()
    try:
        # The savepoint keeps the transaction usable after a unique violation, so the loser of
        # a race between two accounts (both passed the check above) still gets its clear answer.
        with transaction.atomic():
            return RealNameVerification.objects.create(
                user=user,
                legal_name=submission.legal_name,
                id_number_encrypted=personal_data.encrypt(submission.id_number),
                id_number_hash=id_number_hash,
                id_number_masked=mask_id_number(submission.id_number),
                licence_number_encrypted=personal_data.encrypt(submission.licence_number),
                licence_number_masked=mask_id_number(submission.licence_number),
                licence_class=submission.licence_class,
                licence_expires_on=submission.licence_expires_on,
                provider=provider_name[:40],
            )
    except IntegrityError:
        # The database's partial unique indexes are the real guard; tell which one held.
        if _id_number_taken(id_number_hash):
            raise _id_number_in_use() from None
        live = _live_submission(user.pk)
        if live is not None:
            raise _live_submission_conflict(live) from None
        raise


def verification_submit(
    *,
    user: User,
    legal_name: str,
    id_number: str,
    licence_number: str,
    licence_class: str,
    licence_expires_on: date,
) -> RealNameVerification:
    """A driver's real-name submission: validated, encrypted, pending, then shown to the
    provider (which may decide at once). Refusals change nothing."""
    today = timezone.localdate()
    submission = _Submission(
        legal_name=_clean_legal_name(legal_name),
        id_number=_clean_id_number(id_number, today=today),
        licence_number=_clean_licence_number(licence_number),
        licence_class=_clean_licence_class(licence_class),
        licence_expires_on=_clean_licence_expiry(licence_expires_on, today=today),
    )
    provider = verification_provider()
    verification = _verification_create(user=user, submission=submission, provider_name=provider.name)
    # Outside the submission's transaction: an automatic provider may call a remote service,
    # and the user's lock must not wait for it. Its decisions are services of their own.
    try:
        provider.review(verification)
    except Exception as error:
        # Only the error's type: a provider's message might quote what it was sent.
        logger.error(
            "verification provider %s failed on verification %s (%s); it stays pending for manual review",
            provider.name,
            verification.pk,
            type(error).__name__,
        )
    verification.refresh_from_db()
    return verification


# --- Review -------------------------------------------------------------------------------
def _clean_reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not reason:
        raise _refusal("reason_required", "reason", _("Give the driver a reason for the rejection."))
    if len(reason) > REASON_MAX:
        raise _refusal("reason_too_long", "reason", _("Keep the reason to %(max)d characters.") % {"max": REASON_MAX})
    return reason


@transaction.atomic
def _decide(*, verification: RealNameVerification, status: str, reason: str, reviewed_by_id: int | None) -> RealNameVerification:
    locked = RealNameVerification.objects.select_for_update().get(pk=verification.pk)
    if locked.status != VerificationStatus.PENDING:
        raise Conflict("verification_not_pending", _("This submission has already been decided."))
    if status == VerificationStatus.VERIFIED and locked.licence_expires_on < timezone.localdate():
        raise _refusal("licence_expired", "licence_expires_on", _("The driving licence expired while the submission waited."))
    locked.status = status
    locked.reason = reason
    locked.reviewed_by_id = reviewed_by_id
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at", "updated_at"])
    if status == VerificationStatus.VERIFIED:
        # A private owner's carrier-of-one is certified by its owner's verification.
        individual_certification_refresh(user=locked.user)
    return locked


def _require_reviewer(actor: Actor, verification: RealNameVerification) -> None:
    if not may_review_verification(actor, verification):
        raise ApplicationError(
            "permission_denied", _("Only platform admins review submissions, and never their own."), status_code=403
        )


def verification_approve(*, actor: Actor, verification: RealNameVerification) -> RealNameVerification:
    _require_reviewer(actor, verification)
    return _decide(verification=verification, status=VerificationStatus.VERIFIED, reason="", reviewed_by_id=actor.user_id)


def verification_reject(*, actor: Actor, verification: RealNameVerification, reason: str) -> RealNameVerification:
    _require_reviewer(actor, verification)
    return _decide(
        verification=verification,
        status=VerificationStatus.REJECTED,
        reason=_clean_reason(reason),
        reviewed_by_id=actor.user_id,
    )


def verification_provider_approve(*, verification: RealNameVerification) -> RealNameVerification:
    """An automatic provider's approval (the provider is named on the submission)."""
    return _decide(verification=verification, status=VerificationStatus.VERIFIED, reason="", reviewed_by_id=None)


def verification_provider_reject(*, verification: RealNameVerification, reason: str) -> RealNameVerification:
    return _decide(
        verification=verification, status=VerificationStatus.REJECTED, reason=_clean_reason(reason), reviewed_by_id=None
    )


# --- The audited reveal -------------------------------------------------------------------
REVEAL_ACTION = "id_number.reveal"


def _subject(verification: RealNameVerification) -> dict[str, str]:
    return {"subject_type": "accounts.realnameverification", "subject_id": str(verification.pk)}


@transaction.atomic
def id_number_reveal(*, actor: Actor, verification: RealNameVerification) -> str:
    """The full ID number, for platform admins only; every reveal leaves an audit event."""
    if not may_reveal_id_number(actor):
        # For everyone else the reveal does not exist (ACCESS.md: platform admins only).
        raise NotFound("verification")
    if not verification.id_number_encrypted:
        raise Conflict("id_number_erased", _("This account was deleted; its ID number is no longer stored."))
    # The audit row is written first: if it cannot be written, nothing is revealed.
    AuditEvent.objects.create(
        actor_id=actor.user_id,
        action=REVEAL_ACTION,
        **_subject(verification),
        detail={"user_id": verification.user_id, "id_number_masked": verification.id_number_masked},
    )
    return personal_data.decrypt(verification.id_number_encrypted)


# --- Personal data: export and account deletion --------------------------------------------
def _moment(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _verification_record(verification: RealNameVerification) -> dict[str, Any]:
    return {
        "id": verification.pk,
        "legal_name": verification.legal_name,
        "id_number_masked": verification.id_number_masked,
        "licence_number_masked": verification.licence_number_masked,
        "licence_class": verification.licence_class,
        "licence_expires_on": _moment(verification.licence_expires_on),
        "status": verification.status,
        "reason": verification.reason,
        "submitted_at": _moment(verification.created_at),
        "reviewed_at": _moment(verification.reviewed_at),
    }


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything swapnet holds about the driver, as JSON-ready data (PIPL art. 45).

    ID and licence numbers appear masked only: the export is a file sent over the wire that
    ends up in download folders, mail and chat apps, and a full number there would be an
    unaudited reveal to whoever holds the session. The driver knows their own numbers.
    """
    memberships = Membership.objects.filter(user=user).select_related("organisation", "station").order_by("pk")
    assignments = VehicleAssignment.objects.filter(driver=user).select_related("vehicle__carrier").order_by("pk")
    verifications: QuerySet[RealNameVerification] = RealNameVerification.objects.filter(user=user).order_by("created_at")
    tokens = AuthToken.objects.filter(user=user).order_by("created_at")
    export = {
        "exported_at": _moment(timezone.now()),
        "profile": {
            "id": user.pk,
            "phone": user.phone,
            "display_name": user.display_name,
            "date_joined": _moment(user.date_joined),
            "last_login": _moment(user.last_login),
        },
        "memberships": [
            {
                "organisation_code": m.organisation.code,
                "organisation_name": m.organisation.name,
                "role": m.role,
                "station_code": m.station.code if m.station else None,
                "limit_per_swap_fen": m.limit_per_swap_fen,
                "limit_per_day_fen": m.limit_per_day_fen,
                "since": _moment(m.created_at),
            }
            for m in memberships
        ],
        "verifications": [_verification_record(v) for v in verifications],
        "vehicles": [
            {
                "plate": a.vehicle.plate,
                "vin": a.vehicle.vin,
                "carrier_code": a.vehicle.carrier.code,
                "assigned_at": _moment(a.created_at),
            }
            for a in assignments
        ],
        "sign_in_devices": [
            {
                "label": t.label,
                "created_at": _moment(t.created_at),
                "last_used_at": _moment(t.last_used_at),
                "revoked_at": _moment(t.revoked_at),
            }
            for t in tokens
        ],
    }
    AuditEvent.objects.create(
        actor_id=user.pk, action="personal_data.export", subject_type="accounts.user", subject_id=str(user.pk)
    )
    return export


@transaction.atomic
def account_delete(*, user: User) -> None:
    """Delete a driver's account by pseudonymisation: the user row and the verification rows
    stay (orders, bills and ledger entries refer to them), everything that identifies the
    person goes. Sign-in is impossible afterwards. Deleting a deleted account does nothing."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.deleted_at is not None:
        return
    now = timezone.now()
    AuthToken.objects.filter(user=locked, revoked_at__isnull=True).update(revoked_at=now)
    SmsCode.objects.filter(phone=locked.phone).delete()
    Membership.objects.filter(user=locked).delete()
    VehicleAssignment.objects.filter(driver=locked).delete()
    # A submission still waiting is closed, so the review queue does not show a deleted account.
    RealNameVerification.objects.filter(user=locked, status=VerificationStatus.PENDING).update(
        status=VerificationStatus.REJECTED, reason=_("The account was deleted."), reviewed_at=now
    )
    for verification in RealNameVerification.objects.filter(user=locked):
        # The masked numbers and the statuses stay as the record. The look-up hash goes too (it
        # is a pseudonym of the number): the person may verify a new account later.
        verification.legal_name = ""
        verification.id_number_encrypted = ""
        verification.licence_number_encrypted = ""
        verification.id_number_hash = f"erased-{verification.pk}"
        verification.save(
            update_fields=["legal_name", "id_number_encrypted", "licence_number_encrypted", "id_number_hash", "updated_at"]
        )
    locked.phone = f"deleted-{locked.pk}"
    locked.display_name = DELETED_DISPLAY_NAME
    locked.is_active = False
    locked.is_staff = False
    locked.is_superuser = False
    locked.deleted_at = now
    locked.set_unusable_password()
    locked.save()
    locked.groups.clear()
    locked.user_permissions.clear()
    AuditEvent.objects.create(
        actor_id=locked.pk, action="account.delete", subject_type="accounts.user", subject_id=str(locked.pk)
    )
