"""Mollie as a payment provider, over its Payments API v2 (https://docs.mollie.com/reference/payments-api).

Every way the call can go wrong (no answer, a refusal, an answer we can't read) becomes a ProviderError
whose message says what happened in one line and never contains the API key.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from dateutil.parser import isoparse

from settle.errors import ProviderError
from settle.models import CheckoutStatus
from settle.money import euros
from settle.payments.providers import CheckoutRequest, CreatedCheckout, ProviderPayment

#: Mollie payment ids; anything else in a webhook is refused before it becomes part of a URL.
PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]{1,64}")

#: Mollie's statuses in ours: an authorized payment is not yet captured, so it is still pending.
#: Mollie's checkout locale for each language Settle speaks: Belgian Dutch and French, English as Mollie's default.
LOCALES = {"en": "en_US", "nl": "nl_BE", "fr": "fr_BE"}

STATUSES = {
    "open": CheckoutStatus.OPEN,
    "pending": CheckoutStatus.PENDING,
    "authorized": CheckoutStatus.PENDING,
    "paid": CheckoutStatus.PAID,
    "canceled": CheckoutStatus.CANCELED,
    "expired": CheckoutStatus.EXPIRED,
    "failed": CheckoutStatus.FAILED,
}


class MollieProvider:
    name = "mollie"

    def __init__(
        self,
        api_url: str,
        api_key: str,
        http: requests.Session | None = None,
        timeout: float = 10,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.http = http or requests.Session()
        self.timeout = timeout

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        """Creates the payment; the idempotency key makes a retried request return the same payment."""
        body = {
            "amount": {"currency": "EUR", "value": str(euros(request.amount_cents))},
            "description": request.description,
            "redirectUrl": request.redirect_url,
            "webhookUrl": request.webhook_url,
            "metadata": request.metadata,
            "locale": LOCALES[request.language],
        }
        payment = self._call(
            "POST",
            "/payments",
            "create the payment",
            json=body,
            headers={"Idempotency-Key": request.idempotency_key},
        )
        try:
            return CreatedCheckout(
                provider_payment_id=self._payment_id(payment["id"]),
                checkout_url=str(payment["_links"]["checkout"]["href"]),
            )
        except (KeyError, TypeError) as exc:
            raise self._error("Mollie's answer to create the payment has no payment id or checkout link") from exc

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        """What Mollie says about a payment now; the id comes from a webhook, so it is checked first."""
        payment_id = self._payment_id(provider_payment_id)
        payment = self._call("GET", f"/payments/{payment_id}", f"show payment {payment_id}")
        try:
            status = self._status(payment["status"])
            amount_cents = self._cents(payment["amount"])
            paid_at = self._instant(payment.get("paidAt"))
            metadata = payment.get("metadata")
            return ProviderPayment(
                provider_payment_id=payment_id,
                status=status,
                amount_cents=amount_cents,
                method=payment.get("method") or "mollie",
                paid_at=paid_at,
                metadata=metadata if isinstance(metadata, dict) else {},
            )
        except KeyError as exc:
            raise self._error(f"Mollie's payment {payment_id} has no {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise self._error(f"Mollie's payment {payment_id} could not be read: {exc}") from exc

    def _call(self, method: str, path: str, purpose: str, **kwargs: Any) -> dict[str, Any]:
        """One request to Mollie, its JSON answer on success; redirects are refused, not followed."""
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(
                method,
                f"{self.api_url}{path}",
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise self._error(f"Mollie could not be reached to {purpose}: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise self._error(f"Mollie refused to {purpose}: {self._refusal(response)}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise self._error(f"Mollie's answer to {purpose} is not JSON") from exc
        if not isinstance(answer, dict):
            raise self._error(f"Mollie's answer to {purpose} is not a JSON object")
        return answer

    def _payment_id(self, value: object) -> str:
        if not isinstance(value, str) or not PAYMENT_ID.fullmatch(value):
            raise self._error(f"not a Mollie payment id: {str(value)[:80]!r}")
        return value

    @staticmethod
    def _refusal(response: requests.Response) -> str:
        """Mollie's error, e.g. "422 Unprocessable Entity — The amount is lower than the minimum"."""
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict):
            return f"{response.status_code} {response.reason}"
        title = problem.get("title") or response.reason
        detail = problem.get("detail")
        return f"{response.status_code} {title}" + (f" — {detail}" if detail else "")

    @staticmethod
    def _status(value: Any) -> CheckoutStatus:
        if not isinstance(value, str) or value not in STATUSES:
            raise ValueError(f"unknown status {value!r}")
        return STATUSES[value]

    @staticmethod
    def _cents(amount: Any) -> int:
        """Mollie's amount ("12.34" in EUR) as integer cents, refusing anything not exact to the cent."""
        if not isinstance(amount, dict) or amount.get("currency") != "EUR" or not isinstance(amount.get("value"), str):
            raise ValueError(f"amount {amount!r} is not a string value in EUR")
        try:
            cents = Decimal(amount["value"]) * 100
        except InvalidOperation as exc:
            raise ValueError(f"amount {amount['value']!r} is not a number") from exc
        if not cents.is_finite() or cents != cents.to_integral_value():
            raise ValueError(f"amount {amount['value']!r} is not whole cents")
        return int(cents)

    @staticmethod
    def _instant(value: Any) -> datetime | None:
        """Mollie's paidAt as an aware datetime; Python 3.10's fromisoformat can't read every ISO 8601 form."""
        if value is None:
            return None
        try:
            instant = isoparse(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"paidAt {value!r} is not an ISO 8601 instant") from exc
        if instant.tzinfo is None:
            raise ValueError(f"paidAt {value!r} has no timezone")
        return instant

    def _error(self, message: str) -> ProviderError:
        """A one-line ProviderError, with the API key blanked should Mollie ever echo it back."""
        message = " ".join(message.split())
        if self.api_key:
            message = message.replace(self.api_key, "***")
        return ProviderError(message)
