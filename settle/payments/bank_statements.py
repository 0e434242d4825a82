"""Bank statements in: the booked credits of an ISO 20022 CAMT.053 statement, matched to invoices and recorded once.

A credit is matched by its Belgian structured communication; failing that, by a customer number in the
free text together with an amount that is exactly what one unpaid invoice has open (recorded, but flagged
for a person to check). Anything else is reported as unmatched and left for a person. Every recorded credit
carries a reference taken from the statement, so importing the same file again records nothing new.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml_safely
from sqlalchemy import select
from sqlalchemy.orm import Session

from settle.errors import StatementError
from settle.models import UNPAID_STATUSES, Customer, Invoice, InvoiceStatus, Payment, ReceivedPayment
from settle.money import CENT, format_euros, to_cents
from settle.payments.incoming import open_cents, receive_payment
from settle.payments.transfer import STRUCTURED, parse_structured_communication, structured_communication

CAMT_053 = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.\d{3}\.\d{2}$")
CUSTOMER_NUMBER = re.compile(r"(?<!\d)5\d{7}(?!\d)")
INVOICE_NUMBER = "INV-{year}-{sequence}"  # settle.tooling.seed.InvoiceNumbers: the ten digits are YYYYNNNNNN
REFERENCE_PREFIX = "camt:"
#: receive_payment keeps the first 70 characters of the reference in each Payment's unique reference.
MAX_REFERENCE = 70
#: ReceivedPayment.review_reason holds 200 characters, and receive_payment may append to ours.
MAX_REVIEW_REASON = 150
NOT_PROVIDED = "NOTPROVIDED"



@dataclass(frozen=True)
class StatementCredit:
    """One booked credit as the statement tells it, before it is matched to anything."""

    reference: str  # the external reference it is recorded under: "camt:" + a key from the statement
    amount: Decimal
    currency: str
    booked_on: date
    structured_reference: str | None  # RmtInf/Strd/CdtrRefInf/Ref
    unstructured: str  # RmtInf/Ustrd lines, or the entry's additional information when there are none
    debtor_name: str | None
    problem: str | None = None  # why it cannot be matched automatically whatever it says


@dataclass(frozen=True)
class ImportedCredit:
    """One line of the import report."""

    amount: Decimal
    currency: str
    booked_on: date
    reference: str
    communication: str | None  # +++…+++ when one was recognised, else the free text
    debtor_name: str | None
    invoice_number: str | None = None
    reason: str | None = None


@dataclass
class ImportReport:
    matched: list[ImportedCredit] = field(default_factory=list)
    matched_for_review: list[ImportedCredit] = field(default_factory=list)
    already_imported: list[ImportedCredit] = field(default_factory=list)
    unmatched: list[ImportedCredit] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log or the command line: counts and amounts of each outcome."""
        groups = [
            ("matched", self.matched),
            ("matched for review", self.matched_for_review),
            ("already imported", self.already_imported),
            ("unmatched", self.unmatched),
        ]
        total = sum(len(items) for _, items in groups)
        parts = [f"{len(items)} {label} ({_amounts(items)})" for label, items in groups]
        return f"{total} booked credit{'' if total == 1 else 's'}: " + ", ".join(parts)


