"""What the consoles share: who may open them, and their navigation.

The consoles are the desk screens (usable on a phone too) of the parties' admins:

- ``carrier``: a carrier's admins (vehicles, drivers, limits, spend, the wallet).
- ``ops``: station operators' admins, battery owners' admins and the platform (network map,
  telemetry, abnormal orders, tariffs and rates).
- ``party``: anyone who administers an organisation, and the platform (statements).

The roles are registered in ``apps.web.pages.ROLES`` here, so ``@page("carrier")`` refuses
everyone else exactly as the other pages do (sign-in for anonymous visitors, 404 for others).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.access import Actor
from apps.access.carriers import visible_fleets
from apps.accounts.models import Organisation, OrganisationKind
from apps.common.errors import NotFound
from apps.web import pages


def is_carrier_admin(actor: Actor) -> bool:
    return bool(actor.carrier_admin_of)


def is_ops(actor: Actor) -> bool:
    return actor.platform_admin or bool(actor.operator_admin_of) or bool(actor.owner_admin_of)


def is_party(actor: Actor) -> bool:
    return actor.platform_admin or bool(actor.admin_of)


pages.ROLES.setdefault("carrier", is_carrier_admin)
pages.ROLES.setdefault("ops", is_ops)
pages.ROLES.setdefault("party", is_party)


def carrier_for(request: HttpRequest) -> Organisation:
    """The carrier the console shows: ``?carrier=<id>`` among those the actor administers, else
    the first (carriers before an individual's own one)."""
    actor = pages.actor_of(request)
    fleets = visible_fleets(actor).filter(pk__in=actor.carrier_admin_of)
    wanted = request.GET.get("carrier") or request.POST.get("carrier")
    if wanted:
        chosen = fleets.filter(pk=int(wanted) if wanted.isdigit() else 0).first()
    else:
        chosen = fleets.filter(kind=OrganisationKind.CARRIER).order_by("pk").first() or fleets.order_by("pk").first()
    if chosen is None:
        raise NotFound("carrier")
    return chosen


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Promise
    url: str


def console_nav(actor: Actor) -> list[NavItem]:
    """The console pages this actor may open, in a fixed order."""
    items: list[NavItem] = []
    if is_carrier_admin(actor):
        items += [
            NavItem("carrier", _("Fleet"), reverse("web:carrier-home")),
            NavItem("carrier-vehicles", _("Vehicles"), reverse("web:carrier-vehicles")),
            NavItem("carrier-drivers", _("Drivers"), reverse("web:carrier-drivers")),
            NavItem("carrier-wallet", _("Wallet"), reverse("web:carrier-wallet")),
        ]
    if is_ops(actor):
        items += [
            NavItem("ops", _("Network"), reverse("web:ops-home")),
            NavItem("ops-telemetry", _("Telemetry"), reverse("web:ops-telemetry")),
        ]
        if actor.platform_admin or actor.operator_admin_of:
            items.append(NavItem("ops-abnormal", _("Abnormal orders"), reverse("web:ops-abnormal")))
        items.append(NavItem("ops-tariffs", _("Tariffs and rates"), reverse("web:ops-tariffs")))
    if is_party(actor):
        items.append(NavItem("statements", _("Statements"), reverse("web:statements")))
    return items


def console_home_url(actor: Actor) -> str | None:
    items = console_nav(actor)
    return items[0].url if items else None
