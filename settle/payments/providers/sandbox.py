"""The built-in sandbox provider for the demo: its checkout page lives in Settle's own web app,
where the demo user clicks pay or fail. It keeps its side in the `sandbox_payments` table."""
from __future__ import annotations

import json
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from settle.errors import ProviderError
from settle.models import CheckoutStatus, SandboxPayment
from settle.payments.providers import CheckoutRequest, CreatedCheckout, ProviderPayment


class SandboxProvider:
    name = "sandbox"

    def __init__(self, session: Session, public_url: str, now: datetime) -> None:
        self.session = session
        self.public_url = public_url
        self.now = now

    def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        payment = SandboxPayment(
            id=f"sbx_{secrets.token_urlsafe(12)}",
            amount_cents=request.amount_cents,
            description=request.description,
            metadata_json=json.dumps(request.metadata),
            redirect_url=request.redirect_url,
            webhook_url=request.webhook_url,
            status=CheckoutStatus.OPEN,
            created_at=self.now,
        )
        self.session.add(payment)
        self.session.flush()
        return CreatedCheckout(payment.id, f"{self.public_url}/sandbox/checkout/{payment.id}")

    def fetch_payment(self, provider_payment_id: str) -> ProviderPayment:
        payment = self.payment(provider_payment_id)
        return ProviderPayment(
            provider_payment_id=payment.id,
            status=payment.status,
            amount_cents=payment.amount_cents,
            method="sandbox",
            paid_at=payment.paid_at,
            metadata=json.loads(payment.metadata_json),
        )

    def complete(self, provider_payment_id: str, succeeded: bool) -> SandboxPayment:
        """What the demo user's click on the sandbox checkout page does on the provider's side."""
        payment = self.payment(provider_payment_id)
        if payment.status == CheckoutStatus.OPEN:
            payment.status = CheckoutStatus.PAID if succeeded else CheckoutStatus.FAILED
            payment.paid_at = self.now if succeeded else None
        return payment

    def payment(self, provider_payment_id: str) -> SandboxPayment:
        """The sandbox's own record of a payment, as its checkout page shows it."""
        payment = self.session.get(SandboxPayment, provider_payment_id)
        if payment is None:
            raise ProviderError(f"the sandbox has no payment {provider_payment_id}")
        return payment