def import_statement(session: Session, xml: bytes, now: datetime) -> ImportReport:
    """Records the booked credits of a CAMT.053 statement that match an invoice, once each.

    The whole file is read and checked before anything is recorded, so a malformed file raises
    StatementError with nothing written. `now` dates an entry that has neither booking nor value date.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    credits = read_credits(xml, today=now.astimezone(timezone.utc).date())
    report = ImportReport()
    for credit in credits:
        _import_credit(session, credit, report)
    session.flush()
    return report


def read_credits(xml: bytes, today: date) -> list[StatementCredit]:
    """The booked credits of a CAMT.053 statement (any version), in file order; debits and pending entries left out."""
    root = _parse(xml)
    namespace, local = _split(root.tag)
    if local != "Document" or not CAMT_053.match(namespace):
        raise StatementError(
            f"not a CAMT.053 bank statement: the root element is <{local}> in namespace {namespace or '(none)'!r}"
        )
    body = _child(root, "BkToCstmrStmt")
    statements = _children(body, "Stmt") if body is not None else []
    if not statements:
        raise StatementError("the CAMT.053 document has no statement (BkToCstmrStmt/Stmt)")
    keys: Counter[str] = Counter()
    credits = []
    for statement in statements:
        for credit in _statement_credits(statement, today):
            keys[credit.reference] += 1
            if keys[credit.reference] > 1:  # the same key twice in one file: distinct credits, told apart by order
                credit = replace(credit, reference=f"{credit.reference}#{keys[credit.reference]}")
            credits.append(replace(credit, reference=_external_reference(credit.reference)))
    return credits


def _parse(xml: bytes):
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        return parse_xml_safely(bytes(xml), forbid_dtd=True)
    except DefusedXmlException as error:
        raise StatementError(
            f"refused as unsafe XML ({type(error).__name__}): a bank statement never declares a DTD or entities"
        ) from None
    except ParseError as error:
        raise StatementError(f"not a readable XML file: {error}") from None


def _statement_credits(statement, today: date) -> list[StatementCredit]:
    statement_id = _text(statement, "Id")
    if not statement_id:
        raise StatementError("a statement has no identification (Stmt/Id)")
    account = re.sub(r"\s+", "", _text(statement, "Acct", "Id", "IBAN") or _text(statement, "Acct", "Id", "Othr", "Id") or "")
    credits = []
    for number, entry in enumerate(_children(statement, "Ntry"), start=1):
        where = f"entry {number} of statement {statement_id}"
        indicator = _text(entry, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise StatementError(f"{where}: CdtDbtInd is {indicator!r}, not CRDT or DBIT")
        status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
        if not status:
            raise StatementError(f"{where} has no status (Sts)")
        if indicator != "CRDT" or status != "BOOK":
            continue
        credits.extend(_entry_credits(entry, where, account, statement_id, today))
    return credits


def _entry_credits(entry, where: str, account: str, statement_id: str, today: date) -> list[StatementCredit]:
    amount, currency = _amount(_child(entry, "Amt"), where)
    booked_on = _date(entry, "BookgDt", where) or _date(entry, "ValDt", where) or today
    transactions = [tx for details in _children(entry, "NtryDtls") for tx in _children(details, "TxDtls")]
    problem = "reversal of an earlier debit" if (_text(entry, "RvslInd") or "").lower() in ("true", "1") else None
    common: dict[str, Any] = {"booked_on": booked_on, "problem": problem}

    if len(transactions) > 1:
        found = [_transaction_amount(tx, where) for tx in transactions]
        amounts = [pair for pair in found if pair is not None]
        entry_key = _entry_key(entry, account, statement_id)
        if len(amounts) == len(found) and sum(a for a, _ in amounts) == amount and all(c == currency for _, c in amounts):
            return [
                StatementCredit(
                    reference=_reference_of(tx, account) or f"{entry_key}/{index}",
                    amount=tx_amount,
                    currency=tx_currency,
                    **_remittance(tx, entry),
                    **common,
                )
                for index, (tx, (tx_amount, tx_currency)) in enumerate(zip(transactions, amounts, strict=True), start=1)
            ]
        return [
            StatementCredit(
                reference=entry_key, amount=amount, currency=currency, structured_reference=None,
                unstructured=_text(entry, "AddtlNtryInf") or "", debtor_name=None, booked_on=booked_on,
                problem=f"a batch of {len(transactions)} transfers whose amounts cannot be told apart",
            )
        ]

    transaction = transactions[0] if transactions else None
    reference = (
        _entry_reference(entry, account, statement_id)
        or (transaction is not None and _reference_of(transaction, account))
        or (transaction is not None and _qualified(account, statement_id, "e2e", _end_to_end(transaction)))
        or _hashed(entry, account)
    )
    return [StatementCredit(reference=reference, amount=amount, currency=currency, **_remittance(transaction, entry), **common)]


def _entry_key(entry, account: str, statement_id: str) -> str:
    """A key for the entry from its own references, or from its content."""
    return _entry_reference(entry, account, statement_id) or _hashed(entry, account)


def _entry_reference(entry, account: str, statement_id: str) -> str | None:
    """The bank's reference for the entry, else the entry's reference within its statement."""
    return _qualified(account, _text(entry, "AcctSvcrRef")) or _qualified(account, statement_id, _text(entry, "NtryRef"))


def _reference_of(transaction, account: str) -> str | None:
    """The bank's own reference for one transaction, unique at that bank."""
    return _qualified(account, _text(transaction, "Refs", "AcctSvcrRef"))


def _end_to_end(transaction) -> str | None:
    value = _text(transaction, "Refs", "EndToEndId")
    return None if not value or value.upper() == NOT_PROVIDED else value


def _qualified(*parts: str | None) -> str | None:
    """Parts joined with ':' when the last one is there. Account servicer references are unique per bank
    account; entry references and end-to-end ids only within a statement, so those carry its id."""
    return ":".join(part or "" for part in parts) if parts[-1] else None


def _hashed(entry, account: str) -> str:
    """The entry's content, canonicalised: the same entry read again from the same file gives the same key."""
    canonical = ElementTree.canonicalize(ElementTree.tostring(entry, encoding="unicode"), strip_text=True)
    return f"{account}:sha256:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:32]}"


