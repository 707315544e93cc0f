"""Row locks in one fixed order everywhere (STYLE.md rule 5): the payer's wallet accounts, then the
order, then the batteries (ascending id). A transaction that takes only some of them takes them in
this order too, so two transactions never wait for each other in a cycle.

The ledger's own services lock the accounts they post to in ascending id order; a swap service
that will move money locks the payer's wallet and held accounts first, before the order.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.assets.models import Battery
from apps.ledger.models import Account, AccountPurpose
from apps.swaps.models import SwapOrder


def lock_payer(carrier_id: int) -> None:
    """Lock the payer's wallet, held and energy-deposit accounts (those that exist), ascending id."""
    list(
        Account.objects.select_for_update()
        .filter(
            organisation_id=carrier_id,
            purpose__in=[AccountPurpose.WALLET, AccountPurpose.HELD, AccountPurpose.ENERGY_DEPOSIT],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_order(order_id: int, *, payer_id: int | None = None) -> SwapOrder:
    """The order, fresh and locked; with ``payer_id``, the payer's accounts locked first."""
    if payer_id is not None:
        lock_payer(payer_id)
    return (
        SwapOrder.objects.select_for_update(of=("self",)).select_related("station__operator", "bay", "carrier").get(pk=order_id)
    )


def lock_batteries(ids: Iterable[int | None]) -> dict[int, Battery]:
    wanted = sorted({pk for pk in ids if pk is not None})
    return {
        battery.pk: battery
        for battery in Battery.objects.select_for_update(of=("self",))
        .select_related("owner")
        .filter(pk__in=wanted)
        .order_by("pk")
    }
