"""How a station controller signs its requests, and how the platform checks them.

Each station has one live controller key: a key id (``ck_...``) and a secret (``sk_...``),
made by its operator's admins (``POST /api/v1/stations/{code}/controller-key``, the secret shown
once). The platform stores the secret encrypted (Fernet, with a key derived from ``SECRET_KEY``
for this purpose only). Every controller request carries three headers:

    X-Swapnet-Key:        the key id
    X-Swapnet-Timestamp:  unix seconds when it was sent
    X-Swapnet-Signature:  hex HMAC-SHA256, keyed with the secret, of
                          f"{timestamp}.{METHOD}.{path}.{body}"

where ``path`` is the request path with its query string, as sent (``/api/v1/station-control/
SWN-HHA-W/commands``), and ``body`` the raw body bytes (empty for a GET). A request more than
``SWAPNET_CONTROLLER_SIGNATURE_WINDOW_S`` (300 s) from the platform's clock is refused, so a
captured request cannot be replayed later; within the window, a POST's ``Idempotency-Key`` (or
the report's own idempotency) makes a replay harmless. Refusals answer 401
``authentication_failed`` and name no detail about the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.assets.models import Station
from apps.swaps.models import ControllerCredential

KEY_HEADER = "X-Swapnet-Key"
TIMESTAMP_HEADER = "X-Swapnet-Timestamp"
SIGNATURE_HEADER = "X-Swapnet-Signature"
SCHEME = "Swapnet-HMAC"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = hmac.new(secret_key.encode(), b"swapnet controller secrets v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def secret_encrypt(secret: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()


def new_key_id() -> str:
    return f"ck_{secrets.token_hex(10)}"


def new_secret() -> str:
    return f"sk_{secrets.token_urlsafe(32)}"


def sign(*, secret: str, timestamp: int | str, method: str, path: str, body: bytes) -> str:
    """The signature a controller sends (also used by the simulator and the tests)."""
    message = f"{timestamp}.{method.upper()}.{path}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, key_id: str, secret: str, method: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, method=method, path=path, body=body),
    }


class ControllerPrincipal:
    """``request.user`` of a controller request: its station, acting through its key."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, credential: ControllerCredential) -> None:
        self.credential = credential
        self.station: Station = credential.station

    @property
    def idempotency_scope(self) -> str:
        return f"controller:{self.station.pk}"

    def __str__(self) -> str:
        return f"controller of {self.station.code}"


def _refuse() -> AuthenticationFailed:
    return AuthenticationFailed(gettext("The controller signature is missing, invalid or outside the time window."))


class ControllerSignatureAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ControllerPrincipal, ControllerCredential] | None:
        key_id = request.headers.get(KEY_HEADER)
        if not key_id:
            return None
        raw_timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not raw_timestamp.isdigit() or len(raw_timestamp) > 12 or not signature:
            raise _refuse()
        now = timezone.now()
        if abs(now.timestamp() - int(raw_timestamp)) > settings.CONTROLLER_SIGNATURE_WINDOW.total_seconds():
            raise _refuse()
        credential = (
            ControllerCredential.objects.select_related("station__operator")
            .filter(key_id=key_id, revoked_at__isnull=True)
            .first()
        )
        if credential is None:
            raise _refuse()
        try:
            secret = secret_decrypt(credential.secret_encrypted)
        except InvalidToken:
            raise _refuse() from None
        expected = sign(
            secret=secret, timestamp=raw_timestamp, method=request.method or "", path=request.get_full_path(), body=request.body
        )
        if not hmac.compare_digest(expected, signature.lower()):
            raise _refuse()
        if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_RESOLUTION:
            ControllerCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
            credential.last_used_at = now
        return ControllerPrincipal(credential), credential

    def authenticate_header(self, request: Request) -> str:
        return SCHEME


class IsStationController(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ControllerPrincipal)


class ControllerSignatureScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes the controllers' signature."""

    target_class = ControllerSignatureAuthentication
    name = "controllerSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": KEY_HEADER,
            "description": (
                f"Station controllers: {KEY_HEADER} (key id), {TIMESTAMP_HEADER} (unix seconds) and {SIGNATURE_HEADER} "
                "(hex HMAC-SHA256 with the key's secret of '{timestamp}.{METHOD}.{path}.{body}'); 300 s window."
            ),
        }
