"""Payouts at settlement: what the network owes station operators and battery owners.

When a closed statement falls due (its ``due_date``, T+N), ``payouts_run`` pays the party what
the statement says is payable — less what was paid out since the statement's period ended (an
earlier statement paid late is in this one's payable too), and never more than the party's
receivable holds now. Each payout is posted in the ledger at once (the party's receivable to the
platform's provider clearing: the money leaves the network), then

- a party with a Stripe Connect account is paid by a transfer after the commit (idempotency key
  ``swapnet-payout-<public id>``); a refused transfer is reversed in the ledger (its amount is
  then in the party's next statement) and marked failed; an unknown outcome stays pending and
  is asked again, with the same key, by the next run;
- any other party waits for the bank-transfer export (``payouts_bank_export``: a CSV for the
  platform's bank), which marks the payouts exported.

A statement is paid out at most once (a unique key on it); a run is idempotent.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import OrganisationKind
from apps.ledger import services as ledger_services
from apps.ledger.models import CNY, Account, AccountPurpose, MovementType, Statement
from apps.ledger.selectors import local_midnight
from apps.payments.models import Payout, PayoutAccount, PayoutMethod, PayoutStatus
from apps.payments.providers import payment_provider
from apps.payments.providers.base import PaymentProvider, ProviderError

logger = logging.getLogger(__name__)

PAID_PARTIES = (OrganisationKind.STATION_OPERATOR, OrganisationKind.BATTERY_OWNER)
# What the ledger has no movement type of its own for yet (see the report): a payout is an adjustment.
PAYOUT_MOVEMENT = MovementType.ADJUSTMENT


def _ledger_id(payout: Payout, step: str = "") -> str:
    return f"payments:payout:{payout.public_id}" + (f":{step}" if step else "")


def payout_create(*, statement: Statement) -> Payout:
    """The payout of one due statement, posted in the ledger (idempotent per statement)."""
    existing = Payout.objects.filter(statement=statement).first()
    if existing is not None:
        return existing
    organisation = statement.organisation
    try:
        with transaction.atomic():
            receivable = ledger_services.account_get(organisation=organisation, purpose=AccountPurpose.RECEIVABLE)
            clearing = ledger_services.account_get(
                organisation=ledger_services.platform_organisation(), purpose=AccountPurpose.PROVIDER_CLEARING
            )
            # Both accounts, in ascending id order as the ledger locks them: the receivable's
            # balance read here is the one the posting below changes.
            locked = {
                a.pk: a for a in Account.objects.select_for_update().filter(pk__in=[receivable.pk, clearing.pk]).order_by("pk")
            }
            receivable = locked[receivable.pk]
            paid_since = (
                Payout.objects.filter(organisation=organisation, created_at__gte=local_midnight(statement.period_end))
                .exclude(status__in=[PayoutStatus.FAILED, PayoutStatus.SKIPPED])
                .aggregate(total=Sum("amount_fen"))["total"]
                or 0
            )
            amount = max(0, min(statement.amount_payable_fen - paid_since, receivable.balance_fen))
            account = PayoutAccount.objects.filter(organisation=organisation).first()
            by_stripe = account is not None and bool(account.stripe_account_id)
            payout = Payout(
                organisation=organisation,
                statement=statement,
                amount_fen=amount,
                currency=statement.currency,
                method=PayoutMethod.STRIPE_TRANSFER if by_stripe else PayoutMethod.BANK_TRANSFER,
                destination=account.stripe_account_id if account is not None and by_stripe else "",
            )
            payout.idempotency_key = f"swapnet-payout-{payout.public_id}"
            if amount == 0:
                payout.status = PayoutStatus.SKIPPED
                payout.save()
                return payout
            payout.journal_transaction = ledger_services.journal_post(
                external_id=_ledger_id(payout),
                movement_type=PAYOUT_MOVEMENT,
                legs=[ledger_services.Leg(receivable, -amount), ledger_services.Leg(clearing, amount)],
                reference=f"payout:{payout.public_id}",
                memo=f"payout of statement {statement.pk} ({statement.period_start}–{statement.period_end})",
            )
            payout.status = PayoutStatus.PENDING if by_stripe else PayoutStatus.AWAITING_EXPORT
            payout.save()
            if by_stripe:
                payout_id = payout.pk
                transaction.on_commit(lambda: payout_submit(payout_id=payout_id), robust=True)
            return payout
    except IntegrityError:
        return Payout.objects.get(statement=statement)  # made by a concurrent run


def payout_submit(*, payout_id: int, provider: PaymentProvider | None = None) -> Payout:
    """Make a pending payout's Stripe Connect transfer."""
    payout = Payout.objects.get(pk=payout_id)
    if payout.status != PayoutStatus.PENDING:
        return payout
    provider = provider or payment_provider()
    try:
        transfer = provider.transfer_create(
            destination=payout.destination,
            amount_fen=payout.amount_fen,
            currency=payout.currency,
            idempotency_key=payout.idempotency_key,
            metadata={"swapnet_payout": str(payout.public_id), "swapnet_statement": str(payout.statement_id)},
            transfer_group=f"statement-{payout.statement_id}",
        )
    except ProviderError as error:
        if error.retryable:
            logger.warning("payout %s: provider unreachable, left pending: %s", payout.pk, error.message)
            Payout.objects.filter(pk=payout.pk, status=PayoutStatus.PENDING).update(failure_message=error.message[:500])
            return Payout.objects.get(pk=payout.pk)
        with transaction.atomic():
            payout = Payout.objects.select_for_update().get(pk=payout_id)
            if payout.status == PayoutStatus.PENDING:
                assert payout.journal_transaction is not None
                payout.reversal_transaction = ledger_services.transaction_reverse(
                    original=payout.journal_transaction, external_id=_ledger_id(payout, "failed"), movement_type=PAYOUT_MOVEMENT
                )
                payout.status = PayoutStatus.FAILED
                payout.failure_message = error.message[:500]
                payout.save(update_fields=["reversal_transaction", "status", "failure_message", "updated_at"])
        return payout
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status == PayoutStatus.PENDING:
            payout.status = PayoutStatus.PAID
            payout.provider_transfer_id = transfer.id
            payout.paid_at = timezone.now()
            payout.failure_message = ""
            payout.save(update_fields=["status", "provider_transfer_id", "paid_at", "failure_message", "updated_at"])
    return payout


