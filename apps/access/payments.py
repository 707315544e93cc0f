"""Who may see and change payments (``ACCESS.md``: wallet, holds, ledger entries).

Top-ups and refunds belong to a payer's wallet: its admins (carrier admins of a carrier or an
individual) see them and are the only ones who may top up or refund it — paying in and taking
money back are the payer's own acts, so not even the platform does them for it (it sees them).
Payouts and payout accounts belong to the station operator or battery owner paid: its admins
see them; the platform sees all and keeps the payout accounts. Provider events are the
platform's alone. Everything else is written by services only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.access import Actor
from apps.access.ledger import WALLET_KINDS
from apps.accounts.models import Organisation, OrganisationKind
from apps.payments.models import Payout, PayoutAccount, ProviderEvent, Refund, TopUp

PAYEE_KINDS = (OrganisationKind.STATION_OPERATOR, OrganisationKind.BATTERY_OWNER)


def payer_organisations(actor: Actor) -> QuerySet[Organisation]:
    """The carriers and individuals whose top-ups and refunds the actor sees."""
    payers = Organisation.objects.filter(kind__in=WALLET_KINDS)
    if actor.platform_admin:
        return payers
    return payers.filter(pk__in=actor.carrier_admin_of)


def may_top_up(actor: Actor, organisation: Organisation) -> bool:
    """Top up or refund the organisation's wallet: its own admins only."""
    return organisation.kind in WALLET_KINDS and organisation.pk in actor.carrier_admin_of


def visible_top_ups(actor: Actor) -> QuerySet[TopUp]:
    if actor.platform_admin:
        return TopUp.objects.all()
    return TopUp.objects.filter(organisation_id__in=actor.carrier_admin_of)


def visible_refunds(actor: Actor) -> QuerySet[Refund]:
    if actor.platform_admin:
        return Refund.objects.all()
    return Refund.objects.filter(organisation_id__in=actor.carrier_admin_of)


def visible_payouts(actor: Actor) -> QuerySet[Payout]:
    if actor.platform_admin:
        return Payout.objects.all()
    return Payout.objects.filter(organisation_id__in=actor.operator_admin_of | actor.owner_admin_of)


def visible_payout_accounts(actor: Actor) -> QuerySet[PayoutAccount]:
    if actor.platform_admin:
        return PayoutAccount.objects.all()
    return PayoutAccount.objects.filter(organisation_id__in=actor.operator_admin_of | actor.owner_admin_of)


def payout_account_organisations(actor: Actor) -> QuerySet[Organisation]:
    """The parties a payout account may be kept for (by the platform)."""
    if actor.platform_admin:
        return Organisation.objects.filter(kind__in=PAYEE_KINDS)
    return Organisation.objects.none()


def may_change_payout_account(actor: Actor, account: PayoutAccount) -> bool:
    return actor.platform_admin


def may_add_payout_account(actor: Actor) -> bool:
    return actor.platform_admin


def visible_provider_events(actor: Actor) -> QuerySet[ProviderEvent]:
    if actor.platform_admin:
        return ProviderEvent.objects.all()
    return ProviderEvent.objects.none()


def may_change_payments(actor: Actor, obj: Any) -> bool:
    """Top-ups, refunds, payouts and events are written by services only."""
    return False
