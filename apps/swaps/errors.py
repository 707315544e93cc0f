"""The swap refusals, each with a stable code (clients switch on the code, never the words).

Statuses: 400 a malformed request or QR token; 401 a controller's signature; 402 money (from the
ledger: ``insufficient_funds``, ``debt_outstanding``); 403 who the driver is or may do (not
verified, carrier, vehicle, licence, spending limits); 404 missing or not the caller's; 409 the
state of the world (station, batteries, an active order, the state machine, a used QR token);
410 a QR token that has expired.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import status

from apps.common.errors import ApplicationError, Conflict

MESSAGES: dict[str, str] = {
    "qr_invalid": "This is not a swapnet bay code, or it was altered. Scan the code on the bay again.",
    "qr_expired": "This bay code has expired. Scan the code on the bay's screen again.",
    "qr_used": "This bay code has already been used. Scan the new code on the bay's screen.",
    "bay_code_unknown": "No bay has this code. Check the code on the bay's plate, such as SWN-HHA-W-1.",
    "plate_invalid": "Enter a plate such as 冀J12345D.",
    "driver_not_verified": "Your real-name verification must be approved before you can swap.",
    "carrier_not_certified": "Your fleet is not certified to swap on the network.",
    "vehicle_not_assigned": "This vehicle is not in your fleet or not assigned to you.",
    "licence_class_insufficient": "Your driving licence does not cover this vehicle.",
    "licence_expired": "Your driving licence has expired.",
    "vehicle_incompatible": "This station has no batteries that fit this vehicle.",
    "station_offline": "The station is offline; try another station.",
    "station_closed": "The station is closed now.",
    "bay_out_of_service": "This bay is out of service; scan another bay's code.",
    "no_battery_available": "No charged battery for this vehicle is available at the station now.",
    "order_active": "You or this vehicle already have a swap order in progress.",
    "limit_per_swap_exceeded": "This swap costs more than the limit per swap your fleet set.",
    "limit_per_day_exceeded": "This swap would take you over the daily limit your fleet set.",
    "illegal_transition": "The order cannot go from its current state to the one asked for.",
    "queue_empty": "Nobody is waiting in the queue.",
    "report_conflict": "A different report for this order was already received.",
    "bay_has_no_screen": "This bay has no screen; it uses its printed code.",
    "abnormal_reason_invalid": "Choose one of the abnormal reasons.",
    "resolution_invalid": "Resolve by completing with corrected readings, or by cancelling.",
    "vehicle_not_found": "No vehicle has this plate.",
    "vehicle_carries_no_battery": "This vehicle carries no network battery to hand back.",
    "battery_not_in_vehicle": "This battery is not in this vehicle.",
    "deposit_not_held": "No energy deposit is held for this vehicle.",
    "slot_invalid": "The station has no slot with this number.",
    "slot_occupied": "This slot already holds a battery; choose a free slot.",
    "reading_out_of_range": "The battery reading is outside what the battery can hold.",
}

STATUS: dict[str, int] = {
    "qr_invalid": status.HTTP_400_BAD_REQUEST,
    "qr_expired": status.HTTP_410_GONE,
    "qr_used": status.HTTP_409_CONFLICT,
    "bay_code_unknown": status.HTTP_400_BAD_REQUEST,
    "plate_invalid": status.HTTP_400_BAD_REQUEST,
    "driver_not_verified": status.HTTP_403_FORBIDDEN,
    "carrier_not_certified": status.HTTP_403_FORBIDDEN,
    "vehicle_not_assigned": status.HTTP_403_FORBIDDEN,
    "licence_class_insufficient": status.HTTP_403_FORBIDDEN,
    "licence_expired": status.HTTP_403_FORBIDDEN,
    "vehicle_incompatible": status.HTTP_409_CONFLICT,
    "station_offline": status.HTTP_409_CONFLICT,
    "station_closed": status.HTTP_409_CONFLICT,
    "bay_out_of_service": status.HTTP_409_CONFLICT,
    "no_battery_available": status.HTTP_409_CONFLICT,
    "order_active": status.HTTP_409_CONFLICT,
    "limit_per_swap_exceeded": status.HTTP_403_FORBIDDEN,
    "limit_per_day_exceeded": status.HTTP_403_FORBIDDEN,
    "illegal_transition": status.HTTP_409_CONFLICT,
    "queue_empty": status.HTTP_409_CONFLICT,
    "report_conflict": status.HTTP_409_CONFLICT,
    "bay_has_no_screen": status.HTTP_409_CONFLICT,
    "abnormal_reason_invalid": status.HTTP_400_BAD_REQUEST,
    "resolution_invalid": status.HTTP_400_BAD_REQUEST,
    "vehicle_not_found": status.HTTP_404_NOT_FOUND,
    "vehicle_carries_no_battery": status.HTTP_409_CONFLICT,
    "battery_not_in_vehicle": status.HTTP_409_CONFLICT,
    "deposit_not_held": status.HTTP_409_CONFLICT,
    "slot_invalid": status.HTTP_400_BAD_REQUEST,
    "slot_occupied": status.HTTP_409_CONFLICT,
    "reading_out_of_range": status.HTTP_400_BAD_REQUEST,
}


def refusal(code: str, message: str | None = None, *, fields: dict[str, list[str]] | None = None) -> ApplicationError:
    return ApplicationError(code, message or _(MESSAGES[code]), status_code=STATUS[code], fields=fields)


def illegal_transition(current: str, wanted: str) -> Conflict:
    return Conflict(
        "illegal_transition",
        _("The order is %(current)s; it cannot become %(wanted)s.") % {"current": current, "wanted": wanted},
    )


def forbidden() -> ApplicationError:
    return ApplicationError("permission_denied", _("You may not do this."), status_code=status.HTTP_403_FORBIDDEN)
