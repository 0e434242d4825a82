"""Paying a link through a provider: start a checkout, and record what the provider reports.

Every notification is checked by fetching the payment back from the provider, and recorded once
whatever order or how often notifications arrive.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.config import Settings
from settle.errors import ProviderError
from settle.models import Checkout, CheckoutStatus, LinkStatus, PaymentLink
from settle.payments.incoming import receive_payment
from settle.payments.providers import CheckoutRequest, PaymentProvider
from settle.payments.providers.sandbox import SandboxProvider

#: How a checkout ends without the money; the customer may try again.
UNSUCCESSFUL = (CheckoutStatus.FAILED, CheckoutStatus.CANCELED, CheckoutStatus.EXPIRED)


def provider_for(name: str, session: Session, settings: Settings, now: datetime) -> PaymentProvider:
    """The provider called `name`, configured from the settings."""
    if name == "sandbox":
        return SandboxProvider(session, settings.public_url, now)
    if name == "mollie":
        from settle.payments.providers.mollie import MollieProvider

        if not settings.mollie_api_key:
            raise ProviderError("Mollie is selected but MOLLIE_API_KEY is not set")
        return MollieProvider(settings.mollie_api_url, settings.mollie_api_key)
    raise ProviderError(f"unknown payment provider '{name}' (use sandbox or mollie)")


def start_checkout(
    session: Session, link: PaymentLink, token: str, provider: PaymentProvider, settings: Settings, now: datetime,
    language: str,
) -> Checkout:
    """A checkout for the link's amount in the page's `language`; an open one is reused so a double click pays
    once."""
    open_checkout = next(
        (c for c in link.checkouts if c.provider == provider.name and c.status == CheckoutStatus.OPEN), None
    )
    if open_checkout is not None:
        return open_checkout
    numbers = ", ".join(invoice.number for invoice in link.invoices)
    created = provider.create_checkout(
        CheckoutRequest(
            amount_cents=link.amount_cents,
            description=f"{settings.company_name} {numbers}"[:200],
            idempotency_key=f"{link.reference}-{len(link.checkouts) + 1}",
            redirect_url=f"{settings.public_url}/pay/{token}/done",
            webhook_url=f"{settings.public_url}/webhooks/{provider.name}",
            language=language,
            metadata={"link": link.reference},
        )
    )
    checkout = Checkout(
        link=link,
        provider=provider.name,
        provider_payment_id=created.provider_payment_id,
        checkout_url=created.checkout_url,
        amount_cents=link.amount_cents,
        status=CheckoutStatus.OPEN,
        created_at=now,
    )
    session.add(checkout)
    session.flush()
    return checkout


def last_attempt_failed(link: PaymentLink) -> bool:
    """Whether the latest checkout of the link ended without the money (none yet: still waiting)."""
    return bool(link.checkouts) and link.checkouts[-1].status in UNSUCCESSFUL


def handle_notification(session: Session, provider: PaymentProvider, provider_payment_id: str, now: datetime) -> str:
    """Acts on 'something happened to this payment': fetches it, records a payment once when paid.

    Returns what happened, for the log: unknown, recorded, already recorded, or the provider's status.
    """
    checkout = session.execute(
        select(Checkout).where(Checkout.provider == provider.name, Checkout.provider_payment_id == provider_payment_id)
    ).scalar_one_or_none()
    if checkout is None:
        return "unknown"
    payment = provider.fetch_payment(provider_payment_id)
    checkout.status = payment.status
    if payment.status != CheckoutStatus.PAID:
        return payment.status
    link = checkout.link
    review = None if payment.amount_cents == checkout.amount_cents else "paid amount differs from the link's amount"
    receipt = receive_payment(
        session,
        external_reference=f"{provider.name}:{provider_payment_id}",
        source=provider.name,
        method=payment.method,
        amount_cents=payment.amount_cents,
        received_at=payment.paid_at or now,
        invoices=list(link.invoices),
        customer_id=link.customer_id,
        review_reason=review,
    )
    link.status = LinkStatus.PAID
    link.paid_at = link.paid_at or receipt.received.received_at
    return "recorded" if receipt.is_new else "already recorded"
