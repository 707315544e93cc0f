"""Admin pages for organisations, users (phone login) and memberships, scoped by access."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps import access
from apps.access import Actor
from apps.access.carriers import may_decide_certification, visible_certifications
from apps.access.verification import may_review_verifications, visible_verifications
from apps.accounts.models import (
    ROLE_ORGANISATION_KINDS,
    CarrierCertification,
    CertificationStatus,
    Membership,
    Organisation,
    RealNameVerification,
    User,
    VerificationStatus,
)
from apps.accounts.services import carriers as carrier_services
from apps.accounts.services import verification as verification_services
from apps.common.admin import ScopedInline, ScopedModelAdmin, actor_for
from apps.common.errors import ApplicationError
from apps.common.identifiers import InvalidIdentifier, normalize_phone


class MembershipForm(forms.ModelForm):
    """Roles belong to kinds of organisation (a carrier has no operator admins), and station
    staff to a station of their own operator."""

    class Meta:
        model = Membership
        fields = ("user", "organisation", "role", "station")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organisation, role, station = cleaned.get("organisation"), cleaned.get("role"), cleaned.get("station")
        if organisation is not None and role and organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
            raise ValidationError({"role": _("This role does not exist in this kind of organisation.")})
        if organisation is not None and station is not None and station.operator_id != organisation.pk:
            raise ValidationError({"station": _("Staff work at a station of their own operator.")})
        return cleaned


class OrganisationMembershipInline(ScopedInline[Membership, Organisation]):
    model = Membership
    form = MembershipForm
    visible = staticmethod(access.visible_memberships)
    may_change_parent = staticmethod(access.may_change_organisation)
    related_choices = {"user": access.visible_users, "station": access.visible_station_internals}
    fields = ("user", "role", "station")
    raw_id_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("user", "station")


class UserMembershipInline(ScopedInline[Membership, User]):
    model = Membership
    form = MembershipForm
    visible = staticmethod(access.visible_memberships)
    may_change_parent = staticmethod(access.may_change_user)
    related_choices = {"organisation": access.visible_organisations, "station": access.visible_station_internals}
    fields = ("organisation", "role", "station")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("organisation", "station")


@admin.register(Organisation)
class OrganisationAdmin(ScopedModelAdmin[Organisation]):
    visible = staticmethod(access.visible_organisations)
    may_change = staticmethod(access.may_change_organisation)
    may_add = staticmethod(access.may_add_organisation)
    inlines = (OrganisationMembershipInline,)
    list_display = ("code", "name", "name_en", "kind", "certification_status")
    list_filter = ("kind", "certification_status")
    # Certification changes only through the application and review workflow.
    readonly_fields = ("certification_status",)
    search_fields = ("code", "name", "name_en")


class PhoneField(forms.CharField):
    """A mainland mobile number as people type it (+86, spaces, full-width), stored as 11 digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("mobile number"))
        super().__init__(max_length=24, **kwargs)

    def clean(self, value: Any) -> str:
        raw = super().clean(value)
        try:
            return normalize_phone(raw)
        except InvalidIdentifier as error:
            raise ValidationError(error.message, code=error.code) from error


class UserCreationForm(auth_forms.AdminUserCreationForm):
    phone = PhoneField()

    class Meta:
        model = User
        fields = ("phone", "display_name")


