"""Sending text messages. The backend is chosen by ``SWAPNET_SMS_BACKEND`` (a dotted path).

The embedded default, ``ConsoleSmsBackend``, writes the message to the log and keeps it in
``outbox`` so the tests (and a developer) can read the code that was sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from apps.common.identifiers import mask_phone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentMessage:
    phone: str
    text: str


class SmsBackend(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


outbox: list[SentMessage] = []


class ConsoleSmsBackend:
    def send(self, *, phone: str, text: str) -> None:
        outbox.append(SentMessage(phone, text))
        logger.info("SMS to %s: %s", mask_phone(phone), text)


@lru_cache(maxsize=4)
def _backend(path: str) -> SmsBackend:
    backend: SmsBackend = import_string(path)()
    return backend


def send_sms(*, phone: str, text: str) -> None:
    _backend(settings.SMS_BACKEND).send(phone=phone, text=text)
