"""Rows the core tests need beyond the seeded demo data, built inside the test's transaction."""
from __future__ import annotations

from datetime import date, timedelta

from settle.models import Invoice, InvoiceStatus


def add_invoice(session, customer_id: int, number: str, cents: int, due: date, status=InvoiceStatus.OPEN) -> Invoice:
    """A monthly bill of `cents` due on `due`, issued three weeks before."""
    invoice = Invoice(number=number, customer_id=customer_id, period_start=due - timedelta(days=52),
                      period_end=due - timedelta(days=22), issue_date=due - timedelta(days=21), due_date=due,
                      total_cents=cents, status=status)
    session.add(invoice)
    session.flush()
    return invoice
