"""Posting: the one place where entries are written and balances change.

Every write follows the same steps inside one database transaction:

1. replay: a journal transaction with the same external id and the same request fingerprint is
   returned as it is; the same id with other content is ``transfer_id_conflict``;
2. lock the accounts it touches with ``select_for_update``, in one fixed order (the payer's
   own accounts, then the others, each by ascending id: ``_LOCK_ORDER``), so two postings never
   wait for each other in a cycle;
3. compute each new balance under the lock, refuse one below its floor (``insufficient_funds``),
   insert the journal transactions and their entries, and write the new balances.

A concurrent request with the same id loses the race on the unique index (IntegrityError):
``once`` then runs the operation again, which finds the winner's row and replays or refuses.
On SQLite ``select_for_update`` does nothing, but every atomic block begins IMMEDIATE (the
settings), which serialises writers on the whole file.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.models import Organisation, OrganisationKind
from apps.common.errors import ApplicationError
from apps.ledger import errors
from apps.ledger.models import CNY, FLOORED_PURPOSES, Account, AccountPurpose, Entry, JournalTransaction, MovementType

T = TypeVar("T")
MAX_EXTERNAL_ID = 255


@dataclass(frozen=True)
class Leg:
    """One side of a posting: ``amount_fen`` added to (positive) or taken from (negative) the
    account. ``movement_type`` is how the account's owner sees it (default: the transaction's)."""

    account: Account
    amount_fen: int
    movement_type: str | None = None


@dataclass(frozen=True)
class Transfer:
    """A journal transaction to post."""

    external_id: str
    movement_type: str
    legs: Sequence[Leg]
    reference: str = ""
    memo: str = ""


@dataclass(frozen=True)
class Posting:
    """A validated transfer with its fingerprint, ready for ``write``."""

    external_id: str
    movement_type: str
    legs: Sequence[Leg]
    request_hash: str
    reference: str = ""
    memo: str = ""
    reverses: JournalTransaction | None = None


# --- Checks -----------------------------------------------------------------------------
def require_fen(amount: object, *, what: str = "amount_fen", positive: bool = False) -> int:
    """Money is integer fen: a float, a Decimal or a bool is a programming error."""
    if type(amount) is not int:
        raise errors.posting_invalid(f"{what} must be an integer number of fen, got {type(amount).__name__}.")
    if amount < 0 or (positive and amount == 0):
        raise errors.posting_invalid(f"{what} must be {'positive' if positive else 'zero or more'}, got {amount}.")
    return amount


def require_external_id(external_id: object) -> str:
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > MAX_EXTERNAL_ID:
        raise errors.posting_invalid(f"An external id is a non-empty string of at most {MAX_EXTERNAL_ID} characters.")
    return external_id


def require_movement_type(movement_type: object) -> str:
    if movement_type not in MovementType.values:
        raise errors.posting_invalid(f"Unknown movement type {movement_type!r}.")
    return str(movement_type)


def validate_legs(legs: Sequence[Leg]) -> None:
    """Two or more non-zero integer legs summing to zero per currency. On SQLite this is the only
    balance check (it has no deferred triggers); on PostgreSQL the database checks again at commit."""
    if len(legs) < 2:
        raise errors.posting_invalid("A journal transaction has at least two entries.")
    sums: dict[str, int] = defaultdict(int)
    for leg in legs:
        if type(leg.amount_fen) is not int or leg.amount_fen == 0:
            raise errors.posting_invalid(f"An entry is a non-zero integer number of fen, got {leg.amount_fen!r}.")
        if leg.account.pk is None:
            raise errors.posting_invalid("An entry's account must be saved first.")
        if leg.movement_type is not None:
            require_movement_type(leg.movement_type)
        sums[leg.account.currency] += leg.amount_fen
    unbalanced = {currency: total for currency, total in sums.items() if total != 0}
    if unbalanced:
        raise errors.posting_invalid(f"The entries do not sum to zero: {unbalanced}.")


def request_digest(operation: str, **content: Any) -> str:
    """A fingerprint of a request: what a replay must repeat exactly to be the same request."""
    canonical = json.dumps({"operation": operation, **content}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def transfer_digest(transfer: Transfer) -> str:
    require_external_id(transfer.external_id)
    movement_type = require_movement_type(transfer.movement_type)
    validate_legs(transfer.legs)
    legs = sorted((leg.account.pk, leg.amount_fen, leg.movement_type or movement_type) for leg in transfer.legs)
    return request_digest("journal_post", movement_type=movement_type, legs=legs)


# --- Idempotency ------------------------------------------------------------------------
def once(operation: Callable[[], T]) -> T:
    """Run ``operation`` atomically. If a concurrent writer took one of its unique ids first (the
    insert fails on the unique index), run it once more: it then finds the winner's row and
    replays it or refuses with a conflict. Nothing of a failed attempt remains."""
    try:
        with transaction.atomic():
            return operation()
    except IntegrityError:
        with transaction.atomic():
            return operation()


def replayed(external_id: str, request_hash: str) -> JournalTransaction | None:
    """The journal transaction already posted under this id for this request, if any."""
    existing = JournalTransaction.objects.filter(external_id=external_id).first()
    if existing is not None and existing.request_hash != request_hash:
        raise errors.transfer_id_conflict(external_id)
    return existing


def taken_ids(*external_ids: str) -> dict[str, str]:
    """Which of these ids are already posted, with their request fingerprints (one indexed read)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT external_id, request_hash FROM {JournalTransaction._meta.db_table}"  # noqa: S608 - no user input
            f" WHERE external_id IN ({', '.join(['%s'] * len(external_ids))})",
            list(external_ids),
        )
        return dict(cursor.fetchall())


