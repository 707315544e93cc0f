"""Registration, sign-in tokens, password change and password reset by text-message code.

Password hashing is slow on purpose (~0.3 s), so it runs before the transaction that writes:
SQLite's write lock and PostgreSQL's row locks are never held while a hash is computed.

Sign-in never tells whether a number is registered: an unknown number, a deactivated account
and a wrong password all answer ``login_failed`` after the same amount of hashing, and a reset
request answers the same whether or not a code was sent. (Registration necessarily answers
``phone_in_use`` for a taken number; it is throttled per address for that reason.)
"""

from __future__ import annotations

import hmac
import logging
import secrets
import unicodedata
from datetime import timedelta
from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from apps.accounts.authentication import auth_token_hash
from apps.accounts.models import AuthToken, SmsCode, SmsCodePurpose, User
from apps.accounts.sms import send_sms
from apps.accounts.throttling import ThrottleTicket, throttle_hit, throttle_refund
from apps.common.errors import ApplicationError, Conflict
from apps.common.identifiers import InvalidIdentifier, fold, mask_phone, normalize_phone

logger = logging.getLogger(__name__)

DISPLAY_NAME_MAX_LENGTH = 60
TOKEN_LABEL_MAX_LENGTH = 80
SMS_CODE_LIFETIME = timedelta(minutes=10)
SMS_CODE_MAX_ATTEMPTS = 5
SMS_CODE_DIGITS = 6


# --- Helpers ----------------------------------------------------------------------------
def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidIdentifier as error:
        raise ApplicationError(error.code, error.message, fields={"phone": [error.message]}) from None


