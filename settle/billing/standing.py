"""What the customer owes, told as they need to hear it: the bills to pay (with a due date moved by an
extension), the bills on hold while a dispute is looked at, and the running plan's next part instead of
the bills in it. Every answer about money (balance, due dates) starts from here, so none forgets a plan,
a dispute or an extension."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.arrangements.plans import active_plan
from settle.billing.invoices import InvoiceSummary, open_balance
from settle.models import Extension, Invoice, InvoiceStatus


@dataclass(frozen=True)
class NextPart:
    """The next part of the running payment plan: what is left on it and when it is due."""

    reference: str
    number: int
    amount: Decimal
    due_date: date
    #: What is still to pay on the whole plan.
    plan_left: Decimal


@dataclass(frozen=True)
class MoneyOwed:
    total_open: Decimal
    #: Open and partly paid bills, oldest due date first, split by whether their due date has passed.
    overdue: list[InvoiceSummary]
    upcoming: list[InvoiceSummary]
    #: Disputed bills: nothing to pay for them while a person looks at them.
    on_hold: list[InvoiceSummary]
    plan: NextPart | None
    #: The due date before an extension, by invoice number, for the bills whose due date was moved.
    moved_from: dict[str, date]

    @property
    def to_pay(self) -> list[InvoiceSummary]:
        return self.overdue + self.upcoming


def money_owed(session: Session, customer_id: int, today: date) -> MoneyOwed:
    balance = open_balance(session, customer_id)
    to_pay = [bill for bill in balance.invoices if bill.status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)]
    running = active_plan(session, customer_id)
    plan = None
    if running is not None and running.next_instalment is not None:
        number, due, left = running.next_instalment
        plan = NextPart(running.reference, number, left, due, running.left)
    moved = session.execute(
        select(Invoice.number, Extension.original_due_date)
        .join(Extension, Extension.invoice_id == Invoice.id)
        .where(Invoice.customer_id == customer_id, Invoice.number.in_([bill.number for bill in to_pay]))
    ).all()
    return MoneyOwed(
        total_open=balance.total_open,
        overdue=[bill for bill in to_pay if bill.days_overdue(today) > 0],
        upcoming=[bill for bill in to_pay if bill.days_overdue(today) == 0],
        on_hold=[bill for bill in balance.invoices if bill.status == InvoiceStatus.DISPUTED],
        plan=plan,
        moved_from=dict(moved),
    )