def refuse_taken(*external_ids: str) -> None:
    """Refuse ids that another request already used (a replay has been ruled out before)."""
    taken = taken_ids(*external_ids)
    if taken:
        raise errors.transfer_id_conflict(min(taken))


# --- Accounts ---------------------------------------------------------------------------
def _new_account_defaults(purpose: str) -> dict[str, Any]:
    return {"floor_fen": 0 if purpose in FLOORED_PURPOSES else None}


def account_get(*, organisation: Organisation, purpose: str, currency: str = CNY) -> Account:
    """The organisation's account for ``purpose``, opened on first use (wallets with a floor of 0)."""
    account, _created = Account.objects.get_or_create(
        organisation=organisation, purpose=purpose, currency=currency, defaults=_new_account_defaults(purpose)
    )
    return account


def platform_organisation() -> Organisation:
    """The network's platform operator (the first one, should there ever be several)."""
    platform = Organisation.objects.filter(kind=OrganisationKind.PLATFORM).order_by("pk").first()
    if platform is None:
        raise ApplicationError("platform_missing", "No platform organisation is set up.", status_code=503)
    return platform


# The columns a posting reads; the rest of a locked account is deferred.
_LOCKED_COLUMNS = ("id", "organisation_id", "purpose", "currency", "balance_fen", "floor_fen")


# The lock order (STYLE.md rule 5: the wallet first): a payer's own accounts, then every other
# account, each group by ascending id. apps.swaps locks the payer's wallet and held accounts
# before its order row and then clears through this module: both must agree, or a clearing
# holding a wallet and a refund holding the platform's commission account could wait on each other.
PAYER_PURPOSES = (AccountPurpose.WALLET, AccountPurpose.HELD, AccountPurpose.PAYABLE, AccountPurpose.ENERGY_DEPOSIT)
_LOCK_ORDER = f"CASE WHEN purpose IN ({', '.join(repr(str(p)) for p in PAYER_PURPOSES)}) THEN 0 ELSE 1 END, id"