def _external_reference(key: str) -> str:
    """"camt:" + key, or + a digest of it when the key is too long to stay unique in a Payment's reference."""
    reference = REFERENCE_PREFIX + key
    if len(reference) <= MAX_REFERENCE:
        return reference
    return f"{REFERENCE_PREFIX}sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}"


def _remittance(transaction, entry) -> dict[str, Any]:
    """What the payer wrote and who the payer is, from one transaction's details."""
    remittance = _child(transaction, "RmtInf") if transaction is not None else None
    structured = None
    unstructured = ""
    if remittance is not None:
        references = [
            _text(strd, "CdtrRefInf", "Ref") for strd in _children(remittance, "Strd") if _text(strd, "CdtrRefInf", "Ref")
        ]
        structured = references[0] if references else None
        unstructured = " ".join(text for text in (_text_of(u) for u in _children(remittance, "Ustrd")) if text)
    else:
        unstructured = _text(entry, "AddtlNtryInf") or ""
    debtor = _path(transaction, "RltdPties", "Dbtr") if transaction is not None else None
    names = [_text_of(element) for element in debtor.iter() if _split(element.tag)[1] == "Nm"] if debtor is not None else []
    return {"structured_reference": structured, "unstructured": unstructured, "debtor_name": next(filter(None, names), None)}


def _amount(element, where: str) -> tuple[Decimal, str]:
    if element is None:
        raise StatementError(f"{where} has no amount (Amt)")
    try:
        amount = Decimal(_text_of(element) or "")
    except InvalidOperation:
        raise StatementError(f"{where}: {_text_of(element)!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise StatementError(f"{where}: {amount} is not an amount")
    currency = (element.get("Ccy") or "").strip().upper()
    if not currency:
        raise StatementError(f"{where}: the amount has no currency (Ccy)")
    return amount, currency


def _transaction_amount(transaction, where: str) -> tuple[Decimal, str] | None:
    element = _child(transaction, "Amt")
    if element is None:
        element = _path(transaction, "AmtDtls", "TxAmt", "Amt")
    return _amount(element, where) if element is not None else None


def _date(entry, name: str, where: str) -> date | None:
    container = _child(entry, name)
    if container is None:
        return None
    value = _text(container, "Dt") or _text(container, "DtTm")
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])  # the date as the bank wrote it, before any time or offset
    except ValueError:
        raise StatementError(f"{where}: {name} {value!r} is not a date") from None


# -- matching ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    invoice: Invoice | None
    communication: str | None
    reason: str | None  # why it needs review when matched, why not when unmatched


def _import_credit(session: Session, credit: StatementCredit, report: ImportReport) -> None:
    recorded = session.execute(
        select(ReceivedPayment).where(ReceivedPayment.external_reference == credit.reference)
    ).scalar_one_or_none()
    if recorded is not None:
        report.already_imported.append(_line(credit, _communication(credit)[0], _invoice_number(session, recorded),
                                             f"already imported as {credit.reference}"))
        return
    match = _match(session, credit)
    if match.invoice is None:
        report.unmatched.append(_line(credit, match.communication, None, match.reason))
        return
    receipt = receive_payment(
        session,
        external_reference=credit.reference,
        source="bank_statement",
        method="bank_transfer",
        amount_cents=to_cents(credit.amount),
        received_at=datetime.combine(credit.booked_on, time(0, 0), tzinfo=timezone.utc),
        invoices=[match.invoice],
        customer_id=match.invoice.customer_id,
        review_reason=_shortened(match.reason) if match.reason else None,
    )
    line = _line(credit, match.communication, match.invoice.number, receipt.received.review_reason)
    if not receipt.is_new:  # recorded by another import at the same moment
        report.already_imported.append(line)
    elif receipt.received.needs_review:
        report.matched_for_review.append(line)
    else:
        report.matched.append(line)


def _match(session: Session, credit: StatementCredit) -> _Match:
    communication, problem = _communication(credit)
    if credit.problem:
        return _Match(None, communication, credit.problem)
    if credit.currency != "EUR":
        return _Match(None, communication, f"the amount is in {credit.currency}, not EUR")
    if credit.amount != credit.amount.quantize(CENT) or credit.amount <= 0:
        return _Match(None, communication, f"{credit.amount} is not an amount in euros and cents")
    reasons = [problem] if problem else []
    if communication:
        invoice = _invoice_with(session, communication)
        if invoice is not None:
            status = InvoiceStatus(invoice.status)
            review = None
            if status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.IN_PLAN):
                review = f"invoice {invoice.number} was already {status.value} when this transfer came in"
            return _Match(invoice, communication, review)
        reasons.append(f"no invoice has the structured communication {communication}")
    return _match_by_customer(session, credit, communication, reasons)


