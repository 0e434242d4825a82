"""Personal payment links: a fixed amount for fixed invoices of one customer, signed, expiring.

The amount always comes from the database. Asking again gives the same open link. A link dies
when it expires, when it is paid, or when its invoices no longer add up to its amount (paid
another way, cancelled, or changed); opening a dead link says why and never shows another
customer's data.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from settle.config import Settings
from settle.errors import InvoiceNotFound, LinkProblem, NothingToPay
from settle.models import (
    Instalment,
    InstalmentPlan,
    Invoice,
    InvoiceStatus,
    LinkStatus,
    PaymentLink,
    PlanStatus,
    plan_invoices,
)
from settle.money import euros
from settle.payments.incoming import open_cents
from settle.signing import link_secret, sign, signature_matches

#: A link about to expire is not handed out again; a fresh one is made instead.
REUSE_MARGIN = timedelta(days=1)
#: What a link for "everything open" leaves out: bills on hold while someone looks at them.
NOT_IN_DEFAULT_LINK = (InvoiceStatus.DISPUTED, InvoiceStatus.IN_PLAN, InvoiceStatus.PAID, InvoiceStatus.CANCELLED)


@dataclass(frozen=True)
class LinkOffer:
    url: str
    token: str
    amount: Decimal
    expires_at: datetime
    invoice_numbers: list[str]
    #: For a plan's part: its number and due date, so the customer hears it is a part, not the whole.
    instalment_number: int | None = None
    instalment_due: date | None = None
    #: Bills left out of a link for everything open because they are on hold for a dispute.
    on_hold: tuple[str, ...] = ()


def payable_invoices(session: Session, customer_id: int, invoice_number: str | None = None) -> list[Invoice]:
    """The invoices a link would pay: the one asked for, or every open one not on hold."""
    query = select(Invoice).where(Invoice.customer_id == customer_id)
    if invoice_number:
        invoice = session.execute(query.where(Invoice.number == invoice_number.upper())).scalar_one_or_none()
        if invoice is None:
            raise InvoiceNotFound(invoice_number)
        invoices = [invoice]
    else:
        invoices = session.execute(query.where(Invoice.status.not_in(NOT_IN_DEFAULT_LINK))).scalars().all()
    return sorted((i for i in invoices if open_cents(session, i) > 0), key=lambda i: (i.due_date, i.id))


def offer_link(
    session: Session, customer_id: int, settings: Settings, now: datetime, invoice_number: str | None = None
) -> LinkOffer:
    """The customer's link for one invoice or for everything open, reusing an open one."""
    invoices = payable_invoices(session, customer_id, invoice_number)
    # The named bill's plan, or, with nothing else open, the customer's running plan: paid by its next part.
    plan = _active_plan_of(session, invoices) if invoices or invoice_number else _customer_plan(session, customer_id)
    on_hold = () if invoice_number else _on_hold(session, customer_id)
    if plan is not None:  # a bill in a payment plan is paid by its instalments
        return replace(offer_instalment_link(session, plan, settings, now), on_hold=on_hold)
    if not invoices:
        raise NothingToPay()
    amount_cents = sum(open_cents(session, invoice) for invoice in invoices)
    return replace(_offer(session, customer_id, invoices, amount_cents, settings, now), on_hold=on_hold)


def _on_hold(session: Session, customer_id: int) -> tuple[str, ...]:
    """The customer's disputed bills with something open: not in a link for everything, and the customer is told."""
    disputed = session.execute(
        select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.DISPUTED)
        .order_by(Invoice.due_date, Invoice.id)
    ).scalars().all()
    return tuple(invoice.number for invoice in disputed if open_cents(session, invoice) > 0)


def _active_plan_of(session: Session, invoices: list[Invoice]) -> InstalmentPlan | None:
    in_plan = [invoice.id for invoice in invoices if invoice.status == InvoiceStatus.IN_PLAN]
    if not in_plan:
        return None
    return session.execute(
        select(InstalmentPlan)
        .join(plan_invoices, plan_invoices.c.plan_id == InstalmentPlan.id)
        .where(plan_invoices.c.invoice_id.in_(in_plan), InstalmentPlan.status == PlanStatus.ACTIVE)
    ).scalars().first()


def _customer_plan(session: Session, customer_id: int) -> InstalmentPlan | None:
    return session.execute(
        select(InstalmentPlan).where(InstalmentPlan.customer_id == customer_id, InstalmentPlan.status == PlanStatus.ACTIVE)
    ).scalars().first()


def offer_instalment_link(session: Session, plan: InstalmentPlan, settings: Settings, now: datetime) -> LinkOffer:
    """The link for the plan's next unpaid instalment, for what is left on it."""
    instalment = next((i for i in plan.instalments if i.paid_cents < i.amount_cents), None)
    if instalment is None or plan.status != PlanStatus.ACTIVE:
        raise NothingToPay()
    amount_cents = instalment.amount_cents - instalment.paid_cents
    invoices = [invoice for invoice in plan.invoices if open_cents(session, invoice) > 0]
    offer = _offer(session, plan.customer_id, invoices, amount_cents, settings, now, instalment.id)
    return replace(offer, instalment_number=instalment.number, instalment_due=instalment.due_date)


