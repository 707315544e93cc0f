from __future__ import annotations

from django.db.models import QuerySet

from apps import access
from apps.access import Actor
from apps.accounts.models import Organisation
from apps.common.errors import NotFound


def organisation_list(*, actor: Actor) -> QuerySet[Organisation]:
    return access.visible_organisations(actor).order_by("code")


def organisation_get(*, actor: Actor, organisation_id: int) -> Organisation:
    organisation = organisation_list(actor=actor).filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound("organisation")
    return organisation
