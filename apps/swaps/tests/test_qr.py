"""Bay tokens: signed, naming the bay, expiring (screens) or permanent (printed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.swaps import qr
from apps.swaps.models import QrKind

NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
LIFETIME = timedelta(seconds=120)


def test_a_screen_token_names_its_bay_and_moment_and_verifies() -> None:
    issued = qr.screen_token_issue(bay_id=42, now=NOW)
    assert issued.token.startswith("S1.42.")
    assert len(issued.token) <= 64
    parsed = qr.token_verify(issued.token, now=NOW + timedelta(seconds=119), lifetime=LIFETIME)
    assert (parsed.kind, parsed.bay_id, parsed.issued_at, parsed.nonce) == (QrKind.SCREEN, 42, NOW, issued.nonce)


def test_every_screen_token_has_its_own_nonce() -> None:
    nonces = {qr.screen_token_issue(bay_id=1, now=NOW).nonce for _ in range(100)}
    assert len(nonces) == 100


def test_a_screen_token_expires() -> None:
    token = qr.screen_token_issue(bay_id=1, now=NOW).token
    with pytest.raises(qr.QrError) as refused:
        qr.token_verify(token, now=NOW + timedelta(seconds=121), lifetime=LIFETIME)
    assert refused.value.code == "qr_expired"


def test_a_token_from_the_future_is_invalid() -> None:
    token = qr.screen_token_issue(bay_id=1, now=NOW + timedelta(minutes=1)).token
    with pytest.raises(qr.QrError) as refused:
        qr.token_verify(token, now=NOW, lifetime=LIFETIME)
    assert refused.value.code == "qr_invalid"


@pytest.mark.parametrize("position", [3, 5, 20, 30, -1])
def test_any_change_breaks_the_signature(position: int) -> None:
    token = qr.screen_token_issue(bay_id=123, now=NOW).token
    chars = list(token)
    chars[position] = "7" if chars[position] != "7" else "8"
    with pytest.raises(qr.QrError) as refused:
        qr.token_verify("".join(chars), now=NOW, lifetime=LIFETIME)
    assert refused.value.code == "qr_invalid"


def test_a_token_signed_with_another_key_is_invalid(settings) -> None:
    token = qr.screen_token_issue(bay_id=1, now=NOW).token
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(qr.QrError):
        qr.token_verify(token, now=NOW, lifetime=LIFETIME)


def test_a_printed_token_never_expires() -> None:
    token = qr.printed_token_issue(bay_id=9).token
    assert token.startswith("P1.9.")
    parsed = qr.token_verify(token, now=NOW + timedelta(days=3650), lifetime=LIFETIME)
    assert (parsed.kind, parsed.bay_id, parsed.nonce, parsed.issued_at) == (QrKind.PRINTED, 9, None, None)


def test_a_printed_token_cannot_be_turned_into_another_bay() -> None:
    token = qr.printed_token_issue(bay_id=9).token
    with pytest.raises(qr.QrError):
        qr.token_verify(token.replace("P1.9.", "P1.8."), now=NOW, lifetime=LIFETIME)


@pytest.mark.parametrize(
    "raw",
    ["", "S1", "S1.1.2.3.4", "P1.0.aaaaaaaaaaaaaaaaaaaaaa", "x" * 500, "S2.1.1700000000.aaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaa"],
)
def test_malformed_tokens_are_invalid(raw: str) -> None:
    with pytest.raises(qr.QrError) as refused:
        qr.token_verify(raw, now=NOW, lifetime=LIFETIME)
    assert refused.value.code == "qr_invalid"
