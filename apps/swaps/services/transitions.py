"""The order state machine (PRODUCT.md, "Swap order states").

    requested → queued → called → swapping → completed → settled
    cancelled, or abnormal(reason), from any state before settled;
    abnormal → completed (resolved with corrected readings) or cancelled (resolved by cancelling)

Every change is one ``OrderTransition`` row (from, to, when, who, why) written with the order in
the same transaction, and announced to ``apps.swaps.events`` after the commit. A change the table
below does not allow is refused with ``illegal_transition`` (409), whoever asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from apps.accounts.models import User
from apps.swaps import events
from apps.swaps.errors import illegal_transition
from apps.swaps.models import ActorKind, ControllerCredential, OrderState, OrderTransition, SwapOrder

S = OrderState
ALLOWED: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.QUEUED, S.CANCELLED, S.ABNORMAL}),
    S.QUEUED: frozenset({S.CALLED, S.CANCELLED, S.ABNORMAL}),
    S.CALLED: frozenset({S.SWAPPING, S.CANCELLED, S.ABNORMAL}),
    S.SWAPPING: frozenset({S.COMPLETED, S.CANCELLED, S.ABNORMAL}),
    S.COMPLETED: frozenset({S.SETTLED, S.ABNORMAL}),
    S.ABNORMAL: frozenset({S.COMPLETED, S.CANCELLED}),
    S.SETTLED: frozenset(),
    S.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class By:
    """Who makes a change: a person, a station controller, or the system (a periodic task)."""

    kind: ActorKind
    user_id: int | None = None
    controller: ControllerCredential | None = None
    person_: User | None = None

    @classmethod
    def user(cls, user_id: int | None) -> By:
        assert user_id is not None
        return cls(ActorKind.USER, user_id=user_id)

    @classmethod
    def person(cls, user: User) -> By:
        return cls(ActorKind.USER, user_id=user.pk, person_=user)

    @classmethod
    def controller_of(cls, credential: ControllerCredential) -> By:
        return cls(ActorKind.CONTROLLER, controller=credential)

    @classmethod
    def system(cls) -> By:
        return cls(ActorKind.SYSTEM)


def require_transition(order: SwapOrder, to: str) -> None:
    if to not in ALLOWED[order.state]:
        raise illegal_transition(order.state, to)


def _row(order: SwapOrder, *, from_state: str, to: str, by: By, cause: str, at: datetime) -> OrderTransition:
    row = OrderTransition(
        order=order,
        from_state=from_state,
        to_state=to,
        at=at,
        actor_kind=by.kind,
        actor_user_id=by.user_id,
        actor_controller=by.controller,
        cause=cause[:300],
    )
    if by.person_ is not None:
        row.actor_user = by.person_
    return row


def _announce(order_id: int, to: str) -> None:
    transaction.on_commit(lambda: events.order_state_changed(order_id, to))


def record(order: SwapOrder, *, from_state: str, to: str, by: By, cause: str, at: datetime) -> OrderTransition:
    """Store a change already made to ``order`` (or its creation, ``from_state`` empty)."""
    row = _row(order, from_state=from_state, to=to, by=by, cause=cause, at=at)
    row.save()
    _announce(order.pk, to)
    return row


def record_many(order: SwapOrder, changes: Sequence[tuple[str, str, str]], *, by: By, at: datetime) -> list[OrderTransition]:
    """Store several changes already made to ``order`` at once: (from, to, cause) each, in order."""
    rows = OrderTransition.objects.bulk_create(
        [_row(order, from_state=from_state, to=to, by=by, cause=cause, at=at) for from_state, to, cause in changes]
    )
    for _from_state, to, _cause in changes:
        _announce(order.pk, to)
    return rows


def move(order: SwapOrder, to: str, *, by: By, cause: str, at: datetime, update_fields: list[str] | None = None) -> None:
    """Move a locked order to ``to``: check the table, save the state (and ``update_fields``), record it."""
    require_transition(order, to)
    from_state = order.state
    order.state = to
    order.save(update_fields=["state", "updated_at", *(update_fields or [])])
    record(order, from_state=from_state, to=to, by=by, cause=cause, at=at)
