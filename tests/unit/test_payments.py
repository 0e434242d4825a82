"""Money received: recorded once per outside reference, whatever the reference looks like."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from settle.models import Customer, Invoice, InvoiceStatus, ReceivedPayment
from settle.payments.incoming import REASON_ROOM, open_cents, receive_payment
from settle.payments.transfer import parse_structured_communication
from settle.tooling.seed import PERSONAS

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
LUCAS = next(p for p in PERSONAS if p.shape == "overdue")


def lucas_open_invoices(session) -> list[Invoice]:
    customer = session.execute(select(Customer).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()
    return session.execute(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.status == InvoiceStatus.OPEN).order_by(Invoice.due_date)
    ).scalars().all()


def receive(session, reference: str, cents: int, invoices, reason=None):
    return receive_payment(session, external_reference=reference, source="bank_statement", method="bank_transfer",
                           amount_cents=cents, received_at=NOW, invoices=invoices, customer_id=invoices[0].customer_id,
                           review_reason=reason)


def test_references_sharing_a_long_prefix_are_two_payments(session):
    first, second = lucas_open_invoices(session)
    prefix = "camt:" + "x" * 80
    assert receive(session, prefix + "A", 100, [first]).is_new
    assert receive(session, prefix + "B", 100, [second]).is_new
    assert not receive(session, prefix + "A", 100, [first]).is_new


def test_money_is_spread_oldest_due_first_and_an_overpayment_is_flagged(session):
    invoices = lucas_open_invoices(session)
    owed = [open_cents(session, invoice) for invoice in invoices]
    receipt = receive(session, "spread", sum(owed) + 250, invoices, reason="r" * 300)
    assert [invoice.status for invoice in invoices] == [InvoiceStatus.PAID, InvoiceStatus.PAID]
    assert [p.amount_cents for p in receipt.received.allocations] == owed
    assert receipt.received.needs_review
    assert len(receipt.received.review_reason) <= REASON_ROOM and "€2.50 more than was open" in receipt.received.review_reason
    session.flush()
    assert session.execute(select(ReceivedPayment).where(ReceivedPayment.external_reference == "spread")).scalar_one()


def test_a_partial_payment_leaves_the_rest_open(session):
    oldest = lucas_open_invoices(session)[0]
    owed = open_cents(session, oldest)
    receive(session, "partial", owed - 1000, [oldest])
    assert oldest.status == InvoiceStatus.PARTIALLY_PAID and open_cents(session, oldest) == 1000


def test_digits_scattered_through_a_sentence_are_not_a_structured_communication():
    assert parse_structured_communication("Factuur INV-2026-000123, betaald op 20 november") is None
    assert parse_structured_communication("+++202/6000/12320+++ thanks") == "202600012320"
    assert parse_structured_communication("202 6000 12320") == "202600012320"


def test_money_for_a_bill_in_a_plan_pays_its_instalments_however_it_came(session):
    from dataclasses import replace as changed

    from settle.arrangements.plans import create_plan
    from settle.config import Settings
    from settle.models import PlanStatus
    from settle.payments.links import offer_link
    from settle.policy import load_policy

    invoices = lucas_open_invoices(session)
    customer_id = invoices[0].customer_id
    today = NOW.date()
    plan = create_plan(session, customer_id, 2, today, load_policy("policy/arrangements.yml"), today, NOW)
    first, second = plan.instalments
    settings = changed(Settings.from_environment(), link_secret="unit-test")

    # "pay now" for a bill in the plan gives the instalment's link, not the whole bill's
    offer = offer_link(session, customer_id, settings, NOW, invoice_number=invoices[0].number)
    assert int(offer.amount * 100) == first.amount_cents

    # a bank transfer for part of the plan counts towards the instalments, oldest first
    receive(session, "camt:plan-1", first.amount_cents + 100, invoices)
    assert first.paid_cents == first.amount_cents and second.paid_cents == 100
    receive(session, "camt:plan-2", plan.total_cents - first.amount_cents - 100, invoices)
    assert second.paid_cents == second.amount_cents and plan.status == PlanStatus.COMPLETED
