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

The hot path (bench/ledger_clearing.py) writes with plain SQL, and sends the statements of each
step as one batch (``batch_run``): the reads and locks of step 1 and 2 together, then all the
writes of step 3 together. The statements are the same on both databases; on PostgreSQL a batch
travels in one round trip (one multi-statement query), on SQLite they run one after another.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar, cast
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.adapt import Transformer
from psycopg.errors import InvalidSqlStatementName

from apps.accounts.models import Organisation, OrganisationKind
from apps.common.errors import ApplicationError
from apps.ledger import errors
from apps.ledger.models import CNY, FLOORED_PURPOSES, Account, AccountPurpose, Entry, JournalTransaction, MovementType

T = TypeVar("T")
MAX_EXTERNAL_ID = 255
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a batch; ``rows``: whether it returns rows to read."""

    sql: str
    params: Sequence[Any]
    rows: bool = False


def batch_run(statements: Sequence[Statement]) -> list[Rows | None]:
    """Run the statements in order, each seeing the effects of the ones before, and return each
    one's rows (None for a statement that returns none). On PostgreSQL they travel as one
    multi-statement query in the simple protocol, which runs them in order and stops at the first
    error: one round trip (and a statement this connection runs often is prepared: see
    ``SessionStatements``). SQLite runs them one after another. The first error stops the batch
    and is raised as ``cursor.execute`` raises it (Django's exceptions)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            results: list[Rows | None] = []
            for statement in statements:
                cursor.execute(statement.sql, list(statement.params))
                results.append(cursor.fetchall() if statement.rows else None)
            return results
        session = SessionStatements.of(connection.connection)
        query, answers, prepared = session.query(statements)
        try:
            cursor.execute(query)
        except DatabaseError as error:
            session.failed(error, prepared)
            raise
        session.succeeded(prepared)
        results = []
        for index, answer in enumerate(answers):
            if index:
                cursor.nextset()
            if answer is not None:  # None: a PREPARE or DEALLOCATE
                results.append(cursor.fetchall() if answer.rows else None)
        return results


PreparedKey = tuple[str, tuple[str, ...]]


def _parameter_type(value: object) -> str | None:
    """The PostgreSQL type a prepared batch statement declares for this parameter; None for
    any other value (a NULL among them), whose statement then runs unprepared."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, str):  # choices too
        return "text"
    if isinstance(value, datetime):
        return "timestamptz"
    return None


@dataclass
class SessionStatements:
    """The batch statements prepared in one PostgreSQL session.

    A statement (its SQL and its parameters' types) that this connection has run
    ``PREPARE_AFTER`` times is prepared in the batch that runs it next (``PREPARE`` before its
    ``EXECUTE``, in the same round trip) and executed by name from then on: PostgreSQL then skips
    parsing and, after five runs, planning (a generic plan), which were a third of a clearing's
    database time. A connection that lives for one request never reaches the threshold.

    A generic plan is made for the tables as they are at its sixth run: on a young database a
    sequential scan of a small table, kept while the table grows (PostgreSQL plans again only
    after an ANALYZE). So each statement is prepared anew whenever its runs on the connection
    have doubled, and its plan follows the tables' growth.

    Names are never reused (a ``PREPARE`` or ``DEALLOCATE`` outlives a rollback, so a failed
    batch's statements may exist or not): a failed batch's statements are not prepared again in
    this session, and a session whose statements were discarded under it (``DISCARD ALL``)
    prepares afresh. Prepared statements live in the database session: behind a pooler that
    hands one session's statements to another (PgBouncer in transaction mode), turn them off
    with ``SWAPNET_DB_PREPARED_BATCHES=0``."""

    PREPARE_AFTER: ClassVar[int] = 5  # psycopg's own threshold for its prepared statements
    PREPARED_MAX: ClassVar[int] = 200  # beyond, further statements run unprepared

    prepared: dict[PreparedKey, bytes] = field(default_factory=dict)
    prepare_again_at: dict[PreparedKey, int] = field(default_factory=dict)
    runs: Counter[PreparedKey] = field(default_factory=Counter)
    never: set[PreparedKey] = field(default_factory=set)
    serial: int = 0

    _of_connection: ClassVar[WeakKeyDictionary[Any, SessionStatements]] = WeakKeyDictionary()

    @classmethod
    def of(cls, raw_connection: Any) -> SessionStatements:
        session = cls._of_connection.get(raw_connection)
        if session is None:
            session = cls._of_connection[raw_connection] = cls()
        return session

    def query(self, statements: Sequence[Statement]) -> tuple[str, list[Statement | None], dict[PreparedKey, bytes]]:
        """The batch's query text, what answers each of its statements (None: a ``PREPARE`` or
        ``DEALLOCATE``), and the statements it prepares, by name."""
        # Parameters are bound here, by psycopg's own quoting (what client-side binding does),
        # not by ``cursor.execute``: psycopg parses a query for its placeholders on every call once
        # it is over 4 kB or 50 parameters, which a write batch is, and that cost ~0.15 ms.
        literal = Transformer.from_context(connection.connection).as_literal
        chunks: list[bytes] = []
        answers: list[Statement | None] = []
        preparing: dict[PreparedKey, bytes] = {}
        enabled = settings.SWAPNET_DB_PREPARED_BATCHES
        for statement in statements:
            first, *rest = _split_at_placeholders(statement.sql)
            if len(rest) != len(statement.params):
                raise ValueError(f"{len(statement.params)} parameters for {len(rest)} placeholders: {statement.sql}")
            values = [b"NULL" if value is None else literal(value) for value in statement.params]
            key = self._key(statement) if enabled else None
            name = None
            if key is not None:
                self.runs[key] += 1
                name = preparing.get(key) or self.prepared.get(key)
                if key not in preparing and self._due(key):
                    if name is not None:
                        chunks.append(b"DEALLOCATE " + name)
                        answers.append(None)
                    name = preparing[key] = self._new_name()
                    types = ", ".join(key[1]).encode()
                    body = first + b"".join(b"$%d%s" % (number, piece) for number, piece in enumerate(rest, start=1))
                    chunks.append(b"PREPARE " + name + (b" (" + types + b")" if types else b"") + b" AS " + body)
                    answers.append(None)
            if name is not None:
                chunks.append(b"EXECUTE " + name + (b"(" + b", ".join(values) + b")" if values else b""))
            else:
                chunks.append(first + b"".join(value + piece for value, piece in zip(values, rest, strict=True)))
            answers.append(statement)
        return b"; ".join(chunks).decode(), answers, preparing

    def succeeded(self, preparing: Mapping[PreparedKey, bytes]) -> None:
        for key, name in preparing.items():
            self.prepared[key] = name
            self.prepare_again_at[key] = 2 * self.runs[key]

    def failed(self, error: DatabaseError, preparing: Mapping[PreparedKey, bytes]) -> None:
        """After a failed batch: whether its ``PREPARE``s and ``DEALLOCATE``s ran is not known, so
        their statements run unprepared from now on (should one be the cause, it cannot fail twice)."""
        for key in preparing:
            self.never.add(key)
            self.prepared.pop(key, None)
        if isinstance(error.__cause__, InvalidSqlStatementName):  # the session's statements are gone
            self.prepared.clear()

    def _key(self, statement: Statement) -> PreparedKey | None:
        types = tuple(_parameter_type(value) for value in statement.params)
        return None if None in types else (statement.sql, cast(tuple[str, ...], types))

    def _due(self, key: PreparedKey) -> bool:
        """Whether the statement is to be prepared (again) in this batch."""
        if key in self.never:
            return False
        if key in self.prepared:
            return self.runs[key] >= self.prepare_again_at[key]
        return self.runs[key] > self.PREPARE_AFTER and len(self.prepared) < self.PREPARED_MAX

    def _new_name(self) -> bytes:
        self.serial += 1
        return b"swapnet_batch_%d" % self.serial


@functools.lru_cache(maxsize=1024)
def _split_at_placeholders(sql: str) -> tuple[bytes, ...]:
    """The SQL around its ``%s`` placeholders (the only placeholders a batch uses)."""
    pieces = sql.split("%s")
    if any("%" in piece for piece in pieces):
        raise ValueError(f"A batched statement has only %s placeholders: {sql}")
    return tuple(piece.encode() for piece in pieces)


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


def taken_ids_statement(*external_ids: str) -> Statement:
    """The read of ``taken_ids``, for a batch: rows of (external id, request fingerprint)."""
    return Statement(
        f"SELECT external_id, request_hash FROM {JournalTransaction._meta.db_table}"  # noqa: S608 - no user input
        f" WHERE external_id IN ({', '.join(['%s'] * len(external_ids))})",
        list(external_ids),
        rows=True,
    )


def taken_ids(*external_ids: str) -> dict[str, str]:
    """Which of these ids are already posted, with their request fingerprints (one indexed read)."""
    [rows] = batch_run([taken_ids_statement(*external_ids)])
    return dict(rows or [])


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


def _lock_statement(where: str, params: Sequence[Any]) -> Statement:
    """Accounts matching ``where``, locked in the lock order. Plain SQL: this runs in every
    posting, and the ORM's query building costs more than the query (bench/ledger_clearing.py)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: the IMMEDIATE transaction
    return Statement(
        f"SELECT {', '.join(_LOCKED_COLUMNS)} FROM {Account._meta.db_table}"  # noqa: S608 - no user input
        f" WHERE {where} ORDER BY {_LOCK_ORDER}{lock}",
        list(params),
        rows=True,
    )


def _accounts(rows: Rows | None) -> dict[int, Account]:
    return {row[0]: Account.from_db(connection.alias, _LOCKED_COLUMNS, row) for row in rows or []}


def _select_for_update(where: str, params: Sequence[Any]) -> dict[int, Account]:
    return _accounts(batch_run([_lock_statement(where, params)])[0])


def lock_accounts(accounts: Iterable[Account]) -> dict[int, Account]:
    """Lock the accounts' rows, in the lock order, and return them fresh from the database."""
    ids = sorted({account.pk for account in accounts})
    if not ids:
        return {}
    locked = _select_for_update(f"id IN ({', '.join(['%s'] * len(ids))})", ids)
    if len(locked) != len(ids):
        raise errors.posting_invalid("An account of this posting does not exist.")
    return locked


@dataclass(frozen=True)
class AccountLock:
    """Locking (opening where missing) each organisation's account for each purpose, in two
    halves so that the lock can travel in a batch: ``statement`` (None: nothing to lock), then
    ``result`` with its rows."""

    wanted: Mapping[int, frozenset[str]]
    currency: str = CNY

    @classmethod
    def of(cls, wanted: Iterable[tuple[Organisation, str]], *, currency: str = CNY) -> AccountLock:
        by_organisation: dict[int, set[str]] = defaultdict(set)
        for organisation, purpose in wanted:
            by_organisation[organisation.pk].add(purpose)
        return cls({pk: frozenset(purposes) for pk, purposes in by_organisation.items()}, currency)

    @property
    def statement(self) -> Statement | None:
        if not self.wanted:
            return None
        clauses: list[str] = []
        params: list[Any] = [self.currency]
        for organisation_id, purposes in sorted(self.wanted.items()):
            clauses.append(f"(organisation_id = %s AND purpose IN ({', '.join(['%s'] * len(purposes))}))")
            params += [organisation_id, *sorted(purposes)]
        return _lock_statement(f"currency = %s AND ({' OR '.join(clauses)})", params)

    def result(self, rows: Rows | None) -> tuple[dict[tuple[int, str], Account], dict[int, Account]]:
        """The accounts by (organisation id, purpose) and by id. Missing accounts are created,
        then locked: nobody else can hold a row this transaction has just inserted."""
        locked = _accounts(rows)
        by_key = {(account.organisation_id, account.purpose): account for account in locked.values()}
        missing = sorted(
            (organisation_id, purpose)
            for organisation_id, purposes in self.wanted.items()
            for purpose in purposes
            if (organisation_id, purpose) not in by_key
        )
        if missing:
            created = [
                Account.objects.get_or_create(
                    organisation_id=organisation_id,
                    purpose=purpose,
                    currency=self.currency,
                    defaults=_new_account_defaults(purpose),
                )[0]
                for organisation_id, purpose in missing
            ]
            for account in lock_accounts(created).values():
                locked[account.pk] = account
                by_key[(account.organisation_id, account.purpose)] = account
        return by_key, locked


def lock_accounts_for(
    wanted: Iterable[tuple[Organisation, str]], *, currency: str = CNY
) -> tuple[dict[tuple[int, str], Account], dict[int, Account]]:
    """Lock (opening where missing) each organisation's account for each purpose. Returns them by
    (organisation id, purpose) and by id."""
    lock = AccountLock.of(wanted, currency=currency)
    statement = lock.statement
    return lock.result(batch_run([statement])[0] if statement else None)


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


def _chunks(rows: list[tuple[Any, ...]]) -> Iterable[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _insert_statements(
    table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]], stamp: Any, returning: str = ""
) -> list[Statement]:
    """Inserts of rows stamped ``created_at = updated_at = stamp``. ``columns`` are (name,
    placeholder) pairs; the time is a single parameter, not one per row (quoting parameters is
    most of the client's work for a large batch)."""
    names = ", ".join(name for name, _placeholder in columns)
    placeholders = "(" + ", ".join(placeholder for _name, placeholder in columns) + ")"
    return [
        Statement(
            f"INSERT INTO {table} (created_at, updated_at, {names}) SELECT %s, %s, v.*"  # noqa: S608 - no user input
            f" FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v" + (f" RETURNING {returning}" if returning else ""),
            [stamp, stamp, *(value for row in chunk for value in row)],
            rows=bool(returning),
        )
        for chunk in _chunks(rows)
    ]


def _entry_statements(rows: list[tuple[Any, ...]], stamp: Any) -> list[Statement]:
    """Inserts of entries given as (external id of their transaction, account id, amount, movement
    type): the transactions' ids are found by their external ids, so that the entries travel in
    the same batch as the transactions. Ordered as given."""
    statements = []
    for chunk in _chunks(rows):
        statements.append(
            Statement(
                f"INSERT INTO {Entry._meta.db_table}"  # noqa: S608 - no user input
                " (created_at, updated_at, journal_transaction_id, account_id, amount_fen, movement_type)"
                " SELECT %s, %s, t.id, v.column2, v.column3, v.column4"
                f" FROM (VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))}) AS v"
                f" JOIN {JournalTransaction._meta.db_table} AS t ON t.external_id = v.column1"
                " ORDER BY v.column5",
                [stamp, stamp, *(value for index, row in enumerate(chunk) for value in (*row, index))],
            )
        )
    return statements


def transaction_id_sql(placeholder: str = "%s") -> str:
    """A subquery for the id of the journal transaction with this external id: for rows written
    in the same batch as the transaction (whose id is not known yet)."""
    return f"(SELECT id FROM {JournalTransaction._meta.db_table} WHERE external_id = {placeholder})"  # noqa: S608


def write(postings: Sequence[Posting], locked: Mapping[int, Account]) -> list[JournalTransaction]:
    """Apply the postings, in order, to the locked accounts and insert them. Callers are inside
    ``transaction.atomic`` and have locked every account the legs touch."""
    return write_with(postings, locked)[0]


def write_with(
    postings: Sequence[Posting], locked: Mapping[int, Account], then: Sequence[Statement] = ()
) -> tuple[list[JournalTransaction], list[Rows | None]]:
    """``write``, with further statements run after it in the same batch (rows that refer to the
    new transactions through ``transaction_id_sql``); returns the transactions and the results of
    ``then``."""
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
        return [], batch_run(then) if then else []
    stamp = connection.ops.adapt_datetimefield_value(now)
    transaction_rows = [
        (p.external_id, p.movement_type, p.request_hash, p.reverses and p.reverses.pk, p.reference, p.memo) for p in postings
    ]
    statements = _insert_statements(
        JournalTransaction._meta.db_table, TRANSACTION_COLUMNS, transaction_rows, stamp, "id, external_id"
    )
    inserts = len(statements)
    entry_rows = [
        (p.external_id, leg.account.pk, leg.amount_fen, leg.movement_type or p.movement_type)
        for p in postings
        # A canonical order: the same posting always gives the same rows.
        for leg in sorted(p.legs, key=lambda leg: (leg.account.pk, leg.amount_fen))
    ]
    statements += _entry_statements(entry_rows, stamp)
    accounts = [changed[pk] for pk in sorted(changed)]
    for chunk in _chunks([(account.pk, account.balance_fen) for account in accounts]):
        statements.append(
            Statement(
                f"UPDATE {Account._meta.db_table} SET updated_at = %s, balance_fen = CASE id"  # noqa: S608 - no user input
                + " WHEN %s THEN %s" * len(chunk)
                + f" END WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [stamp, *(value for row in chunk for value in row), *(pk for pk, _balance in chunk)],
            )
        )
    results = batch_run([*statements, *then])
    ids = {external_id: pk for rows in results[:inserts] for pk, external_id in rows or []}
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
    return transactions, results[len(statements) :]


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
