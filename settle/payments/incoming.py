"""Money coming in: recorded once per outside reference, spread over the invoices it pays."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from settle import metrics
from settle.billing.invoices import InvoiceSummary
from settle.models import (
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    Payment,
    PlanStatus,
    ReceivedPayment,
    plan_invoices,
)
from settle.money import euros, format_euros

#: Length of ReceivedPayment.review_reason.
REASON_ROOM = 200


@dataclass(frozen=True)
class Receipt:
    received: ReceivedPayment
    is_new: bool


def open_cents(session: Session, invoice: Invoice) -> int:
    """What is still to pay on one invoice, from the payments recorded against it."""
    paid = session.execute(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(Payment.invoice_id == invoice.id)
    ).scalar_one()
    return invoice.total_cents - paid


def invoice_summary(session: Session, invoice: Invoice) -> InvoiceSummary:
    """One invoice as billing sees it (whose rules decide, for example, whether it is overdue)."""
    return InvoiceSummary.of(invoice, invoice.total_cents - open_cents(session, invoice))


def receive_payment(
    session: Session,
    *,
    external_reference: str,
    source: str,
    method: str,
    amount_cents: int,
    received_at: datetime,
    invoices: list[Invoice],
    customer_id: int | None,
    review_reason: str | None = None,
) -> Receipt:
    """Records money received, once: the same reference again (a repeated webhook, a re-imported
    statement) returns the first record and changes nothing.

    The amount is applied to the invoices oldest due date first; anything left over is kept on the
    received payment and flagged for review.
    """
    existing = _received(session, external_reference)
    if existing is not None:
        return Receipt(existing, is_new=False)
    received = ReceivedPayment(
        external_reference=external_reference,
        source=source,
        method=method,
        amount_cents=amount_cents,
        received_at=received_at,
        customer_id=customer_id,
        needs_review=review_reason is not None,
        review_reason=review_reason[:REASON_ROOM] if review_reason else None,
    )
    try:
        with session.begin_nested():
            session.add(received)
            session.flush()
    except IntegrityError:  # the same reference recorded at the same moment by another process
        recorded = _received(session, external_reference)
        if recorded is None:  # the conflict was not this reference after all
            raise
        return Receipt(recorded, is_new=False)

    left = amount_cents
    for number, invoice in enumerate(sorted(invoices, key=lambda i: (i.due_date, i.id)), start=1):
        applied = min(left, max(open_cents(session, invoice), 0))
        if applied <= 0:
            continue
        session.add(
            Payment(
                invoice_id=invoice.id,
                amount_cents=applied,
                paid_at=received_at,
                method=method,
                reference=f"R{received.id}/{number}",
                received_payment=received,
            )
        )
        session.flush()
        left -= applied
        if open_cents(session, invoice) <= 0:
            invoice.status = InvoiceStatus.PAID
        elif invoice.status == InvoiceStatus.OPEN:
            invoice.status = InvoiceStatus.PARTIALLY_PAID
    _credit_plans(session, received, received_at)
    if left > 0:
        received.needs_review = True
        overpaid = f"{format_euros(euros(left))} more than was open"
        received.review_reason = f"{review_reason[:REASON_ROOM - len(overpaid) - 2]}; {overpaid}" if review_reason else overpaid
    metrics.PAYMENTS.labels(source=source).inc()
    return Receipt(received, is_new=True)


def _credit_plans(session: Session, received: ReceivedPayment, now: datetime) -> None:
    """Money applied to bills in a payment plan pays the plan's instalments, oldest first, however it
    came in (the instalment link, a bank transfer, a link for the whole bill)."""
    session.flush()
    for payment in received.allocations:
        plan = session.execute(
            select(InstalmentPlan)
            .join(plan_invoices, plan_invoices.c.plan_id == InstalmentPlan.id)
            .where(plan_invoices.c.invoice_id == payment.invoice_id, InstalmentPlan.status == PlanStatus.ACTIVE)
        ).scalar_one_or_none()
        if plan is None:
            continue
        left = payment.amount_cents
        for instalment in plan.instalments:
            paid_now = min(left, instalment.amount_cents - instalment.paid_cents)
            if paid_now > 0:
                instalment.paid_cents += paid_now
                left -= paid_now
                if instalment.paid_cents >= instalment.amount_cents:
                    instalment.paid_at = now
        if all(part.paid_cents >= part.amount_cents for part in plan.instalments):
            plan.status, plan.ended_at = PlanStatus.COMPLETED, now


def _received(session: Session, external_reference: str) -> ReceivedPayment | None:
    return session.execute(
        select(ReceivedPayment).where(ReceivedPayment.external_reference == external_reference)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class PaymentSeen:
    invoice_number: str
    amount: Decimal
    paid_at: datetime
    method: str


def payments_since(session: Session, customer_id: int, since: datetime) -> list[PaymentSeen]:
    """Payments applied to the customer's invoices since a moment, newest first."""
    rows = session.execute(
        select(Invoice.number, Payment.amount_cents, Payment.paid_at, Payment.method)
        .join(Invoice, Payment.invoice_id == Invoice.id)
        .where(Invoice.customer_id == customer_id, Payment.paid_at >= since)
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
    )
    return [PaymentSeen(number, euros(cents), paid_at, method) for number, cents, paid_at, method in rows]
