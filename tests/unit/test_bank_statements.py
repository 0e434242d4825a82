"""Importing CAMT.053 bank statements: booked credits matched to the seeded invoices, recorded once.

Statements are built here by a small builder; expected amounts are read from the database with plain SQL.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import Integer, String, func, select, text

from settle.errors import StatementError
from settle.models import Payment, ReceivedPayment
from settle.payments.bank_statements import import_statement
from settle.payments.transfer import structured_communication
from settle.tooling.seed import PERSONAS

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
BOOKED = date(2026, 11, 20)
COMPANY_IBAN = "BE71096123456769"
V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
V08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
PERSONA_NUMBER = {p.shape: p.customer_number for p in PERSONAS}


# -- a small CAMT.053 builder ----------------------------------------------------------------------------


@dataclass
class Entry:
    amount: Decimal
    strd: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref
    ustrd: str | None = None  # RmtInf/Ustrd
    indicator: str = "CRDT"
    status: str = "BOOK"
    currency: str = "EUR"
    booked: str | None = BOOKED.isoformat()
    booked_as_date_time: bool = False
    servicer_reference: str | None = field(default_factory=lambda: f"ASR-{uuid.uuid4().hex[:20]}")
    entry_reference: str | None = None
    end_to_end: str | None = None
    debtor: str | None = "A. Payer"
    reversal: bool = False
    transactions: list[Entry] | None = None  # a batch: several TxDtls under one entry


def camt053(*entries: Entry, namespace: str = V02, statement_id: str = "STMT-2026-11-20") -> bytes:
    """A CAMT.053 document of one statement holding the entries, in the namespace's version."""
    new = namespace == V08
    body = "".join(_entry(e, new) for e in entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-11-21T06:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2026-11-21T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{COMPANY_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{body}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()


def _entry(e: Entry, new: bool) -> str:
    status = f"<Sts><Cd>{e.status}</Cd></Sts>" if new else f"<Sts>{e.status}</Sts>"
    booked = ""
    if e.booked:
        booked = f"<BookgDt><DtTm>{e.booked}T10:15:00+01:00</DtTm></BookgDt>" if e.booked_as_date_time else f"<BookgDt><Dt>{e.booked}</Dt></BookgDt>"
    transactions = e.transactions if e.transactions is not None else [e]
    return (
        "<Ntry>"
        + (f"<NtryRef>{e.entry_reference}</NtryRef>" if e.entry_reference else "")
        + f'<Amt Ccy="{e.currency}">{e.amount}</Amt><CdtDbtInd>{e.indicator}</CdtDbtInd>'
        + ("<RvslInd>true</RvslInd>" if e.reversal else "")
        + f"{status}{booked}<ValDt><Dt>{BOOKED.isoformat()}</Dt></ValDt>"
        + (f"<AcctSvcrRef>{e.servicer_reference}</AcctSvcrRef>" if e.servicer_reference and e.transactions is None else "")
        + "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        + "<NtryDtls>"
        + "".join(_transaction(t, new, batch=e.transactions is not None) for t in transactions)
        + "</NtryDtls></Ntry>"
    )


def _transaction(t: Entry, new: bool, batch: bool) -> str:
    refs = ""
    if batch and t.servicer_reference:
        refs += f"<AcctSvcrRef>{t.servicer_reference}</AcctSvcrRef>"
    if t.end_to_end:
        refs += f"<EndToEndId>{t.end_to_end}</EndToEndId>"
    amount = ""
    if batch:
        amount = (f'<Amt Ccy="{t.currency}">{t.amount}</Amt>' if new
                  else f'<AmtDtls><TxAmt><Amt Ccy="{t.currency}">{t.amount}</Amt></TxAmt></AmtDtls>')
    debtor = ""
    if t.debtor:
        name = f"<Pty><Nm>{escape(t.debtor)}</Nm></Pty>" if new else f"<Nm>{escape(t.debtor)}</Nm>"
        debtor = f"<RltdPties><Dbtr>{name}</Dbtr></RltdPties>"
    remittance = ""
    if t.strd or t.ustrd:
        remittance = "<RmtInf>"
        if t.ustrd:
            remittance += f"<Ustrd>{escape(t.ustrd)}</Ustrd>"
        if t.strd:
            remittance += (
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
                f"<Ref>{escape(t.strd)}</Ref></CdtrRefInf></Strd>"
            )
        remittance += "</RmtInf>"
    return f"<TxDtls>{f'<Refs>{refs}</Refs>' if refs else ''}{amount}{debtor}{remittance}</TxDtls>"


def bare(communication: str) -> str:
    """+++123/4567/89012+++ as the twelve digits banks put in Strd/CdtrRefInf/Ref."""
    return "".join(c for c in communication if c.isdigit())


# -- reading the database with plain SQL -------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    id: int
    number: str
    customer_id: int
    open_cents: int
    status: str

    @property
    def amount(self) -> Decimal:
        return Decimal(self.open_cents) / 100


def unpaid_invoices(session, shape: str) -> list[Open]:
    """The persona's unpaid invoices with what is open on each, oldest due date first."""
    query = text(
        """
        SELECT i.id, i.number, i.customer_id,
               i.total_cents - COALESCE((SELECT SUM(p.amount_cents) FROM payments p WHERE p.invoice_id = i.id), 0),
               i.status
        FROM invoices i JOIN customers c ON c.id = i.customer_id
        WHERE c.customer_number = :number AND i.status IN ('open', 'partially_paid', 'disputed', 'in_plan')
        ORDER BY i.due_date, i.id
        """
    ).columns(id=Integer, number=String, customer_id=Integer, open_cents=Integer, status=String)
    return [Open(*row) for row in session.execute(query, {"number": PERSONA_NUMBER[shape]})]


def invoice_state(session, invoice_id: int) -> tuple[str, int]:
    """(status, open cents) of one invoice, by plain SQL."""
    row = session.execute(
        text(
            "SELECT i.status, i.total_cents - COALESCE((SELECT SUM(p.amount_cents) FROM payments p"
            " WHERE p.invoice_id = i.id), 0) FROM invoices i WHERE i.id = :id"
        ),
        {"id": invoice_id},
    ).one()
    return row[0], row[1]


def counts(session) -> tuple[int, int]:
    return (
        session.execute(select(func.count()).select_from(ReceivedPayment)).scalar_one(),
        session.execute(select(func.count()).select_from(Payment)).scalar_one(),
    )


def received(session, invoice_id: int) -> list[ReceivedPayment]:
    return session.execute(
        select(ReceivedPayment).join(Payment).where(Payment.invoice_id == invoice_id, ReceivedPayment.source == "bank_statement")
    ).scalars().all()


# -- matching by structured communication ---------------------------------------------------------------


@pytest.mark.parametrize("namespace", [V02, V08], ids=["camt.053.001.02", "camt.053.001.08"])
def test_a_credit_with_the_structured_communication_in_strd_pays_the_invoice(session, namespace):
    invoice = unpaid_invoices(session, "usage_up")[-1]
    communication = structured_communication(invoice.number)
    before = counts(session)

    report = import_statement(session, camt053(Entry(invoice.amount, strd=bare(communication), debtor="Emma Peeters"), namespace=namespace), NOW)

    assert [line.invoice_number for line in report.matched] == [invoice.number]
    assert report.matched_for_review == report.already_imported == report.unmatched == []
    line = report.matched[0]
    assert (line.amount, line.booked_on, line.communication, line.debtor_name) == (invoice.amount, BOOKED, communication, "Emma Peeters")
    assert invoice_state(session, invoice.id) == ("paid", 0)
    assert counts(session) == (before[0] + 1, before[1] + 1)
    [money_in] = received(session, invoice.id)
    assert money_in.source == "bank_statement" and money_in.method == "bank_transfer"
    assert money_in.amount_cents == invoice.open_cents
    assert money_in.customer_id == invoice.customer_id
    assert money_in.received_at == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert money_in.external_reference == line.reference and line.reference.startswith("camt:")
    assert not money_in.needs_review
    [payment] = money_in.allocations
    assert (payment.invoice_id, payment.amount_cents, payment.method) == (invoice.id, invoice.open_cents, "bank_transfer")


@pytest.mark.parametrize(
    "write",
    [lambda c: c, lambda c: f"Betaling factuur {c} dank u", lambda c: c.replace("+", "*"), lambda c: bare(c)],
    ids=["plus-signs", "inside-a-sentence", "asterisks", "bare-digits"],
)
def test_the_structured_communication_in_ustrd_works_too(session, write):
    invoice = unpaid_invoices(session, "price_up")[-1]
    communication = structured_communication(invoice.number)

    report = import_statement(session, camt053(Entry(invoice.amount, ustrd=write(communication))), NOW)

    assert [line.invoice_number for line in report.matched] == [invoice.number]
    assert report.matched[0].communication == communication
    assert invoice_state(session, invoice.id) == ("paid", 0)


def test_a_booking_date_given_as_date_and_time_is_used_at_midnight_utc(session):
    invoice = unpaid_invoices(session, "price_up")[-1]
    entry = Entry(invoice.amount, strd=bare(structured_communication(invoice.number)), booked="2026-11-19", booked_as_date_time=True)

    import_statement(session, camt053(entry, namespace=V08), NOW)

    [money_in] = received(session, invoice.id)
    assert money_in.received_at == datetime(2026, 11, 19, tzinfo=timezone.utc)


def test_part_of_the_amount_leaves_the_invoice_partially_paid(session):
    invoice = unpaid_invoices(session, "one_off")[-1]
    part = (invoice.amount / 3).quantize(Decimal("0.01"))

    report = import_statement(session, camt053(Entry(part, strd=bare(structured_communication(invoice.number)))), NOW)

    assert [line.invoice_number for line in report.matched] == [invoice.number]
    assert invoice_state(session, invoice.id) == ("partially_paid", invoice.open_cents - int(part * 100))


def test_the_rest_of_a_partly_paid_invoice_pays_it(session):
    [invoice] = unpaid_invoices(session, "partly_paid")
    assert invoice.status == "partially_paid"

    report = import_statement(session, camt053(Entry(invoice.amount, strd=bare(structured_communication(invoice.number)))), NOW)

    assert len(report.matched) == 1
    assert invoice_state(session, invoice.id) == ("paid", 0)


def test_more_than_is_open_is_recorded_and_flagged_for_review(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]
    paid = invoice.amount + Decimal("10.00")

    report = import_statement(session, camt053(Entry(paid, strd=bare(structured_communication(invoice.number)))), NOW)

    [line] = report.matched_for_review
    assert line.invoice_number == invoice.number
    assert "more than was open" in line.reason
    assert invoice_state(session, invoice.id) == ("paid", 0)
    [money_in] = received(session, invoice.id)
    assert money_in.amount_cents == invoice.open_cents + 1000 and money_in.needs_review


def test_paying_an_invoice_that_was_already_paid_is_recorded_for_review(session):
    number = session.execute(
        text(
            "SELECT i.number FROM invoices i JOIN customers c ON c.id = i.customer_id"
            " WHERE c.customer_number = :number ORDER BY i.due_date DESC LIMIT 1"
        ),
        {"number": PERSONA_NUMBER["all_paid"]},
    ).scalar_one()
    before = counts(session)

    report = import_statement(session, camt053(Entry(Decimal("50.00"), strd=bare(structured_communication(number)))), NOW)

    [line] = report.matched_for_review
    assert line.invoice_number == number
    assert "already paid" in line.reason
    assert counts(session) == (before[0] + 1, before[1])  # the money is kept, applied to nothing


# -- importing twice -------------------------------------------------------------------------------------


def test_importing_the_same_file_twice_records_nothing_new(session):
    overdue = unpaid_invoices(session, "overdue")
    invoice = unpaid_invoices(session, "usage_up")[-1]
    statement = camt053(
        Entry(invoice.amount, strd=bare(structured_communication(invoice.number))),
        Entry(overdue[0].amount, ustrd=f"klantnummer {PERSONA_NUMBER['overdue']}"),
        Entry(Decimal("3.00"), ustrd="no idea"),
    )
    first = import_statement(session, statement, NOW)
    after_first = counts(session)

    second = import_statement(session, statement, NOW)

    assert (len(first.matched), len(first.matched_for_review), len(first.unmatched)) == (1, 1, 1)
    assert counts(session) == after_first
    assert second.matched == second.matched_for_review == []
    assert sorted(line.invoice_number for line in second.already_imported) == sorted([invoice.number, overdue[0].number])
    assert len(second.unmatched) == 1  # still for a person to look at
    assert "1 matched" in first.summary() and "2 already imported" in second.summary()


def test_an_entry_without_any_reference_is_keyed_by_its_content(session):
    invoice = unpaid_invoices(session, "disputed")[-1]
    part = (invoice.amount / 4).quantize(Decimal("0.01"))
    twice = Entry(part, strd=bare(structured_communication(invoice.number)), servicer_reference=None)
    statement = camt053(twice, twice)  # two identical transfers on one day are two transfers

    first = import_statement(session, statement, NOW)
    second = import_statement(session, statement, NOW)

    assert len(first.matched) == 2 and len({line.reference for line in first.matched}) == 2
    assert len(second.already_imported) == 2 and second.matched == []
    assert invoice_state(session, invoice.id) == ("partially_paid", invoice.open_cents - 2 * int(part * 100))


def test_entry_references_of_different_statements_do_not_collide(session):
    invoice = unpaid_invoices(session, "disputed")[-1]
    part = (invoice.amount / 4).quantize(Decimal("0.01"))

    def statement(statement_id: str) -> bytes:
        entry = Entry(part, strd=bare(structured_communication(invoice.number)), servicer_reference=None, entry_reference="1")
        return camt053(entry, statement_id=statement_id)

    first = import_statement(session, statement("STMT-2026-11-19"), NOW)
    second = import_statement(session, statement("STMT-2026-11-20"), NOW)
    again = import_statement(session, statement("STMT-2026-11-20"), NOW)

    assert len(first.matched) == len(second.matched) == 1
    assert len(again.already_imported) == 1
    assert invoice_state(session, invoice.id)[1] == invoice.open_cents - 2 * int(part * 100)


def test_the_end_to_end_id_keys_an_entry_but_not_when_not_provided(session):
    invoice = unpaid_invoices(session, "disputed")[-1]
    part = (invoice.amount / 4).quantize(Decimal("0.01"))
    communication = bare(structured_communication(invoice.number))
    statement = camt053(
        Entry(part, strd=communication, servicer_reference=None, end_to_end="NOTPROVIDED", debtor="One"),
        Entry(part, strd=communication, servicer_reference=None, end_to_end="NOTPROVIDED", debtor="Two"),
        Entry(part, strd=communication, servicer_reference=None, end_to_end="E2E-42"),
    )

    report = import_statement(session, statement, NOW)

    assert len(report.matched) == 3
    assert any("E2E-42" in line.reference for line in report.matched)


# -- the fallback: customer number and exact amount ----------------------------------------------------------


def test_a_customer_number_and_the_exact_open_amount_match_for_review(session):
    overdue = unpaid_invoices(session, "overdue")
    assert len(overdue) == 2 and overdue[0].open_cents != overdue[1].open_cents
    number = PERSONA_NUMBER["overdue"]

    report = import_statement(session, camt053(Entry(overdue[1].amount, ustrd=f"Klant {number} elektriciteit")), NOW)

    [line] = report.matched_for_review
    assert line.invoice_number == overdue[1].number
    assert number in line.reason and overdue[1].number in line.reason
    assert invoice_state(session, overdue[1].id) == ("paid", 0)
    assert invoice_state(session, overdue[0].id) == (overdue[0].status, overdue[0].open_cents)
    [money_in] = received(session, overdue[1].id)
    assert money_in.needs_review and number in money_in.review_reason


def test_a_wrong_communication_falls_back_to_the_customer_number(session):
    overdue = unpaid_invoices(session, "overdue")
    digits = bare(structured_communication(overdue[0].number))
    wrong = f"+++{digits[:3]}/{digits[3:7]}/{digits[7:10]}{(int(digits[10:]) % 97) + 1:02d}+++"

    report = import_statement(session, camt053(Entry(overdue[0].amount, ustrd=f"{wrong} {PERSONA_NUMBER['overdue']}")), NOW)

    [line] = report.matched_for_review
    assert line.invoice_number == overdue[0].number
    assert "wrong check digits" in line.reason


def test_two_unpaid_invoices_with_the_same_open_amount_are_left_for_a_person(session):
    overdue = unpaid_invoices(session, "overdue")
    session.execute(
        text("UPDATE invoices SET total_cents = :total WHERE id = :id"),
        {"total": session.execute(text("SELECT total_cents FROM invoices WHERE id = :id"), {"id": overdue[0].id}).scalar_one(),
         "id": overdue[1].id},
    )
    session.expire_all()

    report = import_statement(session, camt053(Entry(overdue[0].amount, ustrd=PERSONA_NUMBER["overdue"])), NOW)

    [line] = report.unmatched
    assert "2 unpaid invoices" in line.reason


# -- what is left for a person ---------------------------------------------------------------------------------


def _unmatched_reason(session, entry: Entry) -> str:
    before = counts(session)
    report = import_statement(session, camt053(entry), NOW)
    assert report.matched == report.matched_for_review == report.already_imported == []
    assert counts(session) == before
    [line] = report.unmatched
    assert line.invoice_number is None
    return line.reason


def test_wrong_check_digits_are_unmatched(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]
    digits = bare(structured_communication(invoice.number))
    wrong = digits[:10] + f"{(int(digits[10:]) % 97) + 1:02d}"

    assert "wrong check digits" in _unmatched_reason(session, Entry(invoice.amount, strd=wrong))
    assert "wrong check digits" in _unmatched_reason(session, Entry(invoice.amount, ustrd=f"+++{wrong[:3]}/{wrong[3:7]}/{wrong[7:]}+++"))


def test_a_communication_of_no_invoice_is_unmatched(session):
    unknown = structured_communication("INV-2031-999999")

    reason = _unmatched_reason(session, Entry(Decimal("12.30"), strd=bare(unknown)))

    assert f"no invoice has the structured communication {unknown}" in reason


def test_a_creditor_reference_that_is_not_belgian_is_unmatched(session):
    assert "not a Belgian structured communication" in _unmatched_reason(session, Entry(Decimal("12.30"), strd="RF18539007547034"))


def test_an_amount_that_is_open_on_no_invoice_of_the_customer_is_unmatched(session):
    overdue = unpaid_invoices(session, "overdue")
    amount = overdue[0].amount + Decimal("0.01")

    reason = _unmatched_reason(session, Entry(amount, ustrd=f"klant {PERSONA_NUMBER['overdue']}"))

    assert "no unpaid invoice with exactly" in reason


def test_an_amount_without_communication_or_customer_number_is_unmatched(session):
    overdue = unpaid_invoices(session, "overdue")

    reason = _unmatched_reason(session, Entry(overdue[0].amount, ustrd="electricity november"))

    assert "no customer number" in reason


def test_an_unknown_customer_number_is_unmatched(session):
    assert "no customer has number 59999999" in _unmatched_reason(session, Entry(Decimal("10.00"), ustrd="client 59999999"))


def test_a_credit_in_another_currency_is_unmatched(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]

    reason = _unmatched_reason(session, Entry(invoice.amount, currency="USD", strd=bare(structured_communication(invoice.number))))

    assert "USD" in reason
    assert invoice_state(session, invoice.id) == ("open", invoice.open_cents)


def test_a_reversal_is_unmatched(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]

    reason = _unmatched_reason(session, Entry(invoice.amount, reversal=True, strd=bare(structured_communication(invoice.number))))

    assert "reversal" in reason


def test_debits_and_pending_credits_are_left_out(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]
    communication = bare(structured_communication(invoice.number))
    before = counts(session)

    report = import_statement(
        session,
        camt053(Entry(invoice.amount, indicator="DBIT", strd=communication), Entry(invoice.amount, status="PDNG", strd=communication)),
        NOW,
    )

    assert report.matched == report.matched_for_review == report.already_imported == report.unmatched == []
    assert counts(session) == before
    assert report.summary().startswith("0 booked credits")


def test_a_batch_entry_is_split_into_its_transfers(session):
    first = unpaid_invoices(session, "usage_up")[-1]
    second = unpaid_invoices(session, "price_up")[-1]
    batch = Entry(
        first.amount + second.amount,
        transactions=[
            Entry(first.amount, strd=bare(structured_communication(first.number))),
            Entry(second.amount, ustrd=structured_communication(second.number)),
        ],
    )

    report = import_statement(session, camt053(batch, namespace=V02), NOW)
    again_in_the_newer_version = import_statement(session, camt053(batch, namespace=V08), NOW)

    assert sorted(line.invoice_number for line in report.matched) == sorted([first.number, second.number])
    assert len(again_in_the_newer_version.already_imported) == 2
    assert invoice_state(session, first.id) == invoice_state(session, second.id) == ("paid", 0)


def test_a_batch_whose_amounts_do_not_add_up_is_unmatched(session):
    first = unpaid_invoices(session, "usage_up")[-1]
    batch = Entry(first.amount + Decimal("1.00"), transactions=[
        Entry(first.amount, strd=bare(structured_communication(first.number))),
        Entry(Decimal("2.00"), ustrd="other"),
    ])

    assert "batch" in _unmatched_reason(session, batch)


def test_the_summary_counts_and_adds_up_each_outcome(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]

    report = import_statement(
        session,
        camt053(Entry(invoice.amount, strd=bare(structured_communication(invoice.number))), Entry(Decimal("1234.50"), ustrd="?")),
        NOW,
    )

    assert report.summary() == (
        f"2 booked credits: 1 matched (€{invoice.amount:,.2f}), 0 matched for review (€0.00), "
        "0 already imported (€0.00), 1 unmatched (€1,234.50)"
    )


# -- files that are not statements ---------------------------------------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>
"""


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "not a readable XML"),
        (b"", "not a readable XML"),
        (b"Booking date;Amount;Communication\n2026-11-20;12.30;+++202/6000/12320+++\n", "not a readable XML"),
        (b"<html><body>statement</body></html>", "not a CAMT.053"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>', "not a CAMT.053"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn/></Document>', "not a CAMT.053"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>', "no statement"),
        (BILLION_LAUGHS, "unsafe XML"),
        (EXTERNAL_ENTITY, "unsafe XML"),
    ],
    ids=["binary", "empty", "csv", "html", "pain.001", "camt.054", "no-statement", "billion-laughs", "external-entity"],
)
def test_a_file_that_is_not_a_camt053_statement_is_refused(session, content, message):
    before = counts(session)

    with pytest.raises(StatementError, match=message):
        import_statement(session, content, NOW)

    assert counts(session) == before


def test_a_malformed_entry_refuses_the_whole_file_before_anything_is_recorded(session):
    invoice = unpaid_invoices(session, "usage_up")[-1]
    good = Entry(invoice.amount, strd=bare(structured_communication(invoice.number)))
    statement = camt053(good, Entry(Decimal("1.00"))).replace(b">1.00</Amt>", b">one euro</Amt>")
    before = counts(session)

    with pytest.raises(StatementError, match="not an amount"):
        import_statement(session, statement, NOW)

    assert counts(session) == before
    assert invoice_state(session, invoice.id) == ("open", invoice.open_cents)


def test_statement_error_is_a_value_error():
    assert issubclass(StatementError, ValueError)


def test_now_must_be_timezone_aware(session):
    with pytest.raises(ValueError, match="naive"):
        import_statement(session, camt053(), datetime(2026, 11, 22, 9, 0))