def _check_new_password(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ApplicationError(
            "password_invalid", gettext("Choose a stronger password."), fields={field: list(error.messages)}
        ) from None


def _login_failed() -> ApplicationError:
    # One code and one message for every cause, so the answer never tells whether a number exists.
    return ApplicationError("login_failed", gettext("The mobile number or the password is wrong."))


def _issue_token(*, user: User, label: str) -> str:
    raw_token = secrets.token_urlsafe(32)
    AuthToken.objects.create(user=user, key_hash=auth_token_hash(raw_token), label=label.strip()[:TOKEN_LABEL_MAX_LENGTH])
    return raw_token


def _revoke_all_tokens(*, user: User) -> None:
    AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _code_hash(*, phone: str, purpose: str, code: str) -> str:
    # Keyed by SECRET_KEY: a leaked table cannot be brute-forced over the million codes.
    return salted_hmac("swapnet.accounts.sms_code", f"{purpose}:{phone}:{code}", algorithm="sha256").hexdigest()


# --- Registration -----------------------------------------------------------------------
def user_register(*, phone: str, password: str, display_name: str, client_address: str | None = None) -> User:
    """A new person who signs in with ``phone``; not yet real-name verified."""
    if client_address is not None:
        throttle_hit(action="register", client_address=client_address)
    phone = _phone(phone)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= DISPLAY_NAME_MAX_LENGTH or any(unicodedata.category(char) == "Cc" for char in display_name):
        message = gettext("Enter a name of 1 to %(max)d characters.") % {"max": DISPLAY_NAME_MAX_LENGTH}
        raise ApplicationError("display_name_invalid", message, fields={"display_name": [message]})
    if User.objects.filter(phone=phone).exists():
        raise _phone_in_use()
    user = User(phone=phone, display_name=display_name)
    _check_new_password(password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # registered concurrently since the check above
        raise _phone_in_use() from None
    logger.info("registered user %s (%s)", user.pk, mask_phone(phone))
    return user


def _phone_in_use() -> ApplicationError:
    message = gettext("This mobile number is already registered. Sign in, or reset the password.")
    return Conflict("phone_in_use", message, fields={"phone": [message]})


# --- Sign-in tokens ---------------------------------------------------------------------
def _credentials_check(*, phone: str, password: str, client_address: str) -> tuple[User, ThrottleTicket]:
    phone = _phone(phone)
    ticket = throttle_hit(action="login", phone=phone, client_address=client_address)
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        User().set_password(password)  # the same hashing work as a real check: timing tells nothing
        raise _login_failed()
    if not user.check_password(password):
        raise _login_failed()
    return user, ticket


def auth_login(*, phone: str, password: str, label: str = "", client_address: str) -> tuple[User, str]:
    """Check the password and issue a token. The raw token is returned here once; only its
    hash is stored. Failed attempts count towards the per-number and per-address limits;
    successful ones are given back."""
    user, ticket = _credentials_check(phone=phone, password=password, client_address=client_address)
    with transaction.atomic():
        raw_token = _issue_token(user=user, label=label)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
    throttle_refund(ticket)
    return user, raw_token


def auth_session_check(*, phone: str, password: str, client_address: str) -> User:
    """The web pages' sign-in: the same checks, limits and answers as ``auth_login``, without a
    token (the page then starts a Django session for the user, which the API and the live
    streams accept too)."""
    user, ticket = _credentials_check(phone=phone, password=password, client_address=client_address)
    throttle_refund(ticket)
    return user


def auth_logout(*, token: AuthToken) -> None:
    """Revoke one token (the one the phone signed in with)."""
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def password_change(*, user: User, old_password: str, new_password: str, label: str = "") -> str:
    """Change the password and sign out everywhere: every token of the user is revoked (a
    stolen one stops working). A fresh token is returned so the phone that made the change
    stays signed in. Wrong old passwords count towards the sign-in limit of the number."""
    ticket = throttle_hit(action="login", phone=user.phone)
    if not user.check_password(old_password):
        message = gettext("The current password is wrong.")
        raise ApplicationError("password_incorrect", message, fields={"old_password": [message]})
    throttle_refund(ticket)
    _check_new_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        _revoke_all_tokens(user=user)
        raw_token = _issue_token(user=user, label=label)
    logger.info("user %s changed the password; all tokens revoked", user.pk)
    return raw_token


# --- Password reset by text-message code ------------------------------------------------
def password_reset_request(*, phone: str, client_address: str) -> None:
    """Text a 6-digit code to ``phone`` if it belongs to an active account. The caller learns
    nothing either way: same result, same limits. A new code supersedes older unused ones."""
    phone = _phone(phone)
    throttle_hit(action="sms_code", phone=phone, client_address=client_address)
    if not User.objects.filter(phone=phone, is_active=True).exists():
        logger.info("password reset requested for unregistered %s; nothing sent", mask_phone(phone))
        return
    code = f"{secrets.randbelow(10**SMS_CODE_DIGITS):0{SMS_CODE_DIGITS}d}"
    purpose = SmsCodePurpose.PASSWORD_RESET
    now = timezone.now()
    with transaction.atomic():
        SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(phone=phone, purpose=purpose, code=code),
            expires_at=now + SMS_CODE_LIFETIME,
        )
        text = gettext("swapnet: your password reset code is %(code)s, valid for %(minutes)d minutes. Never share it.") % {
            "code": code,
            "minutes": int(SMS_CODE_LIFETIME.total_seconds() // 60),
        }
        # robust: a failing provider must not turn the answer into an error that a missing
        # number would not give; the failure is logged.
        transaction.on_commit(partial(send_sms, phone=phone, text=text), robust=True)


def password_reset_confirm(*, phone: str, code: str, new_password: str) -> None:
    """Set a new password with the latest code texted to ``phone``; revokes every token.

    ``code_invalid`` for a wrong, expired, superseded or used code (and for a number that was
    never sent one); after ``SMS_CODE_MAX_ATTEMPTS`` tries the code is dead:
    ``code_attempts_exceeded``.
    """
    phone = _phone(phone)
    purpose = SmsCodePurpose.PASSWORD_RESET
    user = User.objects.filter(phone=phone, is_active=True).first()
    # Checked first, against a stand-in for unknown numbers, so a weak password costs no try.
    _check_new_password(new_password, user=user or User(phone=phone), field="new_password")
    invalid = ApplicationError("code_invalid", gettext("The code is wrong or has expired. Request a new one."))
    sms_code = SmsCode.objects.filter(phone=phone, purpose=purpose, used_at__isnull=True).order_by("-created_at", "-pk").first()
    if user is None or sms_code is None or sms_code.expires_at <= timezone.now():
        raise invalid
    # The try is counted (and committed) before the code is compared, in one conditional
    # UPDATE: parallel guesses cannot exceed the limit.
    counted = SmsCode.objects.filter(pk=sms_code.pk, attempts__lt=SMS_CODE_MAX_ATTEMPTS).update(attempts=F("attempts") + 1)
    if not counted:
        raise ApplicationError("code_attempts_exceeded", gettext("Too many wrong codes. Request a new code."))
    if not hmac.compare_digest(sms_code.code_hash, _code_hash(phone=phone, purpose=purpose, code=fold(code))):
        raise invalid
    user.set_password(new_password)
    with transaction.atomic():
        used = SmsCode.objects.filter(pk=sms_code.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not used:  # a parallel request with the same code won
            raise invalid
        user.save(update_fields=["password"])
        _revoke_all_tokens(user=user)
    logger.info("user %s reset the password by text-message code; all tokens revoked", user.pk)
