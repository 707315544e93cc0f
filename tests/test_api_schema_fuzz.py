"""RELIABILITY.md test 23: schemathesis against the served OpenAPI schema (`/api/schema/`).

Every operation is called with generated input (valid and invalid, 15 examples each, the same
ones every run), signed in as the platform admin beside a station with stock, a carrier with a
driver and a truck, and an order swapped and billed (the factories' whole-swap world). Each answer must be
no server error, carry a documented status code and content type, have a body shaped as its
schema says, and invalid input must be refused.

Left out is one check, "schema-valid input accepted": most fields have rules beyond what a
schema can say (a mainland mobile number, a GB 11643 ID number with its check character, a plate
of GA 36, a QR token's signature), and refusing such input with a stable code is the point."""

from __future__ import annotations

import secrets

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.authentication import auth_token_hash
from apps.accounts.models import AuthToken
from apps.swaps.tests.factories import advanced, swap_world

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(autouse=True)
def _connection_kept_between_requests():
    """The schema tests call the WSGI application itself, which closes the database connection
    after every request (CONN_MAX_AGE 0) and with it the test's transaction; Django's test
    client keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db) -> str:
    world = swap_world()
    advanced(world, "completed")
    raw = secrets.token_urlsafe(32)  # signing in for every operation would meet the sign-in throttle
    AuthToken.objects.create(user=world.users["platform_admin"], key_hash=auth_token_hash(raw), label="schema tests")
    return raw


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case, admin_token) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
