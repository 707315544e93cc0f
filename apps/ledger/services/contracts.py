"""Contracts between the platform and the station operators and battery owners, and wallet
credit lines. Both are set by platform admins (ACCESS.md: "contract ... may change: platform admins")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.accounts.models import Organisation, OrganisationKind
from apps.common.errors import ApplicationError, Conflict
from apps.ledger.models import AccountPeriod, AccountPurpose, Contract
from apps.ledger.services.posting import account_get, lock_accounts, require_fen

CONTRACT_PARTY_KINDS = (OrganisationKind.STATION_OPERATOR, OrganisationKind.BATTERY_OWNER)
WALLET_KINDS = (OrganisationKind.CARRIER, OrganisationKind.INDIVIDUAL)


def _platform_only(actor: Actor, what: str) -> None:
    if not actor.platform_admin:
        raise ApplicationError("permission_denied", _("Only the platform sets %(what)s.") % {"what": what}, status_code=403)


def contract_create(
    *,
    actor: Actor,
    platform: Organisation,
    party: Organisation,
    commission_rate: Decimal,
    account_period: str,
    payment_terms_days: int,
    effective_from: date,
    effective_to: date | None = None,
    commission_min_fen: int = 0,
    commission_max_fen: int | None = None,
) -> Contract:
    """A new contract for ``party``. An open-ended contract that began earlier ends where this one
    begins; any other overlap is refused (``contract_overlaps``)."""
    _platform_only(actor, _("contracts"))
    if platform.kind != OrganisationKind.PLATFORM or party.kind not in CONTRACT_PARTY_KINDS:
        raise ApplicationError("contract_party_invalid", _("Contracts are between the platform and an operator or owner."))
    if not isinstance(commission_rate, Decimal) or not Decimal(0) <= commission_rate <= Decimal(1):
        raise ApplicationError("commission_rate_invalid", _("The commission rate is a Decimal fraction from 0 to 1."))
    require_fen(commission_min_fen, what="commission_min_fen")
    if commission_max_fen is not None and require_fen(commission_max_fen, what="commission_max_fen") < commission_min_fen:
        raise ApplicationError("commission_range_invalid", _("The maximum commission is below the minimum."))
    if account_period not in AccountPeriod.values:
        raise ApplicationError("account_period_invalid", _("Unknown account period."))
    if effective_to is not None and effective_to <= effective_from:
        raise ApplicationError("contract_dates_invalid", _("A contract ends after it begins."))
    try:
        with transaction.atomic():
            # One contract change per party at a time: lock the party's row.
            Organisation.objects.select_for_update().filter(pk=party.pk).first()
            contracts = Contract.objects.filter(party=party)
            contracts.filter(effective_from__lt=effective_from, effective_to__isnull=True).update(
                effective_to=effective_from, updated_at=timezone.now()
            )
            ends_after_start = Q(effective_to__isnull=True) | Q(effective_to__gt=effective_from)
            overlapping = contracts.filter(ends_after_start)
            if effective_to is not None:
                overlapping = overlapping.filter(effective_from__lt=effective_to)
            if overlapping.exists():
                raise Conflict("contract_overlaps", _("Another contract of this party is in force in these dates."))
            return Contract.objects.create(
                platform=platform,
                party=party,
                commission_rate=commission_rate,
                commission_min_fen=commission_min_fen,
                commission_max_fen=commission_max_fen,
                account_period=account_period,
                payment_terms_days=payment_terms_days,
                effective_from=effective_from,
                effective_to=effective_to,
            )
    except IntegrityError:
        raise Conflict("contract_overlaps", _("Another contract of this party is in force in these dates.")) from None


def wallet_credit_line_set(*, actor: Actor, organisation: Organisation, credit_line_fen: int) -> int:
    """Let a fleet's wallet go down to minus ``credit_line_fen``. Refused (``credit_line_in_use``)
    when the wallet is already below the new floor. Returns the new floor."""
    _platform_only(actor, _("credit lines"))
    require_fen(credit_line_fen, what="credit_line_fen")
    if organisation.kind not in WALLET_KINDS:
        raise ApplicationError("wallet_owner_invalid", _("Only carriers and individuals have wallets."))
    wallet = account_get(organisation=organisation, purpose=AccountPurpose.WALLET)
    with transaction.atomic():
        locked = lock_accounts([wallet])[wallet.pk]
        if locked.balance_fen < -credit_line_fen:
            raise Conflict("credit_line_in_use", _("The wallet already uses more credit than the new line allows."))
        locked.floor_fen = -credit_line_fen
        locked.save(update_fields=["floor_fen", "updated_at"])
        return locked.floor_fen
