"""Sign-in, registration and sign-out pages: a Django session the API accepts too."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def test_the_sign_in_page_is_chinese_by_default_and_english_under_en() -> None:
    client = Client()
    chinese = client.get("/sign-in")
    english = client.get("/en/sign-in")
    assert chinese.status_code == english.status_code == 200
    assert "登录" in chinese.content.decode()
    assert "Sign in" in english.content.decode()
    assert '<html lang="zh-Hans">' in chinese.content.decode()
    assert '<html lang="en">' in english.content.decode()


def test_set_language_switches_the_page_to_english() -> None:
    client = Client()
    client.get("/sign-in")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/sign-in"})
    assert (response.status_code, response["Location"]) == (302, "/en/sign-in")


def test_signing_in_starts_a_session_that_the_api_accepts() -> None:
    user = UserFactory(phone="13900000001")
    client = Client(enforce_csrf_checks=True)
    client.get("/sign-in")
    token = client.cookies["csrftoken"].value
    response = client.post("/sign-in", {"phone": "139 0000 0001", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/"
    me = client.get("/api/v1/drivers/me")
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_a_wrong_password_is_refused_with_the_same_words_as_an_unknown_number() -> None:
    UserFactory(phone="13900000001")
    client = Client()
    wrong = client.post("/sign-in", {"phone": "13900000001", "password": "not the password"})
    unknown = client.post("/sign-in", {"phone": "13900000009", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 400
    assert 'data-error-code="login_failed"' in wrong.content.decode()
    assert 'data-error-code="login_failed"' in unknown.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site() -> None:
    UserFactory(phone="13900000001")
    inside = Client().post("/sign-in?next=/driver/wallet", {"phone": "13900000001", "password": PASSWORD})
    outside = Client().post("/sign-in", {"phone": "13900000001", "password": PASSWORD, "next": "https://evil.example/"})
    assert inside["Location"] == "/driver/wallet"
    assert outside["Location"] == "/"


def test_registering_signs_the_person_in_and_asks_for_verification() -> None:
    client = Client()
    response = client.post("/register", {"display_name": "张师傅", "phone": "13900000002", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/driver/verification"
    user = User.objects.get(phone="13900000002")
    assert (user.display_name, int(client.session["_auth_user_id"])) == ("张师傅", user.pk)


def test_registering_a_taken_number_changes_nothing() -> None:
    UserFactory(phone="13900000002")
    client = Client()
    response = client.post("/register", {"display_name": "李师傅", "phone": "13900000002", "password": PASSWORD})
    assert response.status_code == 409
    assert "此手机号已注册" in response.content.decode() or "already registered" in response.content.decode()
    assert User.objects.filter(phone="13900000002").count() == 1
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_session() -> None:
    UserFactory(phone="13900000001")
    client = Client()
    client.post("/sign-in", {"phone": "13900000001", "password": PASSWORD})
    response = client.post("/sign-out")
    assert response["Location"] == "/sign-in"
    assert client.get("/api/v1/drivers/me").status_code == 401


def test_signing_out_takes_a_post() -> None:
    assert Client().get("/sign-out").status_code == 405