class UserChangeForm(auth_forms.UserChangeForm):
    phone = PhoneField()

    class Meta:
        model = User
        fields = ("phone", "display_name", "password", "is_active", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(ScopedModelAdmin[User], DjangoUserAdmin):
    """People who log in by phone. Platform only: who may sign in and use the admin is not
    an organisation's decision."""

    platform_only = True
    visible = staticmethod(access.visible_users)
    may_change = staticmethod(access.may_change_user)
    may_add = staticmethod(access.may_add_user)
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Personal info"), {"fields": ("display_name",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("phone", "display_name", "usable_password", "password1", "password2")},
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    inlines = (UserMembershipInline,)
    list_display = ("masked_phone", "display_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("phone", "display_name")
    ordering = ("phone",)
    filter_horizontal = ()

    @admin.display(description=_("mobile number"), ordering="phone")
    def masked_phone(self, user: User) -> str:
        return user.masked_phone

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        readonly = super().get_readonly_fields(request, obj)
        # Only a superuser makes another one.
        return readonly if request.user.is_superuser else (*readonly, "is_superuser")


# --- Review queues of the platform: real-name verifications and carrier certifications -------
class ReasonActionForm(helpers.ActionForm):
    """The action bar with a reason, which "reject" requires (the services say so)."""

    reason = forms.CharField(label=_("Reason (for rejection)"), required=False, max_length=200)


def _never(actor: Actor, obj: Any) -> bool:
    return False


class ReviewQueueAdmin(ScopedModelAdmin[Any]):
    """Read-only applications whose decisions go through the review services, as admin actions."""

    platform_only = True
    may_change = staticmethod(_never)
    action_form = ReasonActionForm
    actions = ("approve_selected", "reject_selected")

    def may_review(self, actor: Actor) -> bool:
        raise NotImplementedError

    def approve(self, *, actor: Actor, obj: Any) -> None:
        raise NotImplementedError

    def reject(self, *, actor: Actor, obj: Any, reason: str) -> None:
        raise NotImplementedError

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of who was admitted to the network, and why

    def has_review_permission(self, request: HttpRequest) -> bool:
        actor = self._allowed(request)
        return actor is not None and self.may_review(actor)

    def _review(self, request: HttpRequest, queryset: QuerySet[Any], *, reject: bool) -> None:
        actor = actor_for(request)
        reason = request.POST.get("reason", "")
        decided = 0
        for obj in queryset:
            try:
                if reject:
                    self.reject(actor=actor, obj=obj, reason=reason)
                else:
                    self.approve(actor=actor, obj=obj)
            except ApplicationError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                decided += 1
        if decided:
            self.message_user(
                request,
                ngettext("%(count)d application decided.", "%(count)d applications decided.", decided) % {"count": decided},
                messages.SUCCESS,
            )

    @admin.action(description=_("Approve the selected"), permissions=["review"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, reject=False)

    @admin.action(description=_("Reject the selected with the reason given"), permissions=["review"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, reject=True)


@admin.register(RealNameVerification)
class RealNameVerificationAdmin(ReviewQueueAdmin):
    """Pending submissions first, oldest first. Masked numbers only: the encrypted columns and
    the look-up hash are never on the page. Full numbers are revealed through the audited API only."""

    visible = staticmethod(visible_verifications)
    list_display = (
        "legal_name",
        "id_number_masked",
        "licence_number_masked",
        "licence_class",
        "licence_expires_on",
        "status",
        "created_at",
        "reviewed_at",
    )
    list_filter = ("status", "licence_class", "provider")
    # Never a search by the full ID number: the admin searches by GET, and a query string ends
    # up in access logs. The masked copy (region and last four) narrows it down instead.
    search_fields = ("legal_name", "id_number_masked")
    # Django's admin takes expressions in ordering; the stubs know only field names.
    ordering = (Case(When(status=VerificationStatus.PENDING, then=Value(0)), default=Value(1)).asc(), "created_at", "pk")  # type: ignore[assignment]
    fields = (
        "user",
        "legal_name",
        "id_number_masked",
        "licence_number_masked",
        "licence_class",
        "licence_expires_on",
        "status",
        "reason",
        "provider",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    )
    readonly_fields = fields

    def may_review(self, actor: Actor) -> bool:
        return may_review_verifications(actor)

    def approve(self, *, actor: Actor, obj: Any) -> None:
        verification_services.verification_approve(actor=actor, verification=obj)

    def reject(self, *, actor: Actor, obj: Any, reason: str) -> None:
        verification_services.verification_reject(actor=actor, verification=obj, reason=reason)


@admin.register(CarrierCertification)
class CarrierCertificationAdmin(ReviewQueueAdmin):
    """Carriers' applications to join the network: pending first, oldest first."""

    visible = staticmethod(visible_certifications)
    list_display = ("company_name", "credit_code", "organisation", "contact_name", "status", "created_at", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("company_name", "credit_code", "organisation__code")
    ordering = (Case(When(status=CertificationStatus.PENDING, then=Value(0)), default=Value(1)).asc(), "created_at", "pk")  # type: ignore[assignment]
    fields = (
        "organisation",
        "company_name",
        "credit_code",
        "contact_name",
        "contact_phone",
        "status",
        "reason",
        "applied_by",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    )
    readonly_fields = fields
    list_select_related = ("organisation",)

    def may_review(self, actor: Actor) -> bool:
        return may_decide_certification(actor)

    def approve(self, *, actor: Actor, obj: Any) -> None:
        carrier_services.certification_approve(actor=actor, certification=obj)

    def reject(self, *, actor: Actor, obj: Any, reason: str) -> None:
        carrier_services.certification_reject(actor=actor, certification=obj, reason=reason)
