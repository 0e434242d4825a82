"""Paying, one function per use case; the chat, the payment pages and the command line put the results into words."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from settle.billing.invoices import open_balance
from settle.billing.services import bill_named
from settle.config import Settings
from settle.models import CheckoutStatus, Invoice
from settle.money import euros
from settle.payments import bank_statements, checkout, links, status
from settle.payments.bank_statements import ImportReport
from settle.payments.epc_qr import epc_payload, qr_svg
from settle.payments.incoming import PaymentSeen, invoice_summary, payments_since
from settle.payments.links import LinkOffer
from settle.payments.providers.sandbox import SandboxProvider
from settle.payments.status import PaymentClaim
from settle.payments.transfer import structured_communication
from settle.unit_of_work import UnitOfWork

#: How far back "did you get my payment?" looks.
PAYMENTS_LOOKBACK = timedelta(days=45)
#: Open bills whose transfer details the chat gives, oldest due date first.
MOST_TRANSFERS = 3


def offer_payment_link(uow: UnitOfWork, customer_id: int, invoice_number: str | None, said: str = "") -> LinkOffer:
    """The customer's link for one bill (by number, or named in words: "the august one") or everything open
    (the same one when asked again); InvoiceNotFound, NoBillForMonth or NothingToPay otherwise."""
    invoice_number = invoice_number or bill_named(uow, customer_id, said)
    with uow:
        offer = links.offer_link(uow.session, customer_id, uow.settings, uow.clock.now(), invoice_number)
        uow.commit()
        return offer


@dataclass(frozen=True)
class TransferDetails:
    invoice_number: str
    amount: Decimal
    iban: str
    beneficiary: str
    communication: str


def transfer_details(uow: UnitOfWork, customer_id: int) -> list[TransferDetails]:
    """What to type in a bank transfer for each of the oldest open bills."""
    with uow:
        bills = open_balance(uow.session, customer_id).invoices[:MOST_TRANSFERS]
    return [
        TransferDetails(
            invoice_number=bill.number,
            amount=bill.open_amount,
            iban=uow.settings.company_iban,
            beneficiary=uow.settings.company_name,
            communication=structured_communication(bill.number),
        )
        for bill in bills
    ]


@dataclass(frozen=True)
class PaymentStatus:
    #: Payments applied to the customer's bills lately, newest first.
    received: list[PaymentSeen]
    still_open: Decimal
    #: What the customer said about the payment they ask after ("yesterday, by bank transfer").
    claim: PaymentClaim
    #: With a day in the claim: the payments received since that day, newest first (empty: not arrived yet).
    arrived: list[PaymentSeen]


def payment_status(uow: UnitOfWork, customer_id: int, question: str) -> PaymentStatus:
    """The payments of the last PAYMENTS_LOOKBACK, what is still to pay, and whether the payment the customer
    asks about (by what they typed) can have arrived."""
    with uow:
        received = payments_since(uow.session, customer_id, uow.clock.now() - PAYMENTS_LOOKBACK)
        claim = status.read_claim(question, uow.clock.today())
        arrived = status.arrived_since(received, claim.paid_on, uow.clock.zone) if claim.paid_on else []
        return PaymentStatus(received, open_balance(uow.session, customer_id).total_open, claim, arrived)


@dataclass(frozen=True)
class BillLine:
    description: str
    quantity: Decimal
    unit: str
    amount: Decimal


@dataclass(frozen=True)
class PageBill:
    number: str
    period_start: date
    due_date: date
    total: Decimal
    paid: Decimal
    open_amount: Decimal
    #: Past its due date with something to pay; never for a bill on hold (disputed, in a payment plan).
    overdue: bool
    lines: tuple[BillLine, ...]


@dataclass(frozen=True)
class Transfer:
    """A bank transfer that pays the link: per bill, or one for an instalment of a payment plan."""

    invoice_number: str
    for_instalment: bool
    amount: Decimal
    communication: str
    #: An EPC QR code as an inline <svg>, empty when there is nothing to transfer.
    qr_svg: str


@dataclass(frozen=True)
class PaymentPage:
    first_name: str
    amount: Decimal
    expires_at: datetime
    bills: tuple[PageBill, ...]
    transfers: tuple[Transfer, ...]


def payment_page(uow: UnitOfWork, token: str) -> PaymentPage:
    """Everything the payment page shows behind a link, noting its first opening for the figures;
    LinkProblem says why a link can't be used."""
    with uow:
        link = links.open_link(uow.session, token, uow.settings, uow.clock.now())
        links.note_opened(link, uow.clock.now())
        bills = tuple(_page_bill(uow, invoice) for invoice in link.invoices)
        if link.instalment_id is None:
            transfers = tuple(_transfer(uow.settings, bill.number, bill.open_amount) for bill in bills)
        else:  # open_link guarantees an unpaid instalment, so the plan still has open bills
            transfers = (_transfer(uow.settings, bills[0].number, euros(link.amount_cents), for_instalment=True),)
        page = PaymentPage(link.customer.first_name, euros(link.amount_cents), link.expires_at, bills, transfers)
        uow.commit()
        return page


