"""The payments app's refusals, each with a stable code."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import status

from apps.common.errors import ApplicationError, Conflict


def amount_out_of_range(*, minimum: int, maximum: int) -> ApplicationError:
    return ApplicationError(
        "amount_out_of_range",
        _("A top-up is between %(min)d and %(max)d fen.") % {"min": minimum, "max": maximum},
        fields={"amount_fen": [_("Between %(min)d and %(max)d fen.") % {"min": minimum, "max": maximum}]},
    )


def top_up_not_allowed() -> ApplicationError:
    return ApplicationError(
        "permission_denied",
        _("Only the organisation's own admins top up or refund its wallet."),
        status_code=status.HTTP_403_FORBIDDEN,
    )


def provider_unavailable(message: str) -> ApplicationError:
    return ApplicationError(
        "payment_provider_unavailable",
        _("The payment provider could not be reached; try again shortly. (%(reason)s)") % {"reason": message},
        status_code=status.HTTP_502_BAD_GATEWAY,
    )


def provider_refused(message: str) -> ApplicationError:
    return ApplicationError(
        "payment_provider_refused",
        _("The payment provider refused the request: %(reason)s") % {"reason": message},
        status_code=status.HTTP_502_BAD_GATEWAY,
    )


def payments_not_configured() -> ApplicationError:
    return ApplicationError(
        "payments_not_configured",
        _("Payments are not configured on this server."),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def signature_invalid(reason: str) -> ApplicationError:
    return ApplicationError("signature_invalid", _("The webhook signature is not valid: %(reason)s") % {"reason": reason})


def event_malformed(reason: str) -> ApplicationError:
    return ApplicationError("event_malformed", _("The webhook body is not an event: %(reason)s") % {"reason": reason})


def amount_mismatch(*, expected: int, got: int, currency: str) -> ApplicationError:
    return Conflict(
        "amount_mismatch",
        _("The provider reports %(got)d %(currency)s received; the top-up is %(expected)d fen.")
        % {"got": got, "currency": currency, "expected": expected},
    )


def nothing_to_refund() -> Conflict:
    return Conflict("nothing_to_refund", _("There is no unused top-up balance to refund."))


def refund_exceeds_refundable(refundable_fen: int) -> Conflict:
    return Conflict(
        "refund_exceeds_refundable",
        _("At most %(n)d fen can be refunded now.") % {"n": refundable_fen},
        fields={"amount_fen": [_("At most %(n)d fen.") % {"n": refundable_fen}]},
    )


def refund_amount_invalid() -> ApplicationError:
    return ApplicationError(
        "invalid",
        _("The request is not valid."),
        fields={"amount_fen": [_("A refund is a positive whole number of fen.")]},
    )
