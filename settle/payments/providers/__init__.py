"""Payment providers behind one interface: the built-in sandbox, and Mollie over its HTTP API.

A provider creates a checkout for an amount and tells, when asked, what became of a payment.
Webhooks are never trusted on their word: the payment is always fetched back from the provider.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from settle.models import CheckoutStatus


@dataclass(frozen=True)
class CheckoutRequest:
    amount_cents: int
    description: str
    idempotency_key: str
    redirect_url: str
    webhook_url: str
    #: The language of the page the customer pays from (en, nl or fr): the provider's checkout speaks it too.
    language: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreatedCheckout:
    provider_payment_id: str
    checkout_url: str


@dataclass(frozen=True)
class ProviderPayment:
    provider_payment_id: str
    status: CheckoutStatus  # open, pending, paid, failed, canceled or expired
    amount_cents: int
    method: str
    paid_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        """Starts a payment and returns where to send the customer."""

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        """What the provider says about a payment now."""
