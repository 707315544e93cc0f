"""Organisations, the people who log in, and what each person is in each organisation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.identifiers import mask_phone, normalize_phone
from apps.common.models import TimeStampedModel


class OrganisationKind(models.TextChoices):
    PLATFORM = "platform", _("platform operator")
    STATION_OPERATOR = "station_operator", _("station operator")
    BATTERY_OWNER = "battery_owner", _("battery owner")
    CARRIER = "carrier", _("carrier")
    INDIVIDUAL = "individual", _("individual")


class CertificationStatus(models.TextChoices):
    NOT_APPLIED = "not_applied", _("not applied")
    PENDING = "pending", _("pending review")
    CERTIFIED = "certified", _("certified")
    REJECTED = "rejected", _("rejected")
    DEREGISTERED = "deregistered", _("deregistered")


class Organisation(TimeStampedModel):
    """A party of the network. Every asset, account and contract belongs to one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    # Carriers (and individuals) join the network by certification; only certified ones swap.
    certification_status = models.CharField(
        _("certification"), max_length=20, choices=CertificationStatus.choices, default=CertificationStatus.NOT_APPLIED
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def pays_for_swaps(self) -> bool:
        return self.kind in (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL)

    @property
    def is_certified(self) -> bool:
        return self.certification_status == CertificationStatus.CERTIFIED


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(phone=normalize_phone(phone), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(phone, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in by their mainland mobile number."""

    # An 11-digit mainland mobile number; a deleted account keeps "deleted-<id>" instead.
    phone = models.CharField(_("mobile number"), max_length=24, unique=True)
    display_name = models.CharField(_("display name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("may use the admin"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(phone__regex=r"^1[3-9][0-9]{9}$")
                | Q(deleted_at__isnull=False, is_active=False, phone__startswith="deleted-"),
                name="user_phone_is_mainland_mobile",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.masked_phone})"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("platform admin")
    OPERATOR_ADMIN = "operator_admin", _("operator admin")
    STATION_STAFF = "station_staff", _("station staff")
    OWNER_ADMIN = "owner_admin", _("battery owner admin")
    CARRIER_ADMIN = "carrier_admin", _("carrier admin")
    DRIVER = "driver", _("driver")


# Which organisation kinds each role belongs to; the database enforces the staff binding,
# services enforce this table.
ROLE_ORGANISATION_KINDS: dict[str, tuple[str, ...]] = {
    Role.PLATFORM_ADMIN: (OrganisationKind.PLATFORM,),
    Role.OPERATOR_ADMIN: (OrganisationKind.STATION_OPERATOR,),
    Role.STATION_STAFF: (OrganisationKind.STATION_OPERATOR,),
    Role.OWNER_ADMIN: (OrganisationKind.BATTERY_OWNER,),
    Role.CARRIER_ADMIN: (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL),
    Role.DRIVER: (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL),
}
ADMIN_ROLES = (Role.PLATFORM_ADMIN, Role.OPERATOR_ADMIN, Role.OWNER_ADMIN, Role.CARRIER_ADMIN)


class Membership(TimeStampedModel):
    """A user's role in an organisation. Station staff are bound to one station each."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # A fleet driver's spending limits, set by the carrier (empty: no limit).
    limit_per_swap_fen = models.PositiveBigIntegerField(_("limit per swap (fen)"), null=True, blank=True)
    limit_per_day_fen = models.PositiveBigIntegerField(_("limit per day (fen)"), null=True, blank=True)
    station = models.ForeignKey(
        "assets.Station", on_delete=models.CASCADE, null=True, blank=True, related_name="staff_memberships"
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(role=Role.STATION_STAFF, station__isnull=False)
                | (~Q(role=Role.STATION_STAFF) & Q(station__isnull=True)),
                name="membership_station_only_for_staff",
            ),
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                condition=Q(station__isnull=True),
                name="membership_unique_role",
            ),
            models.UniqueConstraint(
                fields=["user", "station"],
                condition=Q(station__isnull=False),
                name="membership_unique_staff_station",
            ),
        ]

    def __str__(self) -> str:
        where = f" @ {self.station_id}" if self.station_id else ""
        return f"{self.user} — {self.get_role_display()} of {self.organisation.code}{where}"


class AuthToken(TimeStampedModel):
    """A bearer token for the phone app. Only its SHA-256 is stored; logout and a password
    change revoke it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(_("device"), max_length=80, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in token")
        verbose_name_plural = _("sign-in tokens")


class SmsCodePurpose(models.TextChoices):
    PASSWORD_RESET = "password_reset", _("password reset")


class SmsCode(TimeStampedModel):
    """A one-time code sent by text message; only its keyed hash is stored."""

    phone = models.CharField(max_length=11, db_index=True)
    purpose = models.CharField(max_length=20, choices=SmsCodePurpose.choices)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")


class LicenceClass(models.TextChoices):
    """Chinese driving-licence classes (准驾车型) that matter to the network."""

    A1 = "A1", _("A1 large bus")
    A2 = "A2", _("A2 tractor-trailer")
    A3 = "A3", _("A3 city bus")
    B1 = "B1", _("B1 medium bus")
    B2 = "B2", _("B2 large truck")
    C1 = "C1", _("C1 small car")
    C2 = "C2", _("C2 small car, automatic")


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("pending review")
    VERIFIED = "verified", _("verified")
    REJECTED = "rejected", _("rejected")


ACTIVE_VERIFICATION = (VerificationStatus.PENDING, VerificationStatus.VERIFIED)


class RealNameVerification(TimeStampedModel):
    """One submission of a driver's real-name details. A rejected one stays as history and the
    driver submits anew. The ID and licence numbers are encrypted; the hash finds duplicates."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="verifications")
    legal_name = models.CharField(_("legal name"), max_length=60)
    id_number_encrypted = models.TextField()
    id_number_hash = models.CharField(max_length=64, db_index=True)
    id_number_masked = models.CharField(_("ID number"), max_length=18)
    licence_number_encrypted = models.TextField()
    licence_number_masked = models.CharField(_("licence number"), max_length=20)
    licence_class = models.CharField(_("licence class"), max_length=2, choices=LicenceClass.choices)
    licence_expires_on = models.DateField(_("licence valid until"))
    status = models.CharField(_("status"), max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    provider = models.CharField(_("checked by"), max_length=40, default="manual")
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("real-name verification")
        verbose_name_plural = _("real-name verifications")
        constraints = [
            # One ID number verifies one account; a driver has one live submission at a time.
            models.UniqueConstraint(
                fields=["id_number_hash"], condition=Q(status__in=ACTIVE_VERIFICATION), name="verification_id_number_once"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(status__in=ACTIVE_VERIFICATION), name="verification_one_live_per_user"
            ),
            models.CheckConstraint(
                condition=~Q(status=VerificationStatus.REJECTED) | ~Q(reason=""), name="verification_rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} {self.id_number_masked} ({self.get_status_display()})"


class CarrierCertification(TimeStampedModel):
    """A carrier's application to join the network, and the platform's decision."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="certifications")
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    contact_name = models.CharField(_("contact person"), max_length=60)
    contact_phone = models.CharField(_("contact phone"), max_length=11)
    status = models.CharField(
        _("status"), max_length=20, choices=CertificationStatus.choices, default=CertificationStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    applied_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("carrier certification")
        verbose_name_plural = _("carrier certifications")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=Q(status=CertificationStatus.PENDING), name="certification_one_pending"
            ),
        ]


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")
    REVOKED = "revoked", _("revoked")


class DriverInvitation(TimeStampedModel):
    """A carrier invites a driver by phone number; the driver accepts to join the fleet."""

    carrier = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="driver_invitations")
    phone = models.CharField(_("mobile number"), max_length=11)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("driver invitation")
        verbose_name_plural = _("driver invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "phone"], condition=Q(status=InvitationStatus.PENDING), name="invitation_one_pending"
            ),
        ]
