"""The consoles' forms: they check the shape of the input; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.web.forms import PHONE_ATTRS


def _decimal(label: Any, *, digits: int, places: int, required: bool = True, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label, min_value=Decimal(0), max_digits=digits, decimal_places=places, required=required, help_text=help_text
    )


def yuan_field(label: Any, **kw: Any) -> forms.DecimalField:
    return _decimal(label, digits=12, places=2, **kw)


def price_field(label: Any, **kw: Any) -> forms.DecimalField:
    return _decimal(label, digits=9, places=4, **kw)


def kwh_field(label: Any, **kw: Any) -> forms.DecimalField:
    return _decimal(label, digits=8, places=3, **kw)


def fen_of(yuan: Decimal | None) -> int | None:
    """Yuan with at most two decimals (the form checked) as integer fen; None stays None."""
    return None if yuan is None else int(yuan * 100)


class LimitsForm(forms.Form):
    per_swap_yuan = yuan_field(_("Per swap (yuan)"), required=False, help_text=_("Empty: no limit. 0 stops spending."))
    per_day_yuan = yuan_field(_("Per day (yuan)"), required=False)


class InviteForm(forms.Form):
    phone = forms.CharField(label=_("Driver's mobile number"), max_length=32, widget=forms.TextInput(attrs=PHONE_ATTRS))


class AssignForm(forms.Form):
    plate = forms.CharField(label=_("Vehicle"), max_length=20)
    driver = forms.IntegerField(label=_("Driver"), min_value=1)


class TariffForm(forms.Form):
    price_sharp = price_field(_("Critical peak (yuan/kWh)"))
    price_peak = price_field(_("Peak (yuan/kWh)"))
    price_flat = price_field(_("Flat (yuan/kWh)"))
    price_valley = price_field(_("Valley (yuan/kWh)"))
    price_deep_valley = price_field(_("Deep valley (yuan/kWh)"))
    service_fee_per_kwh = price_field(_("Service fee (yuan/kWh)"))
    service_fee_per_swap = price_field(_("Service fee per swap (yuan)"))


class RateForm(forms.Form):
    fee_per_kwh = price_field(_("Usage fee (yuan/kWh)"))


class ResolveForm(forms.Form):
    action = forms.ChoiceField(choices=[("complete", _("Complete")), ("cancel", _("Cancel"))])
    delivered_battery = forms.CharField(label=_("Battery handed out"), max_length=24, required=False)
    returned_battery = forms.CharField(label=_("Battery taken back"), max_length=24, required=False)
    delivered_kwh = kwh_field(_("Energy handed out (kWh)"), required=False)
    returned_kwh = kwh_field(_("Energy taken back (kWh)"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