def _select_for_update(where: str, params: Sequence[Any]) -> dict[int, Account]:
    """Accounts matching ``where``, locked in the lock order. Plain SQL: this runs in every
    posting, and the ORM's query building costs more than the query (bench/ledger_clearing.py)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: the IMMEDIATE transaction
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(_LOCKED_COLUMNS)} FROM {Account._meta.db_table}"  # noqa: S608 - no user input
            f" WHERE {where} ORDER BY {_LOCK_ORDER}{lock}",
            list(params),
        )
        rows = cursor.fetchall()
    return {row[0]: Account.from_db(connection.alias, _LOCKED_COLUMNS, row) for row in rows}


def lock_accounts(accounts: Iterable[Account]) -> dict[int, Account]:
    """Lock the accounts' rows, in the lock order, and return them fresh from the database."""
    ids = sorted({account.pk for account in accounts})
    if not ids:
        return {}
    locked = _select_for_update(f"id IN ({', '.join(['%s'] * len(ids))})", ids)
    if len(locked) != len(ids):
        raise errors.posting_invalid("An account of this posting does not exist.")
    return locked


def lock_accounts_for(
    wanted: Iterable[tuple[Organisation, str]], *, currency: str = CNY
) -> tuple[dict[tuple[int, str], Account], dict[int, Account]]:
    """Lock (opening where missing) each organisation's account for each purpose. Returns them by
    (organisation id, purpose) and by id. Missing accounts are created, then locked: nobody else
    can hold a row this transaction has just inserted."""
    by_organisation: dict[int, set[str]] = defaultdict(set)
    for organisation, purpose in wanted:
        by_organisation[organisation.pk].add(purpose)
    if not by_organisation:
        return {}, {}
    clauses: list[str] = []
    params: list[Any] = [currency]
    for organisation_id, purposes in sorted(by_organisation.items()):
        clauses.append(f"(organisation_id = %s AND purpose IN ({', '.join(['%s'] * len(purposes))}))")
        params += [organisation_id, *sorted(purposes)]
    locked = _select_for_update(f"currency = %s AND ({' OR '.join(clauses)})", params)
    by_key = {(account.organisation_id, account.purpose): account for account in locked.values()}
    missing = sorted(
        (organisation_id, purpose)
        for organisation_id, purposes in by_organisation.items()
        for purpose in purposes
        if (organisation_id, purpose) not in by_key
    )
    if missing:
        created = [
            Account.objects.get_or_create(
                organisation_id=organisation_id, purpose=purpose, currency=currency, defaults=_new_account_defaults(purpose)
            )[0]
            for organisation_id, purpose in missing
        ]
        for account in lock_accounts(created).values():
            locked[account.pk] = account
            by_key[(account.organisation_id, account.purpose)] = account
    return by_key, locked


# --- Writing ----------------------------------------------------------------------------
# The hot path of every order (bench/ledger_clearing.py) writes its rows with plain SQL, a
# statement per table, instead of bulk_create/bulk_update, whose query building costs several
# times the database's own work here. The statements are the same on PostgreSQL and SQLite.
ROWS_PER_STATEMENT = 500
# A column that may be NULL in every row is cast: PostgreSQL would take such a VALUES column for text.
TRANSACTION_COLUMNS = (
    ("external_id", "%s"),
    ("movement_type", "%s"),
    ("request_hash", "%s"),
    ("reverses_id", "CAST(%s AS bigint)"),
    ("reference", "%s"),
    ("memo", "%s"),
)
ENTRY_COLUMNS = (("journal_transaction_id", "%s"), ("account_id", "%s"), ("amount_fen", "%s"), ("movement_type", "%s"))


