"""``Authorization: Bearer <token>`` for the phone app (tokens come from ``POST /auth/login``).

DRF imports this module while ``rest_framework.views`` is still loading (the setting
DEFAULT_AUTHENTICATION_CLASSES), so it must not import views, services or
``apps.common.errors``: services import ``auth_token_hash`` from here instead.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from apps.accounts.models import AuthToken, User
from apps.common.compiled import CompiledRead, model_instance


def auth_token_hash(raw_token: str) -> str:
    """What is stored of a token: its SHA-256 (a 256-bit random token needs no key or salt)."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


# last_used_at is for people reviewing their devices; a write per request is not worth it.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_FIELDS = tuple(field.attname for field in AuthToken._meta.concrete_fields)
USER_FIELDS = tuple(field.attname for field in User._meta.concrete_fields)
# Every API request reads its token and user: compiled once (``apps.common.compiled``).
_live_token = CompiledRead(
    lambda key_hash: AuthToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values_list(
        *TOKEN_FIELDS, *(f"user__{name}" for name in USER_FIELDS)
    )[:1]
)


def live_token(raw_token: str) -> AuthToken | None:
    """The token, with its user, unless it is unknown or revoked."""
    rows = _live_token(key_hash=auth_token_hash(raw_token))
    if not rows:
        return None
    token = model_instance(AuthToken, TOKEN_FIELDS, rows[0][: len(TOKEN_FIELDS)])
    token.user = model_instance(User, USER_FIELDS, rows[0][len(TOKEN_FIELDS) :])
    return token


class BearerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # another scheme, or none: let the next authentication class try
        if len(parts) != 2:
            raise AuthenticationFailed(gettext("Send the header as: Authorization: Bearer <token>."))
        try:
            raw_token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(gettext("The token is not valid.")) from None
        token = live_token(raw_token)
        if token is None or not token.user.is_active:
            raise AuthenticationFailed(gettext("The token is not valid, or you have signed out. Sign in again."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to requests without credentials.
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes ``BearerTokenAuthentication``."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=BearerTokenAuthentication.keyword)
