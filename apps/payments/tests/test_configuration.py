"""Payment settings from the environment: with Stripe chosen, a missing or malformed key stops
start-up with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
KEYS = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}


def check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", *KEYS} and not key.startswith("SWAPNET_")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"SWAPNET_PAYMENT_PROVIDER": "stripe"}, "STRIPE_SECRET_KEY: must be set when the payment provider is Stripe"),
        (
            {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
            "STRIPE_PUBLISHABLE_KEY: must be set when the payment provider is Stripe",
        ),
        (
            {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"},
            "STRIPE_WEBHOOK_SECRET: must be set when the payment provider is Stripe",
        ),
        ({**KEYS, "STRIPE_SECRET_KEY": "pk_test_x"}, "STRIPE_SECRET_KEY: expected a key starting with sk_ or rk_"),
        (
            {**KEYS, "STRIPE_PUBLISHABLE_KEY": "pk_live_x"},
            "STRIPE_PUBLISHABLE_KEY: is not of the same mode (live or test) as STRIPE_SECRET_KEY",
        ),
        ({"SWAPNET_PAYMENT_PROVIDER": "paypal"}, "SWAPNET_PAYMENT_PROVIDER: expected stripe or sandbox, got 'paypal'"),
        (
            {"SWAPNET_TOPUP_MIN_FEN": "500", "SWAPNET_TOPUP_MAX_FEN": "100"},
            "SWAPNET_TOPUP_MAX_FEN: must be at least SWAPNET_TOPUP_MIN_FEN (500)",
        ),
    ],
)
def test_a_missing_or_malformed_payment_setting_stops_with_one_line(env: dict[str, str], line: str) -> None:
    result = check(**env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"swapnet: configuration error: {line}"


def test_stripe_with_its_three_keys_starts() -> None:
    result = check(**KEYS)
    assert result.returncode == 0, result.stderr