def _page_bill(uow: UnitOfWork, invoice: Invoice) -> PageBill:
    summary = invoice_summary(uow.session, invoice)
    return PageBill(
        number=invoice.number,
        period_start=invoice.period_start,
        due_date=invoice.due_date,
        total=summary.total,
        paid=summary.paid,
        open_amount=summary.open_amount,
        overdue=summary.days_overdue(uow.clock.today()) > 0,
        lines=tuple(
            BillLine(line.description, line.quantity.normalize(), line.unit, euros(line.amount_cents)) for line in invoice.lines
        ),
    )


def _transfer(settings: Settings, invoice_number: str, amount: Decimal, for_instalment: bool = False) -> Transfer:
    """Transfer details with the bill's structured communication and a QR code a banking app scans."""
    communication = structured_communication(invoice_number)
    qr = ""
    if amount > 0:
        qr = qr_svg(epc_payload(settings.company_name, settings.company_iban, settings.company_bic, amount, communication))
    return Transfer(invoice_number, for_instalment, amount, communication, qr)


def link_language(uow: UnitOfWork, token: str) -> str | None:
    """The language of the customer behind a link, for its pages (also when it can't be paid any more)."""
    with uow:
        return links.link_language(uow.session, token, uow.settings)


def start_checkout(uow: UnitOfWork, token: str, language: str) -> str:
    """Where to send the customer to pay the link online, the provider's page in `language` (the open checkout
    again after a double click); LinkProblem, or ProviderError when the provider can't be used now."""
    with uow:
        now = uow.clock.now()
        link = links.open_link(uow.session, token, uow.settings, now)
        provider = checkout.provider_for(uow.settings.payment_provider, uow.session, uow.settings, now)
        started = checkout.start_checkout(uow.session, link, token, provider, uow.settings, now, language)
        uow.commit()
        return started.checkout_url


def checkout_failed(uow: UnitOfWork, token: str) -> bool:
    """Back from the provider: whether the last attempt failed (else the confirmation is awaited);
    LinkProblem("paid") once the payment is recorded."""
    with uow:
        link = links.open_link(uow.session, token, uow.settings, uow.clock.now())
        return checkout.last_attempt_failed(link)


@dataclass(frozen=True)
class SandboxCheckout:
    description: str
    amount: Decimal
    status: CheckoutStatus
    #: The language of the customer paying, as a real provider's page would be opened in (None: unknown).
    language: str | None = None


def sandbox_checkout(uow: UnitOfWork, payment_id: str) -> SandboxCheckout:
    """The demo provider's checkout page; ProviderError when it has no such payment."""
    with uow:
        payment = _sandbox(uow).payment(payment_id)
        language = links.reference_language(uow.session, json.loads(payment.metadata_json).get("link"))
        return SandboxCheckout(payment.description, euros(payment.amount_cents), payment.status, language)


def sandbox_outcome(uow: UnitOfWork, payment_id: str, succeeded: bool) -> str:
    """The demo user paid or failed: the sandbox records it, Settle learns it as from any provider's
    webhook, and the customer goes back to where the checkout was started from (the returned URL)."""
    with uow:
        sandbox = _sandbox(uow)
        payment = sandbox.complete(payment_id, succeeded=succeeded)
        checkout.handle_notification(uow.session, sandbox, payment_id, uow.clock.now())
        uow.commit()
        return payment.redirect_url


def _sandbox(uow: UnitOfWork) -> SandboxProvider:
    return SandboxProvider(uow.session, uow.settings.public_url, uow.clock.now())


def handle_webhook(uow: UnitOfWork, provider_name: str, payment_id: str) -> str:
    """A provider says something happened to a payment: what it was, for the log (see handle_notification);
    ProviderError when the provider can't tell now, so it should try again later."""
    with uow:
        now = uow.clock.now()
        provider = checkout.provider_for(provider_name, uow.session, uow.settings, now)
        outcome = checkout.handle_notification(uow.session, provider, payment_id, now)
        uow.commit()
        return outcome


def import_statement(uow: UnitOfWork, xml: bytes) -> ImportReport:
    """Records the matching credits of a CAMT.053 statement once; StatementError records nothing."""
    with uow:
        report = bank_statements.import_statement(uow.session, xml, uow.clock.now())
        uow.commit()
        return report
