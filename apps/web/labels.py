"""Words the pages show for the domain's codes (translated here, where the pages' messages live)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ORDER_STATES: dict[str, Promise] = {
    "requested": _("Requested"),
    "queued": _("In the queue"),
    "called": _("Called to the bay"),
    "swapping": _("Swapping"),
    "completed": _("Completed"),
    "settled": _("Settled"),
    "cancelled": _("Cancelled"),
    "abnormal": _("Needs attention"),
}
ORDER_STATE_TONES = {
    "requested": "",
    "queued": "",
    "called": "warn",
    "swapping": "warn",
    "completed": "ok",
    "settled": "ok",
    "cancelled": "",
    "abnormal": "bad",
}
VERIFICATION_STATES: dict[str, Promise] = {
    "unverified": _("Not verified"),
    "pending": _("Waiting for review"),
    "verified": _("Verified"),
    "rejected": _("Rejected"),
}
VERIFICATION_TONES = {"unverified": "warn", "pending": "warn", "verified": "ok", "rejected": "bad"}
LINE_KINDS: dict[str, Promise] = {
    "energy": _("Energy"),
    "service_energy": _("Service fee per kWh"),
    "service_swap": _("Service fee per swap"),
    "battery_usage": _("Battery usage fee"),
    "commission": _("Of which, platform commission"),
}
PERIODS: dict[str, Promise] = {
    "peak": _("Peak"),
    "flat": _("Flat"),
    "valley": _("Valley"),
    "sharp": _("Critical peak"),
    "deep_valley": _("Deep valley"),
}
ABNORMAL_REASONS: dict[str, Promise] = {
    "returned_battery_mismatch": _("The returned battery is not the one the vehicle carried."),
    "delivered_battery_mismatch": _("The battery handed out is not the one reserved for the order."),
    "reading_out_of_range": _("A battery reading is outside what the battery can hold."),
    "returned_energy_exceeds_delivered": _("The returned battery holds more energy than the one handed out."),
    "battery_too_hot": _("The battery is too hot to hand out."),
    "controller_offline": _("The station controller went offline during the swap."),
    "timeout": _("The swap did not finish in time."),
    "staff_reported": _("Reported by station staff."),
}
MOVEMENTS: dict[str, Promise] = {
    "top_up": _("Top-up"),
    "energy_deposit": _("Energy deposit"),
    "swap_expense": _("Battery swap"),
    "swap_income": _("Swap income"),
    "commission": _("Commission"),
    "refund": _("Refund"),
    "adjustment": _("Adjustment"),
    "hold": _("Hold"),
}
