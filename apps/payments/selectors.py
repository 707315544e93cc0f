"""Reads of top-ups and refunds, each filtered by the actor through ``apps.access.payments``;
what the actor may not see answers 404, like a missing one."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.access import payments as payments_access
from apps.accounts.models import Organisation
from apps.common.errors import ApplicationError, NotFound
from apps.payments.models import Refund, TopUp


def payer_get(*, actor: Actor, organisation_id: int | None = None) -> Organisation:
    """The payer (carrier or individual) whose wallet the request is about. Without
    ``organisation_id`` the actor must administer exactly one payer."""
    payers = payments_access.payer_organisations(actor)
    if organisation_id is not None:
        organisation = payers.filter(pk=organisation_id).first()
    else:
        candidates = list(payers.filter(pk__in=actor.carrier_admin_of)[:2])
        if len(candidates) > 1:
            raise ApplicationError("organisation_required", _("Name the organisation: you administer more than one."))
        organisation = candidates[0] if candidates else None
    if organisation is None:
        raise NotFound("wallet")
    return organisation


def top_up_list(*, actor: Actor, organisation: Organisation) -> QuerySet[TopUp]:
    return payments_access.visible_top_ups(actor).filter(organisation=organisation).order_by("-created_at", "-id")


def top_up_get(*, actor: Actor, top_up_id: int) -> TopUp:
    top_up = payments_access.visible_top_ups(actor).filter(pk=top_up_id).first()
    if top_up is None:
        raise NotFound("top-up")
    return top_up


def refund_list(*, actor: Actor, organisation: Organisation) -> QuerySet[Refund]:
    return (
        payments_access.visible_refunds(actor)
        .filter(organisation=organisation)
        .select_related("top_up")
        .order_by("-created_at", "-id")
    )


def refund_get(*, actor: Actor, refund_id: int) -> Refund:
    refund = payments_access.visible_refunds(actor).select_related("top_up").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound("refund")
    return refund
