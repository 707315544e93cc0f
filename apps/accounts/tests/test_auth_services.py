"""Registration, sign-in tokens, password change and reset, and throttling: the services."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connections
from django.test import RequestFactory
from django.utils import timezone

from apps.accounts import sms
from apps.accounts.models import AuthToken, SmsCode, User
from apps.accounts.services.auth import (
    auth_login,
    auth_logout,
    password_change,
    password_reset_confirm,
    password_reset_request,
    user_register,
)
from apps.accounts.tests.factories import UserFactory
from apps.accounts.throttling import Throttled, client_address, throttle_hit
from apps.common.errors import ApplicationError

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new tractor"
ADDRESS = "192.0.2.10"


@pytest.fixture(autouse=True)
def _fresh_outbox():
    sms.outbox.clear()  # (each test has a cache of its own: the root conftest)
    yield
    sms.outbox.clear()


@pytest.fixture
def sent_codes(django_capture_on_commit_callbacks):
    """Run the text messages the services queue for after the commit; yield the codes sent."""

    def request(phone: str, address: str = ADDRESS) -> str | None:
        before = len(sms.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            password_reset_request(phone=phone, client_address=address)
        if len(sms.outbox) == before:
            return None
        match = re.search(r"\b(\d{6})\b", sms.outbox[-1].text)
        assert match is not None
        return match.group(1)

    return request


def refusal(excinfo: pytest.ExceptionInfo[ApplicationError]) -> tuple[int, str]:
    return excinfo.value.status_code, excinfo.value.code


# --- Registration -----------------------------------------------------------------------
def test_register_normalises_the_number_and_hashes_the_password() -> None:
    user = user_register(phone="+86 139-1234-5678", password=PASSWORD, display_name="  李师傅 ")
    user.refresh_from_db()
    assert (user.phone, user.display_name) == ("13912345678", "李师傅")
    assert user.check_password(PASSWORD)
    assert PASSWORD not in user.password


def test_register_accepts_full_width_digits() -> None:
    assert user_register(phone="１３９１２３４５６７８", password=PASSWORD, display_name="王").phone == "13912345678"


@pytest.mark.parametrize("phone", ["１３９ａｂｃ４５６７８", "12912345678", "1391234567", ""])
def test_register_refuses_a_malformed_number(phone: str) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        user_register(phone=phone, password=PASSWORD, display_name="王")
    assert refusal(excinfo) == (400, "phone_invalid")
    assert list(excinfo.value.fields) == ["phone"]
    assert not User.objects.exists()


def test_register_refuses_a_taken_number() -> None:
    existing = UserFactory(phone="13912345678")
    with pytest.raises(ApplicationError) as excinfo:
        user_register(phone="139 1234 5678", password=PASSWORD, display_name="王")
    assert refusal(excinfo) == (409, "phone_in_use")
    assert list(User.objects.values_list("pk", flat=True)) == [existing.pk]


@pytest.mark.parametrize("password", ["12345678", "short1", "password123"])
def test_register_refuses_a_weak_password(password: str) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        user_register(phone="13912345678", password=password, display_name="王")
    assert refusal(excinfo) == (400, "password_invalid")
    assert list(excinfo.value.fields) == ["password"]
    assert excinfo.value.fields["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize("display_name", ["", "   ", "名" * 61, "王\x00"])
def test_register_refuses_a_display_name_outside_1_to_60_characters(display_name: str) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        user_register(phone="13912345678", password=PASSWORD, display_name=display_name)
    assert refusal(excinfo) == (400, "display_name_invalid")
    assert not User.objects.exists()


def test_register_accepts_a_display_name_of_60_characters() -> None:
    assert user_register(phone="13912345678", password=PASSWORD, display_name="名" * 60).display_name == "名" * 60


def test_register_is_throttled_per_address(settings) -> None:
    settings.THROTTLE_LIMITS = {"register": {"address": (2, timedelta(hours=1))}}
    user_register(phone="13900000001", password=PASSWORD, display_name="甲", client_address=ADDRESS)
    user_register(phone="13900000002", password=PASSWORD, display_name="乙", client_address=ADDRESS)
    with pytest.raises(Throttled):
        user_register(phone="13900000003", password=PASSWORD, display_name="丙", client_address=ADDRESS)
    assert User.objects.count() == 2
    user_register(phone="13900000003", password=PASSWORD, display_name="丙", client_address="192.0.2.99")


# --- Sign-in tokens ---------------------------------------------------------------------
def test_login_issues_a_token_of_which_only_the_hash_is_stored() -> None:
    user = UserFactory(phone="13912345678")
    signed_in, raw_token = auth_login(phone="13912345678", password=PASSWORD, label="Huawei P60", client_address=ADDRESS)
    assert signed_in == user
    token = AuthToken.objects.get()
    assert (token.user, token.label, token.revoked_at) == (user, "Huawei P60", None)
    assert token.key_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    assert not AuthToken.objects.filter(key_hash=raw_token).exists()
    assert len(raw_token) >= 43  # 32 random bytes
    user.refresh_from_db()
    assert user.last_login is not None


def test_login_failures_are_indistinguishable() -> None:
    UserFactory(phone="13912345678")
    UserFactory(phone="13912345679", is_active=False)
    answers = []
    for phone, password in [
        ("13912345678", "not the password"),  # wrong password
        ("13800000000", PASSWORD),  # unknown number
        ("13912345679", PASSWORD),  # deactivated account
    ]:
        with pytest.raises(ApplicationError) as excinfo:
            auth_login(phone=phone, password=password, client_address=ADDRESS)
        answers.append((*refusal(excinfo), excinfo.value.message, excinfo.value.fields))
    assert answers[0][:2] == (400, "login_failed")
    assert answers[0] == answers[1] == answers[2]
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("phone", ["13912345678", "13800000000"])
def test_login_hashes_once_whether_or_not_the_number_exists(phone: str) -> None:
    UserFactory(phone="13912345678")
    with (
        mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode) as encode,
        pytest.raises(ApplicationError),
    ):
        auth_login(phone=phone, password="not the password", client_address=ADDRESS)
    assert encode.call_count == 1


def test_logout_revokes_only_that_token() -> None:
    UserFactory(phone="13912345678")
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    _, other = auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    token = AuthToken.objects.exclude(key_hash=hashlib.sha256(other.encode()).hexdigest()).get()
    auth_logout(token=token)
    assert list(AuthToken.objects.filter(revoked_at__isnull=True)) == [
        AuthToken.objects.get(key_hash=hashlib.sha256(other.encode()).hexdigest())
    ]


def test_password_change_revokes_every_token_and_returns_a_fresh_one() -> None:
    user = UserFactory(phone="13912345678")
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    fresh = password_change(user=user, old_password=PASSWORD, new_password=NEW_PASSWORD, label="phone")
    assert AuthToken.objects.filter(revoked_at__isnull=False).count() == 2
    live = AuthToken.objects.get(revoked_at__isnull=True)
    assert (live.key_hash, live.label) == (hashlib.sha256(fresh.encode()).hexdigest(), "phone")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_change_with_a_wrong_old_password_changes_nothing() -> None:
    user = UserFactory(phone="13912345678")
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    hash_before = User.objects.get().password
    with pytest.raises(ApplicationError) as excinfo:
        password_change(user=user, old_password="not the password", new_password=NEW_PASSWORD)
    assert refusal(excinfo) == (400, "password_incorrect")
    assert User.objects.get().password == hash_before
    assert AuthToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_password_change_to_a_weak_password_changes_nothing() -> None:
    user = UserFactory(phone="13912345678")
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    hash_before = User.objects.get().password
    with pytest.raises(ApplicationError) as excinfo:
        password_change(user=user, old_password=PASSWORD, new_password="12345678")
    assert refusal(excinfo) == (400, "password_invalid")
    assert list(excinfo.value.fields) == ["new_password"]
    assert User.objects.get().password == hash_before
    assert AuthToken.objects.filter(revoked_at__isnull=True).count() == 1


# --- Password reset ---------------------------------------------------------------------
def test_reset_request_texts_a_six_digit_code_and_stores_only_its_keyed_hash(sent_codes) -> None:
    UserFactory(phone="13912345678")
    code = sent_codes("13912345678")
    assert code is not None
    assert [message.phone for message in sms.outbox] == ["13912345678"]
    stored = SmsCode.objects.get()
    assert (stored.phone, stored.purpose, stored.attempts, stored.used_at) == ("13912345678", "password_reset", 0, None)
    assert code not in stored.code_hash
    assert stored.code_hash != hashlib.sha256(code.encode()).hexdigest()
    assert len(stored.code_hash) == 64
    assert timedelta(minutes=9, seconds=59) < stored.expires_at - timezone.now() <= timedelta(minutes=10)


def test_reset_request_for_an_unknown_number_sends_and_stores_nothing(sent_codes) -> None:
    assert sent_codes("13800000000") is None
    assert sms.outbox == []
    assert not SmsCode.objects.exists()


def test_reset_sms_log_line_masks_the_number(sent_codes, caplog) -> None:
    UserFactory(phone="13912345678")
    with caplog.at_level(logging.INFO):
        sent_codes("13912345678")
    sms_lines = [record.getMessage() for record in caplog.records if record.name == "apps.accounts.sms"]
    assert len(sms_lines) == 1
    assert sms_lines[0].startswith("SMS to 139****5678: ")
    assert all("13912345678" not in record.getMessage() for record in caplog.records)


def test_reset_confirm_sets_the_password_uses_the_code_and_revokes_every_token(sent_codes) -> None:
    user = UserFactory(phone="13912345678")
    auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    code = sent_codes("13912345678")
    password_reset_confirm(phone="13912345678", code=code, new_password=NEW_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not AuthToken.objects.filter(revoked_at__isnull=True).exists()
    assert SmsCode.objects.get().used_at is not None
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13912345678", code=code, new_password="yet another password")
    assert refusal(excinfo) == (400, "code_invalid")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_new_reset_request_supersedes_the_older_code(sent_codes) -> None:
    user = UserFactory(phone="13912345678")
    first = sent_codes("13912345678")
    second = sent_codes("13912345678")
    while second == first:  # one chance in a million: ask once more
        second = sent_codes("13912345678")
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13912345678", code=first, new_password=NEW_PASSWORD)
    assert refusal(excinfo) == (400, "code_invalid")
    password_reset_confirm(phone="13912345678", code=second, new_password=NEW_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_wrong_codes_count_attempts_and_the_sixth_try_is_refused_even_with_the_right_code(sent_codes) -> None:
    user = UserFactory(phone="13912345678")
    code = sent_codes("13912345678")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for attempt in range(1, 6):
        with pytest.raises(ApplicationError) as excinfo:
            password_reset_confirm(phone="13912345678", code=wrong, new_password=NEW_PASSWORD)
        assert refusal(excinfo) == (400, "code_invalid")
        assert SmsCode.objects.get().attempts == attempt
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13912345678", code=code, new_password=NEW_PASSWORD)
    assert refusal(excinfo) == (400, "code_attempts_exceeded")
    assert SmsCode.objects.get().attempts == 5
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_right_code_on_the_fifth_try_still_works(sent_codes) -> None:
    user = UserFactory(phone="13912345678")
    code = sent_codes("13912345678")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        with pytest.raises(ApplicationError):
            password_reset_confirm(phone="13912345678", code=wrong, new_password=NEW_PASSWORD)
    password_reset_confirm(phone="13912345678", code=f" {code[:3]} {code[3:]} ", new_password=NEW_PASSWORD)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_code_is_refused(sent_codes) -> None:
    user = UserFactory(phone="13912345678")
    code = sent_codes("13912345678")
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13912345678", code=code, new_password=NEW_PASSWORD)
    assert refusal(excinfo) == (400, "code_invalid")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert SmsCode.objects.get().used_at is None


def test_a_weak_new_password_costs_no_attempt(sent_codes) -> None:
    UserFactory(phone="13912345678")
    code = sent_codes("13912345678")
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13912345678", code=code, new_password="12345678")
    assert refusal(excinfo) == (400, "password_invalid")
    assert SmsCode.objects.get().attempts == 0


def test_reset_confirm_for_an_unknown_number_says_code_invalid() -> None:
    with pytest.raises(ApplicationError) as excinfo:
        password_reset_confirm(phone="13800000000", code="123456", new_password=NEW_PASSWORD)
    assert refusal(excinfo) == (400, "code_invalid")


# --- Throttling -------------------------------------------------------------------------
def test_the_eleventh_failed_login_for_a_number_is_throttled_and_other_numbers_are_not() -> None:
    UserFactory(phone="13912345678")
    UserFactory(phone="13912345679")
    for _ in range(10):
        with pytest.raises(ApplicationError) as excinfo:
            auth_login(phone="13912345678", password="not the password", client_address=ADDRESS)
        assert excinfo.value.code == "login_failed"
    with pytest.raises(Throttled) as throttled:
        auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)  # even the right password
    assert refusal(throttled) == (429, "throttled")
    assert 1 <= throttled.value.retry_after <= 15 * 60
    assert not AuthToken.objects.exists()
    auth_login(phone="13912345679", password=PASSWORD, client_address=ADDRESS)


def test_successful_logins_do_not_use_up_the_limit() -> None:
    UserFactory(phone="13912345678")
    for _ in range(15):
        auth_login(phone="13912345678", password=PASSWORD, client_address=ADDRESS)
    assert AuthToken.objects.count() == 15


def test_failed_logins_are_throttled_per_address_across_numbers(settings) -> None:
    settings.THROTTLE_LIMITS = {"login": {"phone": (10, timedelta(minutes=15)), "address": (3, timedelta(minutes=15))}}
    for index in range(3):
        with pytest.raises(ApplicationError) as excinfo:
            auth_login(phone=f"1380000000{index}", password=PASSWORD, client_address=ADDRESS)
        assert excinfo.value.code == "login_failed"
    with pytest.raises(Throttled):
        auth_login(phone="13800000009", password=PASSWORD, client_address=ADDRESS)
    UserFactory(phone="13800000009")
    auth_login(phone="13800000009", password=PASSWORD, client_address="192.0.2.11")


def test_code_requests_are_throttled_per_number(sent_codes) -> None:
    UserFactory(phone="13912345678")
    for _ in range(3):
        assert sent_codes("13912345678") is not None
    with pytest.raises(Throttled):
        sent_codes("13912345678", address="192.0.2.99")
    assert len(sms.outbox) == 3
    UserFactory(phone="13912345679")
    assert sent_codes("13912345679") is not None


def test_code_requests_for_unknown_numbers_are_throttled_too(sent_codes) -> None:
    for _ in range(3):
        assert sent_codes("13800000000") is None
    with pytest.raises(Throttled):
        sent_codes("13800000000")


def test_code_requests_are_throttled_per_address(sent_codes) -> None:
    for index in range(10):
        sent_codes(f"138000000{index:02d}")
    with pytest.raises(Throttled):
        sent_codes("13800000099")


def test_wrong_old_passwords_count_towards_the_login_limit(settings) -> None:
    settings.THROTTLE_LIMITS = {"login": {"phone": (2, timedelta(minutes=15))}}
    user = UserFactory(phone="13912345678")
    for _ in range(2):
        with pytest.raises(ApplicationError):
            password_change(user=user, old_password="guess", new_password=NEW_PASSWORD)
    with pytest.raises(Throttled):
        password_change(user=user, old_password=PASSWORD, new_password=NEW_PASSWORD)


def test_an_action_without_limits_is_never_throttled(settings) -> None:
    settings.THROTTLE_LIMITS = {}
    for _ in range(100):
        throttle_hit(action="login", phone="13912345678", client_address=ADDRESS)


# --- Client address ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "192.0.2.1"}, "192.0.2.1"),
        (0, {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "192.0.2.1"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7"}, "198.51.100.7"),
        (2, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7, 10.0.0.1"}, "198.51.100.7"),
        (2, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "10.0.0.2"),
        (0, {"REMOTE_ADDR": "2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"),
        (0, {"REMOTE_ADDR": "::ffff:192.0.2.1"}, "192.0.2.1"),
    ],
)
def test_client_address(settings, proxies: int, meta: dict[str, str], expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post("/api/v1/auth/login", **meta)
    assert client_address(request) == expected


# --- Races (PostgreSQL and Redis: real threads, each with its own connection) ------------
postgres_only = pytest.mark.postgresql  # concurrent writers are proven on PostgreSQL


def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls at once, each in its own thread and connection; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as error:  # the losers of the race are the point
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _codes(results: list[object]) -> list[str]:
    return sorted(result.code if isinstance(result, ApplicationError) else "ok" for result in results)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_use_exactly_the_five_attempts() -> None:
    UserFactory(phone="13912345678")
    password_reset_request(phone="13912345678", client_address=ADDRESS)  # autocommit: sent at once
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    results = _race(
        [lambda: password_reset_confirm(phone="13912345678", code=wrong, new_password=NEW_PASSWORD) for _ in range(12)]
    )
    assert _codes(results) == ["code_attempts_exceeded"] * 7 + ["code_invalid"] * 5
    assert SmsCode.objects.get().attempts == 5


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_code_resets_the_password_once() -> None:
    UserFactory(phone="13912345678")
    password_reset_request(phone="13912345678", client_address=ADDRESS)
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)
    results = _race(
        [
            lambda password=password: password_reset_confirm(phone="13912345678", code=code, new_password=password)
            for password in (f"{NEW_PASSWORD} {n}" for n in range(4))
        ]
    )
    assert _codes(results) == ["code_invalid"] * 3 + ["ok"]
    winner = next(index for index, result in enumerate(results) if not isinstance(result, ApplicationError))
    assert User.objects.get().check_password(f"{NEW_PASSWORD} {winner}")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_number_make_one_user() -> None:
    results = _race([lambda n=n: user_register(phone="13912345678", password=PASSWORD, display_name=f"王{n}") for n in range(4)])
    assert _codes(results) == ["ok"] + ["phone_in_use"] * 3
    assert User.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_failed_logins_cannot_slip_past_the_limit() -> None:
    UserFactory(phone="13912345678")
    results = _race([lambda: auth_login(phone="13912345678", password="guess", client_address=ADDRESS) for _ in range(16)])
    assert _codes(results) == ["login_failed"] * 10 + ["throttled"] * 6
