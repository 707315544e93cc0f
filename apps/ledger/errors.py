"""The ledger's refusals, each with a stable code.

``insufficient_funds`` and ``debt_outstanding`` answer 402 Payment Required: the request is
fine, the payer must top up (or pay its debt) first, and the client shows a top-up. 409 is kept
for conflicts with what already happened (a reused id, a resolved hold, a reversed transaction).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from apps.common.errors import ApplicationError, Conflict


def insufficient_funds() -> ApplicationError:
    return ApplicationError(
        "insufficient_funds",
        str(_("The wallet does not hold enough money for this.")),
        status_code=status.HTTP_402_PAYMENT_REQUIRED,
    )


def debt_outstanding() -> ApplicationError:
    return ApplicationError(
        "debt_outstanding",
        str(_("An unpaid bill must be paid before the next swap.")),
        status_code=status.HTTP_402_PAYMENT_REQUIRED,
    )


def transfer_id_conflict(external_id: str) -> Conflict:
    return Conflict(
        "transfer_id_conflict",
        str(_("The id %(id)s was already used for a different transfer.") % {"id": external_id}),
    )


def hold_already_resolved() -> Conflict:
    return Conflict("hold_already_resolved", str(_("This hold was already captured, voided or expired.")))


def transaction_already_reversed() -> Conflict:
    return Conflict("transaction_already_reversed", str(_("This transaction was already reversed.")))


def transaction_not_reversible() -> Conflict:
    return Conflict("transaction_not_reversible", str(_("Holds and reversals are not reversed; resolve the hold or post anew.")))


def debt_already_settled() -> Conflict:
    return Conflict("debt_already_settled", str(_("This debt was already paid or cancelled.")))


def posting_invalid(message: str) -> ApplicationError:
    """A programming error of the caller (unbalanced legs, a float amount, ...)."""
    return ApplicationError("posting_invalid", message)
