"""Admin pages for organisations, users (phone login) and memberships, scoped by access."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps import access
from apps.accounts.models import ROLE_ORGANISATION_KINDS, Membership, Organisation, User
from apps.common.admin import ScopedInline, ScopedModelAdmin
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
