"""Registration, sign-in and passwords for the phone app (paths under /api/v1/).

Register, login and the two password-reset steps are open: they take no credentials at all
(``authentication_classes = []``), so a stale session cookie cannot make them demand CSRF.
Logout and password change need the caller signed in (bearer token or session).

Not done yet: ``Idempotency-Key`` on register (generic idempotency is its own issue).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout as session_logout
from django.contrib.auth import update_session_auth_hash
from django.urls import URLPattern, path
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import AuthToken, User, VerificationStatus
from apps.accounts.selectors.verification import verification_current
from apps.accounts.services import auth as services
from apps.accounts.throttling import Throttled, client_address
from apps.common.schema import error_response

UNVERIFIED = "unverified"


# --- Serializers ------------------------------------------------------------------------


THROTTLED = error_response("`throttled`: too many attempts; the `Retry-After` header gives the seconds to wait.")


class AuthUserOutput(serializers.ModelSerializer[User]):
    verification_status = serializers.SerializerMethodField(help_text="`unverified` until a real-name verification is submitted.")

    class Meta:
        model = User
        fields = ["id", "phone", "display_name", "verification_status"]

    @extend_schema_field(serializers.ChoiceField(choices=[UNVERIFIED, *VerificationStatus.values]))
    def get_verification_status(self, user: User) -> str:
        current = verification_current(user=user)
        return current.status if current is not None else UNVERIFIED


class RegisterInput(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=32, help_text="A mainland mobile number, e.g. 13912345678.")
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)
    display_name = serializers.CharField(max_length=200, allow_blank=True, help_text="1 to 60 characters.")


class LoginInput(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=32)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)
    device = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True, help_text="A name for this device, e.g. its model."
    )


class TokenOutput(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once; only its hash is kept.")
    user = AuthUserOutput()


class PasswordChangeInput(serializers.Serializer[Any]):
    old_password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)


class PasswordResetRequestInput(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=32)


class PasswordResetRequestOutput(serializers.Serializer[Any]):
    message = serializers.CharField()
    expires_in_seconds = serializers.IntegerField(help_text="How long a code, if one was sent, stays valid.")


class PasswordResetConfirmInput(serializers.Serializer[Any]):
    phone = serializers.CharField(max_length=32)
    code = serializers.CharField(max_length=16, help_text="The 6 digits texted to the number.")
    new_password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)


# --- Views ------------------------------------------------------------------------------
class _AuthApi(APIView):
    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, Throttled):
            response["Retry-After"] = str(exc.retry_after)
        return response


class _OpenAuthApi(_AuthApi):
    authentication_classes = []
    permission_classes = [AllowAny]


class RegisterApi(_OpenAuthApi):
    @extend_schema(
        request=RegisterInput,
        responses={
            201: AuthUserOutput,
            400: error_response("`phone_invalid`, `password_invalid` or `display_name_invalid` (with `fields`), or `invalid`."),
            409: error_response("`phone_in_use`: the number is already registered."),
            429: THROTTLED,
        },
        summary="Register with a mainland mobile number, a password and a display name",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(RegisterInput, request)
        user = services.user_register(
            phone=data["phone"],
            password=data["password"],
            display_name=data["display_name"],
            client_address=client_address(request),
        )
        return Response(AuthUserOutput(user).data, status=status.HTTP_201_CREATED)


class LoginApi(_OpenAuthApi):
    @extend_schema(
        request=LoginInput,
        responses={
            200: TokenOutput,
            400: error_response("`login_failed` (the same for an unknown number and a wrong password), or `phone_invalid`."),
            429: THROTTLED,
        },
        summary="Sign in: a bearer token for this device",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(LoginInput, request)
        user, token = services.auth_login(
            phone=data["phone"], password=data["password"], label=data["device"], client_address=client_address(request)
        )
        return Response(TokenOutput({"token": token, "user": user}).data)


class LogoutApi(_AuthApi):
    @extend_schema(
        request=None,
        responses={204: None, 401: error_response("`not_authenticated` or `authentication_failed`.")},
        summary="Sign out: revoke the token the request is made with (or end the session)",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            services.auth_logout(token=request.auth)
        else:
            session_logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(_AuthApi):
    @extend_schema(
        request=PasswordChangeInput,
        responses={
            200: TokenOutput,
            400: error_response("`password_incorrect` (the old password) or `password_invalid` (the new one, with `fields`)."),
            401: error_response("`not_authenticated` or `authentication_failed`."),
            429: THROTTLED,
        },
        summary="Change the password; signs out every device and returns a new token for this one",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordChangeInput, request)
        user = request.user
        assert isinstance(user, User)
        label = request.auth.label if isinstance(request.auth, AuthToken) else ""
        token = services.password_change(
            user=user, old_password=data["old_password"], new_password=data["new_password"], label=label
        )
        if not isinstance(request.auth, AuthToken):
            update_session_auth_hash(request._request, user)  # keep this browser session signed in
        return Response(TokenOutput({"token": token, "user": user}).data)


class PasswordResetRequestApi(_OpenAuthApi):
    @extend_schema(
        request=PasswordResetRequestInput,
        responses={
            202: PasswordResetRequestOutput,
            400: error_response("`phone_invalid`."),
            429: THROTTLED,
        },
        summary="Text a password-reset code to the number, if it is registered (the answer is the same either way)",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetRequestInput, request)
        services.password_reset_request(phone=data["phone"], client_address=client_address(request))
        body = {
            "message": gettext("If the number is registered, a code has been texted to it."),
            "expires_in_seconds": int(services.SMS_CODE_LIFETIME.total_seconds()),
        }
        return Response(PasswordResetRequestOutput(body).data, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(_OpenAuthApi):
    @extend_schema(
        request=PasswordResetConfirmInput,
        responses={
            204: None,
            400: error_response(
                "`code_invalid`, `code_attempts_exceeded`, `password_invalid` (with `fields`) or `phone_invalid`."
            ),
        },
        summary="Set a new password with the texted code; signs out every device",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetConfirmInput, request)
        services.password_reset_confirm(phone=data["phone"], code=data["code"], new_password=data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


urlpatterns: list[URLPattern] = [
    path("auth/register", RegisterApi.as_view(), name="auth-register"),
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("auth/password", PasswordChangeApi.as_view(), name="auth-password-change"),
    path("auth/password-reset", PasswordResetRequestApi.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm", PasswordResetConfirmApi.as_view(), name="auth-password-reset-confirm"),
]
