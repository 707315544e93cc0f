"""Protection of resident ID numbers: encrypted at rest, found by a keyed hash, shown masked.

Two keys are derived from ``SWAPNET_PERSONAL_DATA_KEY``: one encrypts (Fernet: AES-128-CBC with
HMAC-SHA256), the other keys the look-up hash (HMAC-SHA256), so the hash column cannot be
reversed by hashing every possible number without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet
from django.conf import settings


def _derive(purpose: bytes) -> bytes:
    return hmac.new(settings.PERSONAL_DATA_KEY.encode(), purpose, hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(b"swapnet id-number encryption")))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.PERSONAL_DATA_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(settings.PERSONAL_DATA_KEY).decrypt(token.encode()).decode()


def lookup_hash(canonical: str) -> str:
    """The same number always gives the same hash, so a unique index finds duplicates."""
    return hmac.new(_derive(b"swapnet id-number lookup"), canonical.encode(), hashlib.sha256).hexdigest()
