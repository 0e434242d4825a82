"""Links to a PDF copy of one invoice: signed, expiring, for the customer who asked."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from settle.config import Settings
from settle.errors import InvoiceNotFound, LinkProblem
from settle.models import Invoice
from settle.signing import link_secret, sign, signature_matches


def copy_link(session: Session, customer_id: int, settings: Settings, now: datetime, invoice_number: str | None = None) -> tuple[str, Invoice]:
    """A link to the PDF of the invoice asked for, or of the latest one."""
    query = select(Invoice).where(Invoice.customer_id == customer_id)
    if invoice_number:
        query = query.where(Invoice.number == invoice_number.upper())
    invoice = session.execute(query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(1)).scalar_one_or_none()
    if invoice is None:
        raise InvoiceNotFound(invoice_number or "latest")
    expires = int((now + timedelta(days=settings.link_ttl_days)).timestamp())
    signature = sign(link_secret(settings), "copy", invoice.number, invoice.customer_id, expires)
    return f"{settings.public_url}/invoices/{invoice.number}.{expires}.{signature}.pdf", invoice


def open_copy(session: Session, token: str, settings: Settings, now: datetime) -> Invoice:
    """The invoice behind a copy link, with its lines, payments and customer loaded."""
    number, _, rest = (token or "").partition(".")
    expires, _, signature = rest.partition(".")
    invoice = session.execute(
        select(Invoice)
        .where(Invoice.number == number)
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments), selectinload(Invoice.customer))
    ).scalar_one_or_none() if expires.isdigit() and signature else None
    if invoice is None or not signature_matches(link_secret(settings), signature, "copy", number, invoice.customer_id, expires):
        raise LinkProblem("unknown")
    if int(expires) <= now.timestamp():
        raise LinkProblem("expired")
    return invoice
