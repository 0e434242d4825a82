"""The customer's questions about their bills, one function per use case; callers put the results into words."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from settle.billing import choosing, copies, invoices, pdf, standing
from settle.billing.invoices import BillExplanation, InvoiceSummary
from settle.billing.standing import MoneyOwed
from settle.unit_of_work import UnitOfWork

#: How far back a bill can be named by its month ("the one from March").
BILLS_TO_CHOOSE_FROM = 24


def tell_money_owed(uow: UnitOfWork, customer_id: int) -> MoneyOwed:
    """What is open, with what is on hold, the plan's next part and moved due dates: for the balance and due dates."""
    with uow:
        return standing.money_owed(uow.session, customer_id, uow.clock.today())


@dataclass(frozen=True)
class ListedInvoice:
    invoice: InvoiceSummary
    #: overdue, or the stored status (open, partially_paid, paid, disputed, in_plan, cancelled)
    state: str


def list_invoices(uow: UnitOfWork, customer_id: int, limit: int) -> list[ListedInvoice]:
    """The newest bills first, each with the state a customer cares about."""
    with uow:
        today = uow.clock.today()
        return [ListedInvoice(bill, bill.state(today)) for bill in invoices.recent_invoices(uow.session, customer_id, limit=limit)]


def bill_named(uow: UnitOfWork, customer_id: int, said: str, current: str | None = None) -> str | None:
    """The number of the customer's bill their words name ("the september one", "INV-2026-000021"), None when
    they name none; NoBillForMonth when the month they name has no bill (with the months that have one)."""
    with uow:
        bills = invoices.recent_invoices(uow.session, customer_id, limit=BILLS_TO_CHOOSE_FROM)
        return choosing.number_meant(bills, said, uow.clock.today(), current)


def explain_bill(uow: UnitOfWork, customer_id: int, said: str = "") -> BillExplanation | None:
    """The bill the words name (else the latest) against the one before it; InvoiceNotFound, NoBillForMonth."""
    number = bill_named(uow, customer_id, said)
    with uow:
        return invoices.explain_bill(uow.session, customer_id, number)


@dataclass(frozen=True)
class CopyLink:
    url: str
    invoice_number: str
    period_start: date


def send_invoice_copy(uow: UnitOfWork, customer_id: int, invoice_number: str | None, said: str = "") -> CopyLink:
    """A signed, expiring link to the PDF of the bill asked for by number or in words (else the latest);
    InvoiceNotFound or NoBillForMonth otherwise."""
    invoice_number = invoice_number or bill_named(uow, customer_id, said)
    with uow:
        url, invoice = copies.copy_link(uow.session, customer_id, uow.settings, uow.clock.now(), invoice_number)
        return CopyLink(url, invoice.number, invoice.period_start)


@dataclass(frozen=True)
class InvoicePdf:
    invoice_number: str
    content: bytes
    language: str


def open_invoice_copy(uow: UnitOfWork, token: str, language: str | None = None) -> InvoicePdf:
    """The PDF behind a copy link, in `language` or else the customer's; LinkProblem when the link is unknown or expired."""
    with uow:
        invoice = copies.open_copy(uow.session, token, uow.settings, uow.clock.now())
        language = language or invoice.customer.language
        return InvoicePdf(invoice.number, pdf.render_invoice_pdf(invoice, uow.settings, language), language)
