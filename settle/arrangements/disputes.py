"""Disputing a bill: the customer's own words are kept, the bill is put on hold (reminders and
default payment links skip disputed invoices) and a person is asked to look at it."""
from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from settle.errors import AlreadyDisputed, InvoiceNotFound, UnusableDisputeReason
from settle.handoff.escalations import escalate
from settle.identity.privacy import mask_card_numbers
from settle.models import Dispute, DisputeStatus, EscalationReason, Invoice, InvoiceStatus
from settle.money import euros
from settle.words import plain

#: How many bills to offer when asking "which bill?".
DISPUTABLE_LIMIT = 6
#: The longest reason kept; what is longer is cut, since a person will talk to the customer anyway.
MAX_REASON_LENGTH = 1000
#: The shortest reason taken: "no" or "?" tells the person who looks at the bill nothing.
MIN_REASON_LENGTH = 3
#: What joins "my bill is wrong" to what is wrong with it: "my last bill is wrong, you charged me twice".
_SAYS_WHY = re.compile(r"[,:;]|\s-\s|\b(?:because|since|as|omdat|want|aangezien|parce\s+que|car|puisque)\b")
#: How many words after it make a description a person can act on ("you charged me twice" has four).
MIN_WORDS_OF_WHY = 3
#: "whats happening with my complaint", "hoe staat het met mijn klacht", "où en est ma réclamation".
_ONE_OF_THEIRS = re.compile(
    r"\b(?:my|mijn|ma|mon)\s+(?:complaint|dispute|claim|klacht|betwisting|plainte|contestation|reclamation)\b"
)
_HOW_IT_STANDS = re.compile(
    r"\b(?:happening|happened|status|news|update|heard|going\s+on|gebeurt|gebeurd|nieuws|staat|stand|"
    r"nouvelles|ou\s+en\s+est|suivi|avance)\b"
)
REFERENCE_PREFIX = "DSP-"
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits


def disputable_invoices(session: Session, customer_id: int) -> list[Invoice]:
    """The customer's latest bills that can still be disputed, newest first, for asking "which bill?"."""
    return list(
        session.execute(
            select(Invoice)
            .where(
                Invoice.customer_id == customer_id,
                Invoice.status.not_in((InvoiceStatus.CANCELLED, InvoiceStatus.DISPUTED)),
                ~_open_dispute_exists(),
            )
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
            .limit(DISPUTABLE_LIMIT)
        ).scalars()
    )


def matching_invoice_number(numbers: list[str], typed: str) -> str | None:
    """The bill the customer means among `numbers`: typed exactly, or inside what they typed, any case."""
    typed = (typed or "").strip().upper()
    return next((number for number in numbers if number == typed or number in typed), None)


def reason_in_request(message: str) -> str | None:
    """The whole message as the reason when the request to dispute already says what is wrong ("my last bill is
    wrong, you charged me for a meter replacement i never had"), so it is not asked again; None for a request alone."""
    joined = _SAYS_WHY.search(message or "")
    if joined is None or len(message[joined.end():].split()) < MIN_WORDS_OF_WHY:
        return None
    return message.strip()


def asks_how_a_dispute_stands(message: str) -> bool:
    """Whether the message asks about a complaint already made rather than making one."""
    words = plain(message or "")
    return bool(_ONE_OF_THEIRS.search(words) and _HOW_IT_STANDS.search(words))


def under_open_dispute(session: Session, customer_id: int) -> list[str]:
    """The numbers of the customer's bills on hold for a dispute, the newest bill first."""
    return list(session.execute(
        select(Invoice.number)
        .where(Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.DISPUTED)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    ).scalars())


def check_reason(reason: str) -> str:
    """The customer's reason, if it can be kept where agents read it.

    Raises:
        UnusableDisputeReason: it holds a payment card number, or is shorter than three characters.
    """
    if mask_card_numbers(reason)[1]:
        raise UnusableDisputeReason("card_number")
    if len((reason or "").strip()) < MIN_REASON_LENGTH:
        raise UnusableDisputeReason("too_short")
    return reason


def open_dispute(
    session: Session,
    customer_id: int,
    invoice_number: str | None,
    reason: str,
    conversation_id: str,
    now: datetime,
) -> Dispute:
    """Records the customer's dispute of one bill (None: the latest), puts the bill on hold and escalates it.

    Raises:
        UnusableDisputeReason: the reason holds a card number or is too short (see `check_reason`).
        InvoiceNotFound: no such invoice for this customer (or no invoice at all).
        AlreadyDisputed: the invoice is disputed already; carries the existing reference.
    """
    reason = _clean_reason(check_reason(reason))
    invoice = _invoice_to_dispute(session, customer_id, invoice_number)
    existing = session.execute(
        select(Dispute.reference)
        .where(Dispute.invoice_id == invoice.id, Dispute.status == DisputeStatus.OPEN)
        .order_by(Dispute.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None or invoice.status == InvoiceStatus.DISPUTED:
        raise AlreadyDisputed(existing)
    dispute = Dispute(
        reference=_new_reference(session),
        invoice_id=invoice.id,
        customer_id=customer_id,
        reason=reason,
        status=DisputeStatus.OPEN,
        previous_invoice_status=invoice.status,
        created_at=now,
    )
    session.add(dispute)
    invoice.status = InvoiceStatus.DISPUTED
    session.flush()
    escalate(
        session,
        EscalationReason.DISPUTE,
        conversation_id,
        customer_id,
        {
            "invoice_number": invoice.number,
            "amount": str(euros(invoice.total_cents)),
            "due_date": invoice.due_date.isoformat(),
            "dispute_reference": dispute.reference,
            "reason": reason,
        },
        now,
    )
    return dispute


def _clean_reason(reason: str) -> str:
    """One space between words, at most MAX_REASON_LENGTH characters."""
    return " ".join(reason.split())[:MAX_REASON_LENGTH].rstrip()


def _invoice_to_dispute(session: Session, customer_id: int, invoice_number: str | None) -> Invoice:
    query = select(Invoice).where(Invoice.customer_id == customer_id)
    if invoice_number is None:
        query = query.where(Invoice.status != InvoiceStatus.CANCELLED).order_by(
            Invoice.issue_date.desc(), Invoice.id.desc()
        ).limit(1)
    else:
        query = query.where(Invoice.number == invoice_number.strip().upper())
    invoice = session.execute(query).scalar_one_or_none()
    if invoice is None:
        raise InvoiceNotFound(invoice_number)
    return invoice


def _open_dispute_exists():
    return exists().where(Dispute.invoice_id == Invoice.id, Dispute.status == DisputeStatus.OPEN)


def _new_reference(session: Session) -> str:
    """DSP- and six random capitals or digits, not used before."""
    while True:
        reference = REFERENCE_PREFIX + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
        taken = session.execute(select(Dispute.id).where(Dispute.reference == reference)).first()
        if taken is None:
            return reference