def _communication(credit: StatementCredit) -> tuple[str | None, str | None]:
    """The structured communication the payer gave (+++…+++), or None and why none was found."""
    problems = []
    for label, text in (("structured reference", credit.structured_reference), ("free text", credit.unstructured)):
        if not text:
            continue
        digits = parse_structured_communication(text)
        if digits:
            return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++", None
        written = STRUCTURED.search(text)
        bare = re.sub(r"\D", "", text)
        if written or len(bare) == 12:
            shown = written.group(0) if written else bare
            problems.append(f"the {label} {shown} has wrong check digits")
        elif label == "structured reference":
            problems.append(f"the structured reference {text!r} is not a Belgian structured communication")
    return None, "; ".join(problems) or "no structured communication"


def _invoice_with(session: Session, communication: str) -> Invoice | None:
    """The invoice whose structured communication this is: its number is read back from the ten digits."""
    digits = re.sub(r"\D", "", communication)[:10]
    number = INVOICE_NUMBER.format(year=digits[:4], sequence=digits[4:])
    invoice = session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
    return invoice if invoice is not None and structured_communication(invoice.number) == communication else None


def _match_by_customer(session: Session, credit: StatementCredit, communication: str | None, reasons: list[str]) -> _Match:
    """A customer number in the free text and exactly one unpaid invoice of theirs with this amount open."""
    numbers = sorted(set(CUSTOMER_NUMBER.findall(credit.unstructured)))
    if not numbers:
        reasons.append("no customer number in the free text")
        return _Match(None, communication, "; ".join(reasons))
    customers = session.execute(select(Customer).where(Customer.customer_number.in_(numbers))).scalars().all()
    if not customers:
        reasons.append(f"no customer has number {', '.join(numbers)}")
        return _Match(None, communication, "; ".join(reasons))
    cents = to_cents(credit.amount)
    fitting = [
        (customer, invoice)
        for customer in customers
        for invoice in session.execute(
            select(Invoice)
            .where(Invoice.customer_id == customer.id, Invoice.status.in_(UNPAID_STATUSES))
            .order_by(Invoice.due_date, Invoice.id)
        ).scalars().all()
        if open_cents(session, invoice) == cents
    ]
    found = ", ".join(customer.customer_number for customer in customers)
    if len(fitting) == 1:
        customer, invoice = fitting[0]
        reasons.append(f"matched on customer {customer.customer_number} and the amount open on {invoice.number}")
        return _Match(invoice, communication, "; ".join(reasons))
    if not fitting:
        reasons.append(f"customer {found} has no unpaid invoice with exactly {format_euros(credit.amount)} open")
    else:
        reasons.append(f"{len(fitting)} unpaid invoices of customer {found} have exactly {format_euros(credit.amount)} open")
    return _Match(None, communication, "; ".join(reasons))


def _invoice_number(session: Session, recorded: ReceivedPayment) -> str | None:
    return session.execute(
        select(Invoice.number)
        .join(Payment, Payment.invoice_id == Invoice.id)
        .where(Payment.received_payment_id == recorded.id)
        .order_by(Payment.id)
        .limit(1)
    ).scalar_one_or_none()


def _line(credit: StatementCredit, communication: str | None, invoice_number: str | None, reason: str | None) -> ImportedCredit:
    return ImportedCredit(
        amount=credit.amount,
        currency=credit.currency,
        booked_on=credit.booked_on,
        reference=credit.reference,
        communication=communication or credit.structured_reference or credit.unstructured or None,
        debtor_name=credit.debtor_name,
        invoice_number=invoice_number,
        reason=reason,
    )


def _shortened(reason: str) -> str:
    return reason if len(reason) <= MAX_REVIEW_REASON else reason[: MAX_REVIEW_REASON - 1] + "…"


def _amounts(items: list[ImportedCredit]) -> str:
    by_currency: dict[str, Decimal] = {}
    for item in items:
        by_currency[item.currency] = by_currency.get(item.currency, Decimal(0)) + item.amount
    if not by_currency:
        return format_euros(Decimal("0.00"))
    return ", ".join(format_euros(total) if currency == "EUR" else f"{currency} {total:,.2f}" for currency, total in by_currency.items())


# -- reading elements by local name, whatever the version's namespace ------------------------------------


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _children(element, name: str) -> list:
    return [child for child in element if isinstance(child.tag, str) and _split(child.tag)[1] == name]


def _child(element, name: str):
    children = _children(element, name) if element is not None else []
    return children[0] if children else None


def _path(element, *names: str):
    for name in names:
        element = _child(element, name)
        if element is None:
            return None
    return element


def _text_of(element) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip() or None


def _text(element, *names: str) -> str | None:
    return _text_of(_path(element, *names))
