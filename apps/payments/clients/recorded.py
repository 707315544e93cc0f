"""A ``stripe.HTTPClient`` that answers with recorded JSON instead of the network.

This is the library's own HTTP seam: ``stripe.StripeClient(key, http_client=RecordedHTTPClient(...))``
runs all of the library's request building, response parsing and error mapping, and only the
bytes on the wire are recorded. Tests queue answers per method and path and read back what the
library sent (form fields, headers such as ``Idempotency-Key``)::

    http = RecordedHTTPClient(RECORDED_DIR)
    http.answer("post", "/v1/payment_intents", "payment_intent_created.json", amount=5000)
    ...
    assert http.requests[0].headers["Idempotency-Key"] == "swapnet-topup-..."

A call nobody queued an answer for fails the test (``UnexpectedRequest``): no network, ever.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe


class UnexpectedRequest(AssertionError):
    """The library made a request no recorded answer was queued for."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


class RecordedHTTPClient(stripe.HTTPClient):
    name = "recorded"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self._answers: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []

    def answer(self, method: str, path: str, recording: str, *, status: int = 200, **overrides: Any) -> dict[str, Any]:
        """Queue the recorded body ``recording`` (a file in ``directory``), with top-level fields
        replaced by ``overrides``, as the next answer to ``method path``. Returns the body."""
        body = json.loads((self.directory / recording).read_text(encoding="utf-8"))
        body.update(overrides)
        self._answers[(method.lower(), path)].append((status, json.dumps(body)))
        return dict(body)

    def pending(self) -> list[tuple[str, str]]:
        """Routes with answers still queued (a test may assert none are left)."""
        return [route for route, answers in self._answers.items() if answers]

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        form = dict(parse_qsl(post_data.decode() if isinstance(post_data, bytes) else post_data or "", keep_blank_values=True))
        sent_headers = dict(headers or {})
        self.requests.append(
            RecordedRequest(
                method=method.lower(), path=parts.path, query=dict(parse_qsl(parts.query)), headers=sent_headers, form=form
            )
        )
        queued = self._answers.get((method.lower(), parts.path))
        if not queued:
            raise UnexpectedRequest(f"no recorded answer for {method.upper()} {parts.path}")
        status, body = queued.pop(0)
        response_headers = {"request-id": f"req_recorded_{len(self.requests)}"}
        if "Idempotency-Key" in sent_headers:
            response_headers["idempotency-key"] = sent_headers["Idempotency-Key"]
        return body, status, response_headers

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise UnexpectedRequest("streaming requests are not recorded")

    def close(self) -> None:
        return None
