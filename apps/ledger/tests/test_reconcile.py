"""``manage.py reconcile_ledger``: no drift exits 0; a balance changed behind the ledger's back
is reported and exits 1."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.ledger import services
from apps.ledger.models import Account, AccountPurpose
from apps.ledger.tests.factories import parties, top_up

pytestmark = pytest.mark.django_db


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile_ledger", "--no-progress", stdout=out)
    return out.getvalue()


def test_a_consistent_ledger_reconciles() -> None:
    world = parties()
    top_up(world.carrier, 10_000)
    hold = services.hold_place(external_id="hold", payer=world.carrier, amount_fen=5_000)
    services.order_clear(external_id="clear", payer=world.carrier, bill_shares={world.operator: 3_740}, hold=hold)

    assert "no drift" in reconcile()


def test_a_balance_changed_behind_the_ledgers_back_is_drift() -> None:
    world = parties()
    top_up(world.carrier, 10_000)
    wallet = Account.objects.get(organisation=world.carrier, purpose=AccountPurpose.WALLET)
    Account.objects.filter(pk=wallet.pk).update(balance_fen=10_500)

    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reconcile_ledger", "--no-progress", stdout=out)

    assert failed.value.returncode == 1
    report = out.getvalue()
    assert (
        f"account {wallet.pk} (organisation {world.carrier.pk}, wallet): stored 10500 fen, entries sum to 10000 fen, drift +500"
        in report
    )
    assert "all CNY balances sum to +500 fen, not 0" in report
