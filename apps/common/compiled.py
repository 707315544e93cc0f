"""Read queries compiled to SQL once per process, for the few reads on a hot path.

Django compiles a queryset to SQL every time it is evaluated: for a read with joins and
subqueries that is 0.5-1 ms of CPU, often more than the database takes to answer it. A
``CompiledRead`` builds its ``values_list`` queryset once per process (per database and per
length of each list argument) from stand-in values, compiles it, remembers where each stand-in
landed among the SQL parameters, and from then on runs that SQL with the real values, converting
the rows as Django's own iterator would.

Arguments may be ints, strings, lists of ints and aware datetimes: values that reach the SQL
parameters unchanged (ints, strings) or through the backend's one datetime adaptation
(``connection.ops.adapt_datetimefield_value``). Anything else (None, which Django turns into
``IS NULL``; floats; Decimals) is refused with ``TypeError``, and compiling fails when a stand-in
does not reach the parameters as it was given (a lookup that rewrites its value, such as
``contains``), so a read can never run with a value placed wrongly. Tests compare the rows of
such reads with their querysets' own, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

# Stand-in values, far from any key, count or time the product stores.
_STAND_IN_INT = -(2**53)
_STAND_IN_TIME = datetime(1901, 1, 1, tzinfo=UTC)
_STAND_IN_TEXT = "\x1fcompiled read stand-in {}\x1f"

Argument = int | str | datetime | Sequence[int]
# Where a parameter comes from: (argument name, position in its list or None, its kind).
_Slot = tuple[str, int | None, type]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]  # constants, with None where a slot goes
    slots: dict[int, _Slot]  # parameter position -> where its value comes from
    converters: list[tuple[int, tuple[list[Any], Any]]]  # column -> (its converters, its expression)


class CompiledRead:
    """``build(**arguments)`` returns a ``values_list`` queryset; calling the read with the
    same keyword arguments returns its rows as a list of tuples."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *, using: str = DEFAULT_DB_ALIAS) -> None:
        self._build = build
        self._using = using
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    def __call__(self, **arguments: Argument) -> list[tuple[Any, ...]]:
        lengths = []
        for name, argument in sorted(arguments.items()):
            if isinstance(argument, bool) or not isinstance(argument, int | str | datetime | list | tuple):
                raise TypeError(f"{name}: a compiled read takes ints, strings, lists of ints and datetimes")
            if isinstance(argument, list | tuple) and not argument:
                return list(self._build(**arguments))  # an empty IN: let Django decide what it means
            lengths.append((name, len(argument) if isinstance(argument, list | tuple) else None))
        alias = self._using
        key = (connections[alias].vendor, tuple(lengths))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(alias, arguments)
            self._compiled[key] = compiled
        params = list(compiled.params)
        for position, (name, index, kind) in compiled.slots.items():
            value: Any = arguments[name]
            if index is not None:
                value = value[index]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise TypeError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
            if kind is datetime:
                if value.tzinfo is None:
                    raise TypeError(f"{name}: expected an aware datetime")
                value = connections[alias].ops.adapt_datetimefield_value(value)
            params[position] = value
        with connections[alias].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return [tuple(row) for row in rows]
        connection = connections[alias]
        converted = []
        for row in map(list, rows):
            for column, (converters, expression) in compiled.converters:
                for converter in converters:
                    row[column] = converter(row[column], expression, connection)
            converted.append(tuple(row))
        return converted

    def _compile(self, alias: str, arguments: dict[str, Argument]) -> _Compiled:
        stand_ins: dict[str, Argument] = {}
        where: dict[Any, _Slot] = {}
        ops = connections[alias].ops
        counter = 0
        for name, value in sorted(arguments.items()):
            if isinstance(value, datetime):
                stand_in_time = _STAND_IN_TIME + timedelta(microseconds=counter)
                where[ops.adapt_datetimefield_value(stand_in_time)] = (name, None, datetime)
                stand_ins[name] = stand_in_time
            elif isinstance(value, str):
                where[_STAND_IN_TEXT.format(counter)] = (name, None, str)
                stand_ins[name] = _STAND_IN_TEXT.format(counter)
            elif isinstance(value, int):
                where[_STAND_IN_INT - counter] = (name, None, int)
                stand_ins[name] = _STAND_IN_INT - counter
            else:
                items = []
                for index in range(len(value)):
                    counter += 1
                    where[_STAND_IN_INT - counter] = (name, index, int)
                    items.append(_STAND_IN_INT - counter)
                stand_ins[name] = items
            counter += 1
        queryset = self._build(**stand_ins)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {position: where[param] for position, param in enumerate(params) if _hashable(param) and param in where}
        missing = set(where.values()) - set(slots.values())
        if missing:
            raise ValueError(f"compiled read: {sorted(missing)} did not reach the SQL parameters as given")
        fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
        return _Compiled(
            sql=sql,
            params=tuple(None if position in slots else param for position, param in enumerate(params)),
            slots=slots,
            converters=list(compiler.get_converters(fields).items()),
        )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def model_instance(model: type[M], names: Sequence[str], values: Sequence[Any]) -> M:
    """The instance Django's ``only(*names)`` would load from these values (``names`` are
    attribute names or "pk", in the order of ``values_list(*names)``): the rest deferred."""
    by_name = dict(zip((model._meta.pk.attname if name == "pk" else name for name in names), values, strict=True))
    attnames = [field.attname for field in model._meta.concrete_fields if field.attname in by_name]
    return model.from_db(None, attnames, [by_name[name] for name in attnames])


def concrete_columns(model: type[Model], prefix: str = "") -> list[str]:
    """The ``values_list`` names of every concrete field of ``model``, reached through ``prefix``
    (``"station__"``) from the queryset's own model: read back with ``instance_at``."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def instance_at(model: type[M], row: Sequence[Any], start: int = 0) -> tuple[M, int]:
    """The fully loaded instance (as ``select_related`` gives) whose ``concrete_columns`` begin at
    ``row[start]``, and where the next columns begin."""
    names = [field.attname for field in model._meta.concrete_fields]
    end = start + len(names)
    return model_instance(model, names, row[start:end]), end
