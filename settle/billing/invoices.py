"""Insight in the invoice: what is open, what is due when, which bills there are, and why the
latest bill differs from the one before."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from settle.errors import InvoiceNotFound
from settle.models import UNPAID_STATUSES, Invoice, InvoiceStatus, LineCategory, Payment
from settle.money import CENT, euros

#: A change smaller than this is not worth a sentence when explaining a bill.
NOTABLE_CHANGE = Decimal("1.00")


@dataclass(frozen=True)
class InvoiceSummary:
    number: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    total: Decimal
    paid: Decimal
    status: InvoiceStatus

    @property
    def open_amount(self) -> Decimal:
        return self.total - self.paid

    def days_overdue(self, today: date) -> int:
        """Days past the due date while something is still to pay; 0 when not overdue."""
        if self.open_amount <= 0 or self.status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
            return 0  # paid, or on hold (disputed, in a plan): nothing is late
        return max((today - self.due_date).days, 0)

    @classmethod
    def of(cls, invoice: Invoice, paid_cents: int) -> InvoiceSummary:
        """An invoice with what was paid of it, as the questions about bills see it."""
        return cls(
            number=invoice.number,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            total=euros(invoice.total_cents),
            paid=euros(paid_cents),
            status=invoice.status,
        )

    def state(self, today: date) -> str:
        """overdue, or the stored status: what a list of bills says about each one."""
        return "overdue" if self.days_overdue(today) else self.status.value


@dataclass(frozen=True)
class Balance:
    total_open: Decimal
    invoices: list[InvoiceSummary]


@dataclass(frozen=True)
class DueDates:
    overdue: list[InvoiceSummary]
    upcoming: list[InvoiceSummary]


@dataclass(frozen=True)
class Reason:
    """One thing that made the bill change; `kind` names the sentence that explains it."""

    kind: str
    values: dict[str, object]


@dataclass(frozen=True)
class BillExplanation:
    latest: InvoiceSummary
    previous: InvoiceSummary | None
    change: Decimal
    reasons: list[Reason] = field(default_factory=list)
    #: Whether the customer named this bill ("the september one") rather than asking about the latest.
    named: bool = False


def _summaries(session: Session, customer_id: int, *conditions, newest_first: bool = True, limit: int | None = None):
    # Summed per invoice (a correlated subquery on the payments' invoice index): a grouped subquery over
    # all payments made "show me my bills" take seconds with a million invoices.
    paid = (
        select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.invoice_id == Invoice.id)
        .scalar_subquery()
    )
    order = (Invoice.issue_date.desc(), Invoice.id.desc()) if newest_first else (Invoice.due_date.asc(), Invoice.id.asc())
    query = (
        select(Invoice, paid)
        .where(Invoice.customer_id == customer_id, *conditions)
        .order_by(*order)
        .limit(limit)
    )
    return [
        InvoiceSummary.of(invoice, paid_cents)
        for invoice, paid_cents in session.execute(query)
    ]


def open_balance(session: Session, customer_id: int) -> Balance:
    """Everything still to pay, oldest due date first."""
    invoices = [
        summary
        for summary in _summaries(session, customer_id, Invoice.status.in_(UNPAID_STATUSES), newest_first=False)
        if summary.open_amount > 0
    ]
    return Balance(total_open=sum((i.open_amount for i in invoices), Decimal("0.00")), invoices=invoices)


def due_dates(session: Session, customer_id: int, today: date) -> DueDates:
    """Open bills split into those past their due date and those still to come."""
    invoices = open_balance(session, customer_id).invoices
    return DueDates(
        overdue=[i for i in invoices if i.days_overdue(today) > 0],
        upcoming=[i for i in invoices if i.days_overdue(today) == 0],
    )


def recent_invoices(session: Session, customer_id: int, limit: int = 6) -> list[InvoiceSummary]:
    """The latest bills, newest first, whatever their status."""
    return _summaries(session, customer_id, Invoice.status != InvoiceStatus.CANCELLED, limit=limit)


def explain_bill(session: Session, customer_id: int, invoice_number: str | None = None) -> BillExplanation | None:
    """Compares a bill (the latest, or the one numbered) with the one before it and says what changed, biggest
    effect first; None when the customer has no bill, InvoiceNotFound when the numbered one is not theirs.

    The change in usage cost splits exactly into a usage effect (more or less used, at the old
    price) and a price effect (the new price on what was used now).
    """
    query = (
        select(Invoice)
        .where(Invoice.customer_id == customer_id, Invoice.status != InvoiceStatus.CANCELLED)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        .options(selectinload(Invoice.lines))
    )
    if invoice_number is not None:
        named = session.execute(query.where(Invoice.number == invoice_number.strip().upper())).scalar_one_or_none()
        if named is None:
            raise InvoiceNotFound(invoice_number)
        query = query.where(
            (Invoice.issue_date < named.issue_date) | ((Invoice.issue_date == named.issue_date) & (Invoice.id <= named.id))
        )
    invoices = session.execute(query.limit(2)).scalars().all()
    if not invoices:
        return None
    summaries = {s.number: s for s in _summaries(session, customer_id, Invoice.id.in_([i.id for i in invoices]))}
    latest = summaries[invoices[0].number]
    if len(invoices) == 1:
        return BillExplanation(latest=latest, previous=None, change=Decimal("0.00"), named=invoice_number is not None)
    new, old = invoices
    previous = summaries[old.number]
    reasons = _usage_reasons(new, old) + _category_reasons(new, old)
    reasons.sort(key=lambda reason: abs(Decimal(str(reason.values["effect"]))), reverse=True)
    return BillExplanation(
        latest=latest, previous=previous, change=latest.total - previous.total, reasons=reasons, named=invoice_number is not None
    )


def _usage_reasons(new: Invoice, old: Invoice) -> list[Reason]:
    reasons = []
    new_usage, old_usage = _usage_by_unit(new), _usage_by_unit(old)
    for unit in sorted(new_usage.keys() & old_usage.keys()):
        (q1, cost1), (q0, cost0) = new_usage[unit], old_usage[unit]
        if not q0 or not q1:
            continue
        p1, p0 = cost1 / q1, cost0 / q0
        usage_effect = ((q1 - q0) * p0).quantize(CENT)
        price_effect = (cost1 - cost0) - usage_effect
        if abs(usage_effect) >= NOTABLE_CHANGE:
            reasons.append(
                Reason(
                    "usage_up" if usage_effect > 0 else "usage_down",
                    {
                        "effect": usage_effect,
                        "unit": unit,
                        "previous_usage": q0,
                        "latest_usage": q1,
                        "usage_change_percent": abs(round((q1 - q0) / q0 * 100)),
                    },
                )
            )
        if abs(price_effect) >= NOTABLE_CHANGE:
            reasons.append(
                Reason(
                    "price_up" if price_effect > 0 else "price_down",
                    {"effect": price_effect, "unit": unit, "previous_price": p0, "latest_price": p1},
                )
            )
    return reasons


def _usage_by_unit(invoice: Invoice) -> dict[str, tuple[Decimal, Decimal]]:
    usage: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
    for line in invoice.lines:
        if line.category == LineCategory.USAGE:
            quantity, cost = usage[line.unit]
            usage[line.unit] = (quantity + line.quantity, cost + euros(line.amount_cents))
    return dict(usage)


def _category_reasons(new: Invoice, old: Invoice) -> list[Reason]:
    reasons = []
    one_offs = [line for line in new.lines if line.category in (LineCategory.ONE_OFF, LineCategory.FEE)]
    for line in one_offs:
        reasons.append(
            Reason(
                "one_off" if line.category == LineCategory.ONE_OFF else "fee",
                {"effect": euros(line.amount_cents), "description": line.description},
            )
        )
    fixed_change = _category_total(new, LineCategory.FIXED) - _category_total(old, LineCategory.FIXED)
    if abs(fixed_change) >= NOTABLE_CHANGE:
        reasons.append(Reason("fixed_up" if fixed_change > 0 else "fixed_down", {"effect": fixed_change}))
    return reasons


def _category_total(invoice: Invoice, category: LineCategory) -> Decimal:
    return sum((euros(line.amount_cents) for line in invoice.lines if line.category == category), Decimal("0.00"))