def _chunks(rows: list[tuple[Any, ...]]) -> Iterable[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _insert(
    cursor: Any, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]], stamp: Any, returning: str = ""
) -> list[Any]:
    """Insert rows stamped ``created_at = updated_at = stamp``. ``columns`` are (name, placeholder)
    pairs; the time is a single parameter, not one per row (quoting parameters is most of the
    client's work for a large batch)."""
    returned: list[Any] = []
    names = ", ".join(name for name, _placeholder in columns)
    placeholders = "(" + ", ".join(placeholder for _name, placeholder in columns) + ")"
    for chunk in _chunks(rows):
        cursor.execute(
            f"INSERT INTO {table} (created_at, updated_at, {names}) SELECT %s, %s, v.*"  # noqa: S608 - no user input
            f" FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v" + (f" RETURNING {returning}" if returning else ""),
            [stamp, stamp, *(value for row in chunk for value in row)],
        )
        if returning:
            returned.extend(cursor.fetchall())
    return returned


def write(postings: Sequence[Posting], locked: Mapping[int, Account]) -> list[JournalTransaction]:
    """Apply the postings, in order, to the locked accounts and insert them. Callers are inside
    ``transaction.atomic`` and have locked every account the legs touch."""
    now = timezone.now()
    changed: dict[int, Account] = {}
    for posting in postings:
        deltas: dict[int, int] = defaultdict(int)
        for leg in posting.legs:
            deltas[leg.account.pk] += leg.amount_fen
        for account_id in sorted(deltas):
            delta = deltas[account_id]
            if delta == 0:
                continue
            account = locked[account_id]
            balance = account.balance_fen + delta
            # Only a debit can break a floor; a credit to an account below it (a lowered credit
            # line) is always welcome.
            if delta < 0 and account.floor_fen is not None and balance < account.floor_fen:
                raise errors.insufficient_funds()
            account.balance_fen = balance
            account.updated_at = now
            changed[account_id] = account
    if not postings:
        return []
    stamp = connection.ops.adapt_datetimefield_value(now)
    transaction_rows = [
        (p.external_id, p.movement_type, p.request_hash, p.reverses and p.reverses.pk, p.reference, p.memo) for p in postings
    ]
    with connection.cursor() as cursor:
        returned = _insert(
            cursor, JournalTransaction._meta.db_table, TRANSACTION_COLUMNS, transaction_rows, stamp, "id, external_id"
        )
        ids = {external_id: pk for pk, external_id in returned}
        entry_rows = [
            (ids[p.external_id], leg.account.pk, leg.amount_fen, leg.movement_type or p.movement_type)
            for p in postings
            # A canonical order: the same posting always gives the same rows.
            for leg in sorted(p.legs, key=lambda leg: (leg.account.pk, leg.amount_fen))
        ]
        _insert(cursor, Entry._meta.db_table, ENTRY_COLUMNS, entry_rows, stamp)
        accounts = [changed[pk] for pk in sorted(changed)]
        for chunk in _chunks([(account.pk, account.balance_fen) for account in accounts]):
            cursor.execute(
                f"UPDATE {Account._meta.db_table} SET updated_at = %s, balance_fen = CASE id"  # noqa: S608 - no user input
                + " WHEN %s THEN %s" * len(chunk)
                + f" END WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [stamp, *(value for row in chunk for value in row), *(pk for pk, _balance in chunk)],
            )
    transactions = []
    for posting in postings:
        journal_transaction = JournalTransaction(
            pk=ids[posting.external_id],
            created_at=now,
            updated_at=now,
            external_id=posting.external_id,
            movement_type=posting.movement_type,
            request_hash=posting.request_hash,
            reverses=posting.reverses,
            reference=posting.reference,
            memo=posting.memo,
        )
        journal_transaction._state.adding = False
        journal_transaction._state.db = connection.alias
        transactions.append(journal_transaction)
    return transactions


