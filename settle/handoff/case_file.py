"""What an agent needs to see about a customer to help them without asking again."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.arrangements.plans import PlanSummary, active_plan
from settle.billing.invoices import InvoiceSummary, open_balance, recent_invoices
from settle.models import Customer, Dispute, DisputeStatus, HardshipReport, Invoice, LinkStatus, PaymentLink, Reminder
from settle.money import euros


@dataclass(frozen=True)
class CustomerDetails:
    """Who the customer is and how to reach them."""

    first_name: str
    last_name: str
    customer_number: str
    email: str | None
    phone: str | None
    #: The language the customer reads ("nl", "fr", "en"; customers.language): the console shows its name.
    language: str = "en"

    @classmethod
    def of(cls, customer: Customer) -> CustomerDetails:
        return cls(customer.first_name, customer.last_name, customer.customer_number, customer.email, customer.phone,
                   customer.language or "en")


@dataclass(frozen=True)
class OpenLink:
    reference: str
    amount: Decimal
    expires_at: datetime


@dataclass(frozen=True)
class OpenDispute:
    reference: str
    invoice_number: str
    reason: str
    opened_at: datetime


@dataclass(frozen=True)
class CaseFile:
    customer: CustomerDetails
    total_open: Decimal
    invoices: list[InvoiceSummary]
    plan: PlanSummary | None
    open_links: list[OpenLink]
    disputes: list[OpenDispute]
    hardship_reported_at: datetime | None
    reminders_to_review: int


def case_file(session: Session, customer_id: int, now: datetime) -> CaseFile | None:
    """The customer's account as the agent sees it: bills, plan, links, disputes, hardship; None if unknown."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    links = session.execute(
        select(PaymentLink)
        .where(PaymentLink.customer_id == customer_id, PaymentLink.status == LinkStatus.OPEN, PaymentLink.expires_at > now)
        .order_by(PaymentLink.created_at.desc())
    ).scalars()
    disputes = session.execute(
        select(Dispute, Invoice.number)
        .join(Invoice, Invoice.id == Dispute.invoice_id)
        .where(Dispute.customer_id == customer_id, Dispute.status == DisputeStatus.OPEN)
        .order_by(Dispute.created_at.desc())
    ).all()
    hardship = session.execute(
        select(HardshipReport.reported_at)
        .where(HardshipReport.customer_id == customer_id)
        .order_by(HardshipReport.reported_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    flagged = session.execute(
        select(Reminder.id).where(Reminder.customer_id == customer_id, Reminder.flagged_for_review.is_(True))
    ).all()
    return CaseFile(
        customer=CustomerDetails.of(customer),
        total_open=open_balance(session, customer_id).total_open,
        invoices=recent_invoices(session, customer_id),
        plan=active_plan(session, customer_id),
        open_links=[OpenLink(link.reference, euros(link.amount_cents), link.expires_at) for link in links],
        disputes=[OpenDispute(d.reference, number, d.reason, d.created_at) for d, number in disputes],
        hardship_reported_at=hardship,
        reminders_to_review=len(flagged),
    )
