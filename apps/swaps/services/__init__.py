"""The swaps' writes. Every service is keyword-only and atomic, and takes its row locks in one
order: the payer's wallet accounts, the order, the batteries (``locks``)."""

from apps.swaps.services.completion import (
    SwapReading,
    orders_flag_stalled,
    orders_settle,
    swap_mark_abnormal,
    swap_report,
    swap_resolve,
)
from apps.swaps.services.control import (
    IntervalReading,
    NewCredential,
    SlotReading,
    bay_token_issue,
    charging_report,
    controller_heartbeat,
    controller_key_ensure,
    controller_key_rotate,
)
from apps.swaps.services.deposits import Leaving, vehicle_leave
from apps.swaps.services.queue import orders_cancel_no_shows, queue_call_next, swap_cancel, swap_confirm
from apps.swaps.services.scan import Scanned, swap_scan

__all__ = [
    "IntervalReading",
    "Leaving",
    "NewCredential",
    "Scanned",
    "SlotReading",
    "SwapReading",
    "bay_token_issue",
    "charging_report",
    "controller_heartbeat",
    "controller_key_ensure",
    "controller_key_rotate",
    "orders_cancel_no_shows",
    "orders_flag_stalled",
    "orders_settle",
    "queue_call_next",
    "swap_cancel",
    "swap_confirm",
    "swap_mark_abnormal",
    "swap_report",
    "swap_resolve",
    "swap_scan",
    "vehicle_leave",
]
