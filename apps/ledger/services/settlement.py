"""Settlement: each party's account periods closed into statements.

A party's period and payment terms come from its contract in force at the period's start
(operators and owners); parties without a contract (carriers, individuals, the platform) get a
monthly statement with nothing payable on terms (T+0). Periods are local (Asia/Shanghai) dates,
half-open [start, end); weeks run Monday to Sunday. A statement holds

- the opening balance of all the party's accounts at the period's start,
- one line per journal transaction and movement type posted in the period, with the party's
  net amount (a hold, which only moves money between a payer's own accounts, nets to zero and
  is left out), traced to the transaction and its external id,
- the closing balance (opening + lines, which is the balance at the period's end),
- the amount the network pays the party: its receivable balance at the period's end,
- the due date: the period's last day + N days (T+N).

A period is closed only once it ended ``SETTLEMENT_GRACE`` ago, so that a transaction still
committing at midnight lands in it first. Closing is idempotent per (party, currency, period).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Organisation
from apps.common.errors import Conflict
from apps.ledger.models import CNY, Account, AccountPeriod, AccountPurpose, Entry, Statement, StatementLine
from apps.ledger.selectors import balance_at, contract_in_force, local_midnight

SETTLEMENT_GRACE = timedelta(minutes=15)
DEFAULT_ACCOUNT_PERIOD = AccountPeriod.MONTHLY
DEFAULT_PAYMENT_TERMS_DAYS = 0


def period_containing(kind: str, day: date) -> tuple[date, date]:
    """The natural period of ``kind`` that holds ``day``: [start, end)."""
    if kind == AccountPeriod.DAILY:
        return day, day + timedelta(days=1)
    if kind == AccountPeriod.WEEKLY:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    return start, start + timedelta(days=calendar.monthrange(day.year, day.month)[1])


def period_from(*, organisation: Organisation, start: date) -> tuple[str, date, int]:
    """The account period that begins at ``start`` under the contract then in force: its kind,
    its end, and the payment terms. After a change of period kind the first period may be short:
    it ends where the natural period holding ``start`` ends."""
    contract = contract_in_force(organisation=organisation, at=start)
    kind = contract.account_period if contract else DEFAULT_ACCOUNT_PERIOD
    terms = contract.payment_terms_days if contract else DEFAULT_PAYMENT_TERMS_DAYS
    return kind, period_containing(kind, start)[1], terms


def _is_closed(end: date, now: datetime) -> bool:
    return local_midnight(end) + SETTLEMENT_GRACE <= now


def statement_close(
    *, organisation: Organisation, period_start: date, currency: str = CNY, now: datetime | None = None
) -> Statement:
    """Close the party's account period that begins on ``period_start`` (idempotent)."""
    existing = Statement.objects.filter(organisation=organisation, currency=currency, period_start=period_start).first()
    if existing is not None:
        return existing
    kind, period_end, terms = period_from(organisation=organisation, start=period_start)
    if not _is_closed(period_end, now or timezone.now()):
        raise Conflict("period_open", _("The account period has not ended yet."))
    start_at, end_at = local_midnight(period_start), local_midnight(period_end)
    accounts = list(Account.objects.filter(organisation=organisation, currency=currency).values_list("pk", "purpose"))
    account_ids = [pk for pk, _purpose in accounts]
    receivable_ids = [pk for pk, purpose in accounts if purpose == AccountPurpose.RECEIVABLE]
    opening = balance_at(account_ids=account_ids, at=start_at)
    rows = (
        Entry.objects.filter(
            account_id__in=account_ids,
            journal_transaction__created_at__gte=start_at,
            journal_transaction__created_at__lt=end_at,
        )
        .values("journal_transaction_id", "movement_type")
        .annotate(amount=Sum("amount_fen"), posted_at=Min("journal_transaction__created_at"))
        .order_by("posted_at", "journal_transaction_id", "movement_type")
    )
    lines = [row for row in rows if row["amount"] != 0]
    closing = opening + sum(int(row["amount"]) for row in lines)
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                organisation=organisation,
                currency=currency,
                account_period=kind,
                period_start=period_start,
                period_end=period_end,
                opening_balance_fen=opening,
                closing_balance_fen=closing,
                amount_payable_fen=max(balance_at(account_ids=receivable_ids, at=end_at), 0),
                due_date=period_end - timedelta(days=1) + timedelta(days=terms),
            )
            StatementLine.objects.bulk_create(
                StatementLine(
                    statement=statement,
                    journal_transaction_id=row["journal_transaction_id"],
                    movement_type=row["movement_type"],
                    amount_fen=int(row["amount"]),
                    posted_at=row["posted_at"],
                )
                for row in lines
            )
            return statement
    except IntegrityError:
        # Closed by a concurrent run meanwhile: the same statement.
        return Statement.objects.get(organisation=organisation, currency=currency, period_start=period_start)


def statements_close_due(*, now: datetime | None = None) -> int:
    """Close every ended period of every party with ledger accounts that has no statement yet,
    from the party's first account (or its last statement) on. Returns how many were closed."""
    moment = now or timezone.now()
    parties = Account.objects.values("organisation_id", "currency").annotate(opened=Min("created_at")).order_by("organisation_id")
    organisations = Organisation.objects.in_bulk([row["organisation_id"] for row in parties])
    closed = 0
    for row in parties:
        organisation, currency = organisations[row["organisation_id"]], row["currency"]
        last = Statement.objects.filter(organisation=organisation, currency=currency).order_by("-period_end").first()
        if last is not None:
            start = last.period_end
        else:
            first_day = timezone.localdate(row["opened"])
            kind, _end, _terms = period_from(organisation=organisation, start=first_day)
            start = period_containing(kind, first_day)[0]
        while True:
            _kind, end, _terms = period_from(organisation=organisation, start=start)
            if not _is_closed(end, moment):
                break
            statement_close(organisation=organisation, period_start=start, currency=currency, now=moment)
            closed += 1
            start = end
    return closed
