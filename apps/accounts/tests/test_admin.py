"""The admin of organisations, users and memberships, scoped by access."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from apps.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member


@pytest.fixture
def platform_admin(db) -> User:
    return member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), is_staff=True)


@pytest.fixture
def carrier(db) -> Organisation:
    return OrganisationFactory(kind=OrganisationKind.CARRIER)


@pytest.fixture
def carrier_admin(carrier: Organisation) -> User:
    return member(Role.CARRIER_ADMIN, carrier, is_staff=True)


def organisation_form(organisation: Organisation, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": organisation.code,
        "name": organisation.name,
        "name_en": organisation.name_en,
        "kind": organisation.kind,
    }
    data.update({"memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0})
    return {**data, **changes}


# --- Organisations: members see their own; only the platform changes them ---------------
@pytest.mark.parametrize(
    ("actor", "sees", "changes"),
    [("platform_admin", True, True), ("carrier_admin", True, False), ("other_carrier_admin", False, False)],
)
def test_organisation_by_actor(client, platform_admin, carrier, carrier_admin, actor, sees, changes) -> None:
    users = {
        "platform_admin": platform_admin,
        "carrier_admin": carrier_admin,
        "other_carrier_admin": member(Role.CARRIER_ADMIN, OrganisationFactory(kind=OrganisationKind.CARRIER), is_staff=True),
    }
    client.force_login(users[actor])
    url = reverse("admin:accounts_organisation_change", args=[carrier.pk])

    listed = client.get(reverse("admin:accounts_organisation_changelist")).context["cl"].result_list
    assert (carrier in listed) == sees
    assert client.get(url).status_code == (200 if sees else 404)
    response = client.post(url, organisation_form(carrier, name="改名"))

    carrier.refresh_from_db()
    if changes:
        assert response.status_code == 302
        assert carrier.name == "改名"
    else:
        assert response.status_code == (403 if sees else 404)
        assert carrier.name != "改名"


def test_a_role_must_exist_in_the_kind_of_organisation(client, platform_admin, carrier) -> None:
    someone = member(Role.DRIVER, carrier)
    client.force_login(platform_admin)
    data = organisation_form(carrier)
    data.update({"memberships-TOTAL_FORMS": 1, "memberships-0-user": someone.pk, "memberships-0-role": Role.OPERATOR_ADMIN})

    response = client.post(reverse("admin:accounts_organisation_change", args=[carrier.pk]), data)

    assert response.status_code == 200
    assert "role" in response.context["inline_admin_formsets"][0].formset.errors[0]
    assert not Membership.objects.filter(user=someone, role=Role.OPERATOR_ADMIN).exists()


# --- Users: the platform's page ----------------------------------------------------------
def test_users_are_the_platforms_page_only(client, carrier_admin) -> None:
    client.force_login(carrier_admin)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_change", args=[carrier_admin.pk])).status_code == 404
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    index = client.get(reverse("admin:index"))
    assert reverse("admin:accounts_user_changelist") not in index.content.decode()
    assert reverse("admin:accounts_organisation_changelist") in index.content.decode()


def test_the_user_list_shows_masked_phones(client, platform_admin, carrier_admin) -> None:
    client.force_login(platform_admin)
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert carrier_admin.masked_phone in page
    assert carrier_admin.phone not in page


def test_the_platform_adds_a_user_by_phone_and_password(client, platform_admin) -> None:
    client.force_login(platform_admin)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "phone": "+86 138 1234 5678",
            "display_name": "新司机",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(phone="13812345678")
    assert user.check_password("a long enough passphrase")
    assert not user.is_staff


def test_a_platform_admin_who_is_no_superuser_cannot_make_one(client, platform_admin, carrier_admin) -> None:
    client.force_login(platform_admin)
    url = reverse("admin:accounts_user_change", args=[carrier_admin.pk])
    data = {
        "phone": carrier_admin.phone,
        "display_name": carrier_admin.display_name,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
    }
    assert client.post(url, data).status_code == 302
    carrier_admin.refresh_from_db()
    assert not carrier_admin.is_superuser
