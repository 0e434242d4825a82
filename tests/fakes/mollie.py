"""A fake Mollie Payments API v2 on 127.0.0.1, so the Mollie provider is tested over real HTTP.

It speaks only what Settle uses: create a payment (POST /v2/payments) and show one
(GET /v2/payments/{id}), with Mollie's bearer key check, amount validation, idempotency keys and
application/hal+json errors. Tests move a payment along with `set_status`, as a customer would.
"""
from __future__ import annotations

import re
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.fakes.http import FakeHandler, serve

AMOUNT_VALUE = re.compile(r"\d+\.\d{2}")
#: The checkout locales Mollie accepts (https://docs.mollie.com/reference/create-payment, `locale`).
LOCALES = {"en_US", "en_GB", "nl_NL", "nl_BE", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "es_ES", "ca_ES", "pt_PT",
           "it_IT", "nb_NO", "sv_SE", "fi_FI", "da_DK", "is_IS", "hu_HU", "pl_PL", "lv_LV", "lt_LT"}
PAYMENT_PATH = re.compile(r"/v2/payments/(?P<id>[^/]+)")
CHECKOUT_PATH = re.compile(r"/checkout/(?P<id>tr_[A-Za-z0-9]+)")
ID_ALPHABET = string.ascii_letters + string.digits
#: The timestamp field Mollie sets when a payment reaches each status.
STATUS_TIMESTAMPS = {
    "paid": "paidAt",
    "authorized": "authorizedAt",
    "canceled": "canceledAt",
    "expired": "expiredAt",
    "failed": "failedAt",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None when there was none


@dataclass
class FakeMollie:
    """The fake's state; every request that reaches it is recorded, including refused ones."""

    api_key: str
    url: str = ""
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    idempotency_keys: dict[str, str] = field(default_factory=dict)
    raw_answers: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_status(self, payment_id: str, status: str, method: str | None = None) -> dict[str, Any]:
        """Moves a payment as Mollie would: sets the status and its timestamp (paidAt for paid)."""
        with self.lock:
            payment = self.payments[payment_id]
            payment["status"] = status
            if status in STATUS_TIMESTAMPS:
                payment[STATUS_TIMESTAMPS[status]] = _now()
            if method is not None:
                payment["method"] = method
            return payment

    def answer_next_with(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """The next request gets this answer as is, to test answers the real API shouldn't give."""
        with self.lock:
            self.raw_answers.append((status, body, {"Content-Type": "application/hal+json", **(headers or {})}))

    def create_payment(self, body: Any, idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if idempotency_key and idempotency_key in self.idempotency_keys:
                return 201, dict(self.payments[self.idempotency_keys[idempotency_key]])
            problem = _invalid_payment(body)
            if problem:
                return 422, _error(422, "Unprocessable Entity", *problem)
            payment_id = "tr_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(10))
            payment = {
                "resource": "payment",
                "id": payment_id,
                "mode": "test",
                "createdAt": _now(),
                "amount": body["amount"],
                "description": body["description"],
                "method": None,
                "metadata": body.get("metadata"),
                "status": "open",
                "isCancelable": False,
                "expiresAt": _now(timedelta(minutes=15)),
                "profileId": "pfl_fakefake00",
                "sequenceType": "oneoff",
                "redirectUrl": body.get("redirectUrl"),
                "webhookUrl": body.get("webhookUrl"),
                "locale": body.get("locale"),
                "_links": {
                    "self": {"href": f"{self.url}/payments/{payment_id}", "type": "application/hal+json"},
                    "checkout": {"href": f"{self.url.removesuffix('/v2')}/checkout/{payment_id}", "type": "text/html"},
                },
            }
            self.payments[payment_id] = payment
            if idempotency_key:
                self.idempotency_keys[idempotency_key] = payment_id
            return 201, dict(payment)


def _now(later: timedelta = timedelta()) -> str:
    return (datetime.now(timezone.utc) + later).isoformat(timespec="seconds")


def _error(status: int, title: str, detail: str, field_name: str | None = None) -> dict[str, Any]:
    """An error body shaped like Mollie's."""
    error: dict[str, Any] = {
        "status": status,
        "title": title,
        "detail": detail,
        "_links": {"documentation": {"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}},
    }
    if field_name:
        error["field"] = field_name
    return error


def _invalid_payment(body: Any) -> tuple[str, str] | None:
    """Mollie's detail and field for the first thing wrong with a new payment, None when all is well."""
    if not isinstance(body, dict):
        return "The request body is not a JSON object", "body"
    amount = body.get("amount")
    if not isinstance(amount, dict) or amount.get("currency") != "EUR":
        return "The amount currency is invalid", "amount.currency"
    value = amount.get("value")
    if not isinstance(value, str) or not AMOUNT_VALUE.fullmatch(value):
        return "The amount contains an invalid value", "amount.value"
    if value == "0.00":
        return "The amount is lower than the minimum", "amount.value"
    if not body.get("description"):
        return "The description is invalid", "description"
    if "locale" in body and body["locale"] not in LOCALES:
        return "The locale is invalid", "locale"
    return None


class _Handler(FakeHandler):
    json_content_type = "application/hal+json"
    fake: FakeMollie

    def handle_request(self) -> None:
        fake = self.fake
        body = self.read_body()
        with fake.lock:
            fake.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))
            raw_answer = fake.raw_answers.pop(0) if fake.raw_answers else None
        checkout = CHECKOUT_PATH.fullmatch(self.path)
        if raw_answer:
            self.answer(*raw_answer)
        elif self.command == "GET" and checkout:
            page = f"<h1>Fake Mollie checkout {checkout['id']}</h1>".encode()
            self.answer(200, page, {"Content-Type": "text/html"})
        else:
            self.answer_json(*self._route(body))

    def _route(self, body: Any) -> tuple[int, dict[str, Any]]:
        fake = self.fake
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return 401, _error(401, "Unauthorized Request", "Missing authentication, or failed to authenticate")
        if self.command == "POST" and self.path == "/v2/payments":
            if isinstance(body, str):
                return 400, _error(400, "Bad Request", "The request body is not valid JSON")
            return fake.create_payment(body, self.headers.get("Idempotency-Key"))
        shown = PAYMENT_PATH.fullmatch(self.path)
        if self.command == "GET" and shown:
            with fake.lock:
                payment = dict(fake.payments.get(shown["id"]) or {})
            if not payment:
                return 404, _error(404, "Not Found", f"No payment exists with token {shown['id']}.")
            return 200, payment
        return 404, _error(404, "Not Found", "The resource does not exist")


@contextmanager
def running_fake_mollie(api_key: str) -> Iterator[FakeMollie]:
    """Runs a fake Mollie on a free port for the duration of the block; `.url` ends in /v2."""
    fake = FakeMollie(api_key=api_key)
    with serve(type("Handler", (_Handler,), {"fake": fake})) as base_url:
        fake.url = f"{base_url}/v2"
        yield fake