def _offer(session, customer_id, invoices, amount_cents, settings, now, instalment_id=None) -> LinkOffer:
    """The open link for exactly these invoices, amount (and instalment), or a new one."""
    link = _reusable_link(session, customer_id, invoices, amount_cents, now, instalment_id) or _new_link(
        session, customer_id, invoices, amount_cents, settings, now, instalment_id
    )
    token = link_token(link, link_secret(settings))
    return LinkOffer(
        url=f"{settings.public_url}/pay/{token}",
        token=token,
        amount=euros(amount_cents),
        expires_at=link.expires_at,
        invoice_numbers=[invoice.number for invoice in invoices],
    )


def _reusable_link(session, customer_id, invoices, amount_cents, now, instalment_id=None) -> PaymentLink | None:
    wanted = {invoice.id for invoice in invoices}
    candidates = session.execute(
        select(PaymentLink)
        .where(
            PaymentLink.customer_id == customer_id,
            PaymentLink.status == LinkStatus.OPEN,
            PaymentLink.amount_cents == amount_cents,
            PaymentLink.instalment_id.is_(None) if instalment_id is None else PaymentLink.instalment_id == instalment_id,
            PaymentLink.expires_at > now + REUSE_MARGIN,
        )
        .options(selectinload(PaymentLink.invoices))
        .order_by(PaymentLink.id.desc())
    ).scalars()
    return next((link for link in candidates if {i.id for i in link.invoices} == wanted), None)


def _new_link(session, customer_id, invoices, amount_cents, settings, now, instalment_id=None) -> PaymentLink:
    link = PaymentLink(
        reference=secrets.token_urlsafe(12),
        customer_id=customer_id,
        amount_cents=amount_cents,
        instalment_id=instalment_id,
        created_at=now,
        expires_at=now + timedelta(days=settings.link_ttl_days),
        status=LinkStatus.OPEN,
        invoices=invoices,
    )
    session.add(link)
    session.flush()
    return link


def link_token(link: PaymentLink, secret: bytes) -> str:
    """reference.signature, the signature covering who, how much, which invoices and until when."""
    return f"{link.reference}.{sign(secret, *_signed_values(link))}"


def _signed_values(link: PaymentLink) -> tuple:
    numbers = ",".join(sorted(invoice.number for invoice in link.invoices))
    return link.reference, link.customer_id, link.amount_cents, int(link.expires_at.timestamp()), numbers, link.instalment_id


def note_opened(link: PaymentLink, now: datetime) -> None:
    """Remembers when the customer first saw the page behind the link (the 'opened' step of the figures)."""
    if link.first_opened_at is None:
        link.first_opened_at = now


def open_link(session: Session, token: str, settings: Settings, now: datetime) -> PaymentLink:
    """The link behind a token, if it can still be paid; LinkProblem says why not."""
    link = _signed_link(session, token, settings)
    if link is None:
        raise LinkProblem("unknown")
    if link.status == LinkStatus.PAID:
        raise LinkProblem("paid")
    if link.status == LinkStatus.REVOKED:
        raise LinkProblem("changed")
    if link.expires_at <= now:
        raise LinkProblem("expired")
    if link.instalment_id is not None:
        return _open_instalment_link(session, link)
    still_open = [open_cents(session, invoice) for invoice in link.invoices]
    if all(cents <= 0 for cents in still_open):
        raise LinkProblem("paid")
    if sum(still_open) != link.amount_cents or any(i.status == InvoiceStatus.CANCELLED for i in link.invoices):
        raise LinkProblem("changed")
    return link


def link_language(session: Session, token: str, settings: Settings) -> str | None:
    """The language of the customer a genuine link was made for, whether or not it can still be paid (its
    pages speak it); None for a token that is not one of ours."""
    link = _signed_link(session, token, settings)
    return link.customer.language if link is not None else None


def _signed_link(session: Session, token: str, settings: Settings) -> PaymentLink | None:
    """The link behind a token whose signature is ours, whatever its state."""
    reference, _, signature = (token or "").partition(".")
    link = session.execute(
        select(PaymentLink).where(PaymentLink.reference == reference).options(selectinload(PaymentLink.invoices))
    ).scalar_one_or_none() if reference and signature else None
    if link is None or not signature_matches(link_secret(settings), signature, *_signed_values(link)):
        return None
    return link


def reference_language(session: Session, reference: str | None) -> str | None:
    """The language of the customer of the link with this reference (a checkout's metadata names it)."""
    link = session.execute(select(PaymentLink).where(PaymentLink.reference == reference)).scalar_one_or_none() if reference else None
    return link.customer.language if link is not None else None


def _open_instalment_link(session: Session, link: PaymentLink) -> PaymentLink:
    """An instalment link stays good while its instalment still has exactly its amount to pay."""
    instalment = session.get(Instalment, link.instalment_id)
    left = instalment.amount_cents - instalment.paid_cents
    if left <= 0:
        raise LinkProblem("paid")
    if left != link.amount_cents or instalment.plan.status != PlanStatus.ACTIVE:
        raise LinkProblem("changed")
    return link
