"""The pages' forms: they check the shape of the input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import LicenceClass
from apps.swaps.models import AbnormalReason

MAX_PHOTO_BYTES = 15 * 1024 * 1024
PHONE_ATTRS = {"autocomplete": "tel", "inputmode": "tel", "placeholder": "13912345678"}


class SignInForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS))
    password = forms.CharField(
        label=_("Password"), max_length=1024, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class RegisterForm(forms.Form):
    display_name = forms.CharField(label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(label=_("Mobile number"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS))
    password = forms.CharField(
        label=_("Password"),
        max_length=1024,
        strip=False,
        help_text=_("At least 8 characters, not only digits."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class VerificationForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=60)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=40)
    licence_number = forms.CharField(label=_("Driving licence number"), max_length=40)
    licence_class = forms.ChoiceField(label=_("Licence class"), choices=LicenceClass.choices)
    licence_expires_on = forms.DateField(label=_("Licence valid until"), widget=forms.DateInput(attrs={"type": "date"}))


class VehicleForm(forms.Form):
    plate = forms.CharField(label=_("Plate"), max_length=20, widget=forms.TextInput(attrs={"placeholder": "冀J12345D"}))
    vin = forms.CharField(label=_("VIN"), max_length=17)
    pack_standard = forms.ChoiceField(label=_("Battery pack standard"), choices=[])
    model_name = forms.CharField(label=_("Model"), max_length=80, required=False)


class ScanForm(forms.Form):
    """The bay's code typed (or filled in by the camera), or a photo of its QR code."""

    code = forms.CharField(
        label=_("Bay code"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "SWN-HHA-W-1", "autocapitalize": "characters", "autocomplete": "off"}),
    )
    photo = forms.FileField(label=_("Or a photo of the bay's QR code"), required=False)
    plate = forms.ChoiceField(label=_("Vehicle"), choices=[])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        photo = cleaned.get("photo")
        if photo is not None and photo.size > MAX_PHOTO_BYTES:
            self.add_error("photo", _("The photo is larger than 15 MB."))
        elif not cleaned.get("code") and photo is None and "code" not in self.errors:
            self.add_error("code", _("Type the bay's code, or take a photo of its QR code."))
        return cleaned


class TopUpForm(forms.Form):
    amount_yuan = forms.IntegerField(label=_("Amount (yuan)"), min_value=1, max_value=10_000_000)


class AbnormalForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=AbnormalReason.choices)
    detail = forms.CharField(label=_("What happened"), max_length=300, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the driver"), max_length=300)