def payouts_run(*, now: datetime | None = None, provider: PaymentProvider | None = None) -> int:
    """Create the payouts of every statement due by today (local date) and make the pending
    transfers. Returns how many payouts this run created."""
    today = timezone.localdate(now or timezone.now())
    due = (
        Statement.objects.filter(
            due_date__lte=today, amount_payable_fen__gt=0, currency=CNY, organisation__kind__in=PAID_PARTIES, payout__isnull=True
        )
        .select_related("organisation")
        .order_by("organisation_id", "period_start")
    )
    created = 0
    for statement in due:
        payout_create(statement=statement)
        created += 1
    for payout_id in Payout.objects.filter(status=PayoutStatus.PENDING).order_by("pk").values_list("pk", flat=True):
        payout_submit(payout_id=payout_id, provider=provider)
    return created


CSV_COLUMNS = (
    "payout",
    "organisation_code",
    "organisation_name",
    "account_holder",
    "bank",
    "account_number",
    "amount_fen",
    "amount_cny",
    "currency",
    "period_start",
    "period_end",
    "due_date",
    "reference",
)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def payouts_bank_export(*, include_exported: bool = False, now: datetime | None = None) -> str:
    """The payouts awaiting a bank transfer as CSV (one row each), marked exported."""
    statuses = [PayoutStatus.AWAITING_EXPORT] + ([PayoutStatus.EXPORTED] if include_exported else [])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    with transaction.atomic():
        payouts = list(
            Payout.objects.select_for_update(of=("self",))
            .filter(method=PayoutMethod.BANK_TRANSFER, status__in=statuses)
            .select_related("organisation", "statement")
            .order_by("pk")
        )
        accounts = {
            a.organisation_id: a for a in PayoutAccount.objects.filter(organisation__in=[p.organisation for p in payouts])
        }
        for payout in payouts:
            account = accounts.get(payout.organisation_id)
            writer.writerow(
                [
                    str(payout.public_id),
                    payout.organisation.code,
                    payout.organisation.name,
                    account.bank_account_name if account else "",
                    account.bank_name if account else "",
                    account.bank_account_number if account else "",
                    payout.amount_fen,
                    _yuan(payout.amount_fen),
                    payout.currency,
                    payout.statement.period_start.isoformat(),
                    payout.statement.period_end.isoformat(),
                    payout.statement.due_date.isoformat(),
                    f"payout:{payout.public_id}",
                ]
            )
        Payout.objects.filter(pk__in=[p.pk for p in payouts], status=PayoutStatus.AWAITING_EXPORT).update(
            status=PayoutStatus.EXPORTED, exported_at=now or timezone.now()
        )
    return out.getvalue()
