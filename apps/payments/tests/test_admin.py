"""The payments admin, scoped by access and read-only: a payer's admins see their own top-ups
and refunds, the platform sees everything including provider events (which nobody else sees);
nothing is changed or deleted here except the platform's payout accounts."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.payments.models import PayoutAccount, ProviderEvent, Refund, TopUp
from apps.payments.tests.factories import paid_top_up, payer

pytestmark = pytest.mark.django_db


def staff(user: User) -> Client:
    User.objects.filter(pk=user.pk).update(is_staff=True)
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


@pytest.fixture
def world():
    mine, theirs = payer(), payer()
    paid_top_up(mine, 30_000)
    paid_top_up(theirs, 40_000)
    ProviderEvent.objects.create(event_id="evt_x", provider="sandbox", type="payment_intent.succeeded", payload={}, status="done")
    return mine, theirs


def test_a_payer_admin_sees_only_its_own_top_ups(world) -> None:
    mine, theirs = world
    client = staff(mine.admin)
    listing = client.get(reverse("admin:payments_topup_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset.values_list("organisation_id", flat=True)) == [mine.carrier.pk]
    other = TopUp.objects.get(organisation=theirs.carrier)
    assert client.get(reverse("admin:payments_topup_change", args=[other.pk])).status_code == 404
    own = TopUp.objects.get(organisation=mine.carrier)
    page = client.get(reverse("admin:payments_topup_change", args=[own.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert own.client_secret not in page.content.decode()


def test_provider_events_are_the_platforms_alone(world) -> None:
    mine, _theirs = world
    assert staff(mine.admin).get(reverse("admin:payments_providerevent_changelist")).status_code == 403
    platform_admin = member(Role.PLATFORM_ADMIN, mine.platform)
    assert staff(platform_admin).get(reverse("admin:payments_providerevent_changelist")).status_code == 200


def test_nobody_changes_or_deletes_a_top_up_not_even_the_platform(world) -> None:
    mine, _theirs = world
    client = staff(member(Role.PLATFORM_ADMIN, mine.platform))
    own = TopUp.objects.get(organisation=mine.carrier)
    response = client.post(reverse("admin:payments_topup_change", args=[own.pk]), {"amount_fen": 1})
    assert response.status_code == 403
    assert client.post(reverse("admin:payments_topup_delete", args=[own.pk]), {"post": "yes"}).status_code == 403
    assert TopUp.objects.get(pk=own.pk).amount_fen == 30_000
    assert Refund.objects.count() == 0


def test_the_platform_keeps_payout_accounts(world) -> None:
    mine, _theirs = world
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    client = staff(member(Role.PLATFORM_ADMIN, mine.platform))
    response = client.post(
        reverse("admin:payments_payoutaccount_add"),
        {
            "organisation": operator.pk,
            "stripe_account_id": "acct_1Qoperator",
            "bank_account_name": "",
            "bank_name": "",
            "bank_account_number": "",
        },
    )
    assert response.status_code == 302, response.content
    assert PayoutAccount.objects.get().stripe_account_id == "acct_1Qoperator"
    operator_admin = member(Role.OPERATOR_ADMIN, operator)
    assert staff(operator_admin).get(reverse("admin:payments_payoutaccount_add")).status_code == 403
