"""What a bay's QR code says: a compact token naming the bay, signed with HMAC-SHA256.

Two kinds:

- **screen** (a bay with a controller screen): ``S1.<bay id>.<issued at, unix s>.<nonce>.<sig>``.
  The controller fetches a fresh one from the platform (``GET .../bays/{bay}/token``) and shows it;
  it is valid for ``SWAPNET_QR_TOKEN_LIFETIME_S`` after it was issued and makes one order (the
  nonce is unique on the order).
- **printed** (a bay without a screen): ``P1.<bay id>.<sig>``. It never expires and may be scanned
  again and again; its orders are always confirmed by staff at the bay.

A bay's plate also shows its **typed code**, ``<station code>-<bay number>`` (e.g. ``SWN-HHA-W-1``),
for a driver whose phone cannot read the QR symbol. It is not signed: it names a bay as a printed
code does, and is treated like one (``typed_code_parse`` here; the scan resolves it to the bay and
its orders are always confirmed by staff at the bay).

The signature is the first 128 bits of HMAC-SHA256 over everything before it, with a key derived
from ``SECRET_KEY`` for this purpose only (so rotating ``SECRET_KEY`` invalidates every printed
code: print the sheets again). Base64url without padding. Verification is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from apps.swaps.models import QrKind

SCREEN_PREFIX = "S1"
PRINTED_PREFIX = "P1"
SIGNATURE_BYTES = 16
NONCE_BYTES = 12
# A token issued this far in the future (the platform's clocks disagree) is still accepted.
CLOCK_SKEW = timedelta(seconds=30)
MAX_TOKEN_LENGTH = 200

_B64 = r"[A-Za-z0-9_-]"
_SCREEN = re.compile(rf"^S1\.([1-9][0-9]{{0,17}})\.([1-9][0-9]{{0,11}})\.({_B64}{{16}})\.({_B64}{{22}})$")
_PRINTED = re.compile(rf"^P1\.([1-9][0-9]{{0,17}})\.({_B64}{{22}})$")
# A station code (letters, digits, dashes; at most 20) and a bay number, dash-separated.
_TYPED = re.compile(r"^([A-Z0-9](?:[A-Z0-9-]{0,18}[A-Z0-9])?)-([1-9][0-9]{0,2})$")
MAX_TYPED_LENGTH = 24


class QrError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class BayToken:
    kind: QrKind
    bay_id: int
    issued_at: datetime | None  # screen tokens only
    nonce: str | None  # screen tokens only
    token: str

    def expires_at(self, lifetime: timedelta) -> datetime | None:
        return None if self.issued_at is None else self.issued_at + lifetime


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"swapnet bay qr token v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(body: str) -> str:
    return _b64(hmac.new(_key(), body.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES])


def screen_token_issue(*, bay_id: int, now: datetime, nonce: str | None = None) -> BayToken:
    issued = int(now.timestamp())
    nonce = nonce or _b64(secrets.token_bytes(NONCE_BYTES))
    body = f"{SCREEN_PREFIX}.{bay_id}.{issued}.{nonce}"
    return BayToken(QrKind.SCREEN, bay_id, datetime.fromtimestamp(issued, tz=UTC), nonce, f"{body}.{_sign(body)}")


def printed_token_issue(*, bay_id: int) -> BayToken:
    body = f"{PRINTED_PREFIX}.{bay_id}"
    return BayToken(QrKind.PRINTED, bay_id, None, None, f"{body}.{_sign(body)}")


def token_verify(raw: str, *, now: datetime, lifetime: timedelta) -> BayToken:
    """The token's content, or ``QrError``: ``qr_invalid`` (malformed, tampered, from the future)
    or ``qr_expired`` (a screen token older than ``lifetime``)."""
    token = raw.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise QrError("qr_invalid")
    if match := _SCREEN.match(token):
        bay, issued, nonce, signature = match.groups()
        body = token.rsplit(".", 1)[0]
        if not hmac.compare_digest(signature, _sign(body)):
            raise QrError("qr_invalid")
        issued_at = datetime.fromtimestamp(int(issued), tz=UTC)
        if issued_at > now + CLOCK_SKEW:
            raise QrError("qr_invalid")
        if now - issued_at > lifetime:
            raise QrError("qr_expired")
        return BayToken(QrKind.SCREEN, int(bay), issued_at, nonce, token)
    if match := _PRINTED.match(token):
        bay, signature = match.groups()
        if not hmac.compare_digest(signature, _sign(token.rsplit(".", 1)[0])):
            raise QrError("qr_invalid")
        return BayToken(QrKind.PRINTED, int(bay), None, None, token)
    raise QrError("qr_invalid")


def typed_code_parse(raw: str) -> tuple[str, int] | None:
    """The station code and bay number a typed bay code names (full-width characters, spaces and
    case folded), or None when it is not shaped like one."""
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper().replace("—", "-").replace("－", "-")
    if len(text) > MAX_TYPED_LENGTH:
        return None
    match = _TYPED.match(text)
    if match is None:
        return None
    return match.group(1), int(match.group(2))
