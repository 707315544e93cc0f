"""The auth endpoints under /api/v1/auth/, and bearer tokens on the rest of the API."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import sms
from apps.accounts.models import AuthToken, SmsCode, User
from apps.accounts.tests.factories import UserFactory
from apps.common.schema import COMMON_ERRORS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new tractor"
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _fresh_outbox():
    sms.outbox.clear()  # (each test has a cache of its own: the root conftest)
    yield
    sms.outbox.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user() -> User:
    return UserFactory(phone=PHONE)


def login(api: APIClient, phone: str = PHONE, password: str = PASSWORD, **extra: str):
    return api.post("/api/v1/auth/login", {"phone": phone, "password": password, **extra}, format="json")


def token_of(api: APIClient, phone: str = PHONE, password: str = PASSWORD) -> str:
    response = login(api, phone, password)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def orgs_status(token: str) -> int:
    return APIClient().get("/api/v1/orgs", **bearer(token)).status_code


def request_code(api: APIClient, capture, phone: str = PHONE):
    with capture(execute=True):  # the text goes out after the commit
        return api.post("/api/v1/auth/password-reset", {"phone": phone}, format="json")


def code_from_outbox() -> str:
    match = re.search(r"\b(\d{6})\b", sms.outbox[-1].text)
    assert match is not None
    return match.group(1)


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# --- Register ---------------------------------------------------------------------------
def test_register_answers_201_with_an_unverified_user(api: APIClient) -> None:
    response = api.post(
        "/api/v1/auth/register", {"phone": "+86 139 1234 5678", "password": PASSWORD, "display_name": "李师傅"}, format="json"
    )
    assert response.status_code == 201
    created = User.objects.get()
    assert response.json() == {
        "id": created.pk,
        "phone": PHONE,
        "display_name": "李师傅",
        "verification_status": "unverified",
    }
    assert created.check_password(PASSWORD)


def test_register_refuses_full_width_junk_as_phone_invalid(api: APIClient) -> None:
    response = api.post(
        "/api/v1/auth/register", {"phone": "１３９ａｂｃ４５６７８", "password": PASSWORD, "display_name": "王"}, format="json"
    )
    assert error(response) == (400, "phone_invalid")
    assert list(response.json()["error"]["fields"]) == ["phone"]
    assert not User.objects.exists()


def test_register_refuses_a_taken_number_with_409(api: APIClient, user: User) -> None:
    response = api.post("/api/v1/auth/register", {"phone": PHONE, "password": PASSWORD, "display_name": "王"}, format="json")
    assert error(response) == (409, "phone_in_use")
    assert list(User.objects.values_list("pk", flat=True)) == [user.pk]


def test_register_refuses_a_weak_password_with_the_reasons(api: APIClient) -> None:
    response = api.post("/api/v1/auth/register", {"phone": PHONE, "password": "12345678", "display_name": "王"}, format="json")
    assert error(response) == (400, "password_invalid")
    assert response.json()["error"]["fields"]["password"]
    assert not User.objects.exists()


def test_register_refuses_a_missing_field_with_invalid(api: APIClient) -> None:
    response = api.post("/api/v1/auth/register", {"phone": PHONE, "password": PASSWORD}, format="json")
    assert error(response) == (400, "invalid")
    assert list(response.json()["error"]["fields"]) == ["display_name"]
    assert not User.objects.exists()


def test_register_ignores_a_stale_session_cookie(user: User) -> None:
    # An open endpoint must not demand a CSRF token because a browser still holds a session.
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(
        "/api/v1/auth/register", {"phone": "13912345679", "password": PASSWORD, "display_name": "王"}, format="json"
    )
    assert response.status_code == 201


# --- Login and bearer tokens ------------------------------------------------------------
def test_login_returns_a_token_that_opens_the_api(api: APIClient, user: User) -> None:
    response = login(api, device="Huawei P60")
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": user.pk, "phone": PHONE, "display_name": user.display_name, "verification_status": "unverified"}
    token = body["token"]
    orgs = APIClient().get("/api/v1/orgs", **bearer(token))
    assert orgs.status_code == 200
    assert orgs.json()["results"] == []
    stored = AuthToken.objects.get()
    assert (stored.key_hash, stored.label) == (hashlib.sha256(token.encode()).hexdigest(), "Huawei P60")
    assert not AuthToken.objects.filter(key_hash=token).exists()


def test_wrong_password_and_unknown_number_get_byte_identical_answers(api: APIClient, user: User) -> None:
    wrong_password = login(api, PHONE, "not the password")
    unknown_number = login(api, "13800000000", PASSWORD)
    assert wrong_password.status_code == unknown_number.status_code == 400
    assert wrong_password.content == unknown_number.content
    assert wrong_password.json()["error"]["code"] == "login_failed"


def test_anonymous_api_calls_answer_401_with_a_bearer_challenge(api: APIClient) -> None:
    response = api.get("/api/v1/orgs")
    assert error(response) == (401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer not-a-token", "bearer not-a-token"])
def test_malformed_or_unknown_bearer_tokens_answer_401(api: APIClient, header: str) -> None:
    response = api.get("/api/v1/orgs", HTTP_AUTHORIZATION=header)
    assert error(response) == (401, "authentication_failed")


def test_a_token_of_a_deactivated_user_is_refused(api: APIClient, user: User) -> None:
    token = token_of(api)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert orgs_status(token) == 401


def test_last_used_is_written_at_most_once_a_minute(api: APIClient, user: User) -> None:
    token = token_of(api)
    assert orgs_status(token) == 200
    first_use = AuthToken.objects.get().last_used_at
    assert first_use is not None
    assert orgs_status(token) == 200
    assert AuthToken.objects.get().last_used_at == first_use
    AuthToken.objects.update(last_used_at=first_use - timedelta(minutes=1))
    assert orgs_status(token) == 200
    touched = AuthToken.objects.get().last_used_at
    assert touched is not None
    assert touched > first_use


# --- Logout -----------------------------------------------------------------------------
def test_logout_revokes_the_presented_token_only(api: APIClient, user: User) -> None:
    token, other = token_of(api), token_of(api)
    response = APIClient().post("/api/v1/auth/logout", **bearer(token))
    assert response.status_code == 204
    assert response.content == b""
    after = APIClient().get("/api/v1/orgs", **bearer(token))
    assert error(after) == (401, "authentication_failed")
    assert orgs_status(other) == 200


def test_logout_needs_a_signed_in_caller(api: APIClient) -> None:
    assert error(api.post("/api/v1/auth/logout")) == (401, "not_authenticated")


# --- Password change --------------------------------------------------------------------
def test_password_change_revokes_other_tokens_and_returns_a_working_one(api: APIClient, user: User) -> None:
    current, other = token_of(api), token_of(api)
    response = APIClient().post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json", **bearer(current)
    )
    assert response.status_code == 200
    fresh = response.json()["token"]
    assert response.json()["user"]["id"] == user.pk
    assert (orgs_status(current), orgs_status(other), orgs_status(fresh)) == (401, 401, 200)
    assert login(api, PHONE, PASSWORD).status_code == 400
    assert login(api, PHONE, NEW_PASSWORD).status_code == 200


def test_password_change_with_a_wrong_old_password_changes_nothing(api: APIClient, user: User) -> None:
    current = token_of(api)
    hash_before = User.objects.get().password
    response = APIClient().post(
        "/api/v1/auth/password", {"old_password": "not it", "new_password": NEW_PASSWORD}, format="json", **bearer(current)
    )
    assert error(response) == (400, "password_incorrect")
    assert list(response.json()["error"]["fields"]) == ["old_password"]
    assert User.objects.get().password == hash_before
    assert AuthToken.objects.filter(revoked_at__isnull=True).count() == 1
    assert orgs_status(current) == 200


def test_password_change_needs_a_signed_in_caller(api: APIClient) -> None:
    response = api.post("/api/v1/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert error(response) == (401, "not_authenticated")


# --- Password reset ---------------------------------------------------------------------
def test_password_reset_end_to_end(api: APIClient, user: User, django_capture_on_commit_callbacks) -> None:
    old_token = token_of(api)
    response = request_code(api, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    assert [message.phone for message in sms.outbox] == [PHONE]
    confirm = api.post(
        "/api/v1/auth/password-reset/confirm",
        {"phone": PHONE, "code": code_from_outbox(), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert confirm.status_code == 204
    assert orgs_status(old_token) == 401
    assert login(api, PHONE, PASSWORD).status_code == 400
    assert orgs_status(token_of(api, PHONE, NEW_PASSWORD)) == 200


def test_reset_request_for_an_unknown_number_answers_the_same_and_sends_nothing(
    api: APIClient, user: User, django_capture_on_commit_callbacks
) -> None:
    registered = request_code(api, django_capture_on_commit_callbacks, PHONE)
    sms.outbox.clear()
    unknown = request_code(api, django_capture_on_commit_callbacks, "13800000000")
    assert registered.status_code == unknown.status_code == 202
    assert registered.content == unknown.content
    assert sms.outbox == []


def test_wrong_codes_count_attempts(api: APIClient, user: User, django_capture_on_commit_callbacks) -> None:
    request_code(api, django_capture_on_commit_callbacks)
    wrong = f"{(int(code_from_outbox()) + 1) % 10**6:06d}"
    for attempt in range(1, 6):
        response = api.post(
            "/api/v1/auth/password-reset/confirm", {"phone": PHONE, "code": wrong, "new_password": NEW_PASSWORD}, format="json"
        )
        assert error(response) == (400, "code_invalid")
        assert SmsCode.objects.get().attempts == attempt
    response = api.post(
        "/api/v1/auth/password-reset/confirm",
        {"phone": PHONE, "code": code_from_outbox(), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert error(response) == (400, "code_attempts_exceeded")
    assert User.objects.get().check_password(PASSWORD)


def test_an_expired_code_is_refused(api: APIClient, user: User, django_capture_on_commit_callbacks) -> None:
    request_code(api, django_capture_on_commit_callbacks)
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post(
        "/api/v1/auth/password-reset/confirm",
        {"phone": PHONE, "code": code_from_outbox(), "new_password": NEW_PASSWORD},
        format="json",
    )
    assert error(response) == (400, "code_invalid")
    assert User.objects.get().check_password(PASSWORD)


def test_the_reset_text_is_logged_with_the_number_masked(
    api: APIClient, user: User, django_capture_on_commit_callbacks, caplog
) -> None:
    with caplog.at_level(logging.INFO):
        request_code(api, django_capture_on_commit_callbacks)
    lines = [record.getMessage() for record in caplog.records if record.name == "apps.accounts.sms"]
    assert len(lines) == 1
    assert lines[0].startswith("SMS to 139****5678: ")
    assert all(PHONE not in record.getMessage() for record in caplog.records)


# --- Throttling -------------------------------------------------------------------------
def test_the_eleventh_login_for_a_number_is_throttled_and_other_numbers_are_not(api: APIClient, user: User) -> None:
    UserFactory(phone="13912345679")
    for _ in range(10):
        assert error(login(api, PHONE, "not the password")) == (400, "login_failed")
    throttled = login(api, PHONE, PASSWORD)
    assert error(throttled) == (429, "throttled")
    assert 1 <= int(throttled["Retry-After"]) <= 15 * 60
    assert login(api, "13912345679", PASSWORD).status_code == 200


def test_code_requests_are_throttled_per_number(api: APIClient, user: User, django_capture_on_commit_callbacks) -> None:
    for _ in range(3):
        assert request_code(api, django_capture_on_commit_callbacks).status_code == 202
    throttled = request_code(api, django_capture_on_commit_callbacks)
    assert error(throttled) == (429, "throttled")
    assert int(throttled["Retry-After"]) >= 1
    assert len(sms.outbox) == 3
    assert request_code(api, django_capture_on_commit_callbacks, "13800000000").status_code == 202


# --- Schema -----------------------------------------------------------------------------
def test_schema_documents_the_auth_endpoints_and_bearer_tokens(api: APIClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/password",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    } <= set(paths)
    login_responses = paths["/api/v1/auth/login"]["post"]["responses"]
    assert set(login_responses) == {"200", *COMMON_ERRORS}
    assert "login_failed" in login_responses["400"]["description"]  # the view's own text, not the shared one
    assert paths["/api/v1/auth/login"]["post"]["security"] == [{}]
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
