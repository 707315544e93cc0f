"""The recommendation log in the admin: read-only; the platform sees every log, a staff user
who asked for a recommendation sees their own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from apps.access import Actor
from apps.access.recommend import visible_recommendation_logs
from apps.accounts.models import OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.recommend import services
from apps.recommend.models import RecommendationLog
from apps.recommend.tests.factories import driver_of, north, station_at, vehicle_carrying

pytestmark = pytest.mark.django_db


@pytest.fixture
def log() -> RecommendationLog:
    station_at(*north(10))
    vehicle = vehicle_carrying()
    recommendation = services.recommendation_make(
        actor=Actor.of(driver_of(vehicle)), vehicle=vehicle, latitude=Decimal("38.4"), longitude=Decimal("116.0")
    )
    return RecommendationLog.objects.get(pk=recommendation.log_id)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_platform_reads_every_log_and_changes_none(log) -> None:
    admin = member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM), is_staff=True)
    client = signed_in(admin)
    listing = client.get(reverse("admin:recommend_recommendationlog_changelist"))
    assert listing.status_code == 200
    assert log.vehicle.plate in listing.content.decode()
    page = client.get(reverse("admin:recommend_recommendationlog_change", args=[log.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # read-only
    before = RecommendationLog.objects.values().get(pk=log.pk)
    response = client.post(reverse("admin:recommend_recommendationlog_change", args=[log.pk]), {"shown": 0})
    assert response.status_code == 403
    assert RecommendationLog.objects.values().get(pk=log.pk) == before
    assert client.post(reverse("admin:recommend_recommendationlog_delete", args=[log.pk]), {"post": "yes"}).status_code == 403
    assert RecommendationLog.objects.filter(pk=log.pk).exists()


def test_another_staff_user_does_not_find_the_log(log) -> None:
    carrier_admin = member(Role.CARRIER_ADMIN, log.vehicle.carrier, is_staff=True)
    client = signed_in(carrier_admin)
    assert client.get(reverse("admin:recommend_recommendationlog_change", args=[log.pk])).status_code == 404
    listing = client.get(reverse("admin:recommend_recommendationlog_changelist"))
    assert log.vehicle.plate not in listing.content.decode()


def test_a_driver_sees_their_own_logs_only(log) -> None:
    driver = log.driver
    other = member(Role.DRIVER, log.vehicle.carrier)
    assert list(visible_recommendation_logs(Actor.of(driver))) == [log]
    assert list(visible_recommendation_logs(Actor.of(other))) == []
    assert list(visible_recommendation_logs(Actor.anonymous())) == []
