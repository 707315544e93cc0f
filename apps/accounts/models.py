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


class Organisation(TimeStampedModel):
    """A party of the network. Every asset, account and contract belongs to one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def pays_for_swaps(self) -> bool:
        return self.kind in (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL)


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

    phone = models.CharField(_("mobile number"), max_length=11, unique=True)
    display_name = models.CharField(_("display name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("may use the admin"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=r"^1[3-9][0-9]{9}$"), name="user_phone_is_mainland_mobile"),
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