# --- Services ---------------------------------------------------------------------------
def journal_post_many(*, transfers: Sequence[Transfer]) -> list[JournalTransaction]:
    """Post many transfers in one database transaction (one lock query, bulk inserts), in order.

    Each is idempotent on its external id, as ``journal_post``; if any is refused, none is posted.
    """
    digests = [transfer_digest(transfer) for transfer in transfers]

    def post() -> list[JournalTransaction]:
        ids = [transfer.external_id for transfer in transfers]
        existing = {txn.external_id: txn for txn in JournalTransaction.objects.filter(external_id__in=set(ids))}
        first_of: dict[str, int] = {}
        new: list[int] = []
        for index, (transfer, digest) in enumerate(zip(transfers, digests, strict=True)):
            found = existing.get(transfer.external_id)
            earlier = first_of.get(transfer.external_id)
            if found is not None and found.request_hash != digest:
                raise errors.transfer_id_conflict(transfer.external_id)
            if earlier is not None and digests[earlier] != digest:
                raise errors.transfer_id_conflict(transfer.external_id)
            if found is None and earlier is None:
                first_of[transfer.external_id] = index
                new.append(index)
        locked = lock_accounts(leg.account for index in new for leg in transfers[index].legs)
        postings = [
            Posting(
                external_id=transfers[index].external_id,
                movement_type=transfers[index].movement_type,
                legs=transfers[index].legs,
                request_hash=digests[index],
                reference=transfers[index].reference,
                memo=transfers[index].memo,
            )
            for index in new
        ]
        written = {txn.external_id: txn for txn in write(postings, locked)}
        return [existing.get(external_id) or written[external_id] for external_id in ids]

    return once(post) if transfers else []


def journal_post(
    *, external_id: str, movement_type: str, legs: Sequence[Leg], reference: str = "", memo: str = ""
) -> JournalTransaction:
    """Post one balanced journal transaction. The same external id with the same movement type
    and legs returns the first transaction; with other content it is ``transfer_id_conflict``."""
    transfer = Transfer(external_id=external_id, movement_type=movement_type, legs=legs, reference=reference, memo=memo)
    return journal_post_many(transfers=[transfer])[0]


def wallet_top_up(*, external_id: str, payer: Organisation, amount_fen: int, reference: str = "") -> JournalTransaction:
    """Money paid in through the payment provider: the platform's provider-clearing account to
    the payer's wallet."""
    require_fen(amount_fen, positive=True)
    wallet = account_get(organisation=payer, purpose=AccountPurpose.WALLET)
    clearing = account_get(organisation=platform_organisation(), purpose=AccountPurpose.PROVIDER_CLEARING)
    return journal_post(
        external_id=external_id,
        movement_type=MovementType.TOP_UP,
        legs=[Leg(clearing, -amount_fen), Leg(wallet, amount_fen)],
        reference=reference,
    )


def energy_deposit_take(*, external_id: str, payer: Organisation, amount_fen: int, reference: str = "") -> JournalTransaction:
    """The deposit for a network battery a vehicle takes without one to return: wallet to deposit."""
    require_fen(amount_fen, positive=True)
    wallet = account_get(organisation=payer, purpose=AccountPurpose.WALLET)
    deposit = account_get(organisation=payer, purpose=AccountPurpose.ENERGY_DEPOSIT)
    return journal_post(
        external_id=external_id,
        movement_type=MovementType.ENERGY_DEPOSIT,
        legs=[Leg(wallet, -amount_fen), Leg(deposit, amount_fen)],
        reference=reference,
    )


def energy_deposit_release(*, external_id: str, payer: Organisation, amount_fen: int, reference: str = "") -> JournalTransaction:
    """The deposit back to the wallet when the vehicle leaves the network and hands the battery back."""
    require_fen(amount_fen, positive=True)
    wallet = account_get(organisation=payer, purpose=AccountPurpose.WALLET)
    deposit = account_get(organisation=payer, purpose=AccountPurpose.ENERGY_DEPOSIT)
    return journal_post(
        external_id=external_id,
        movement_type=MovementType.ENERGY_DEPOSIT,
        legs=[Leg(deposit, -amount_fen), Leg(wallet, amount_fen)],
        reference=reference,
    )
