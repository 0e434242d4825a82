"""Disputing a bill: only the customer's own bills, their words kept, the bill on hold, a person asked."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from settle.arrangements import disputes, services
from settle.arrangements.disputes import (
    check_reason,
    disputable_invoices,
    matching_invoice_number,
    open_dispute,
    reason_in_request,
)
from settle.clock import FixedClock
from settle.config import Settings
from settle.db import session_factory
from settle.errors import AlreadyDisputed, InvoiceNotFound, UnusableDisputeReason
from settle.models import Customer, Dispute, Escalation, Invoice, InvoiceStatus
from settle.tooling.seed import PERSONAS
from settle.unit_of_work import UnitOfWork
from tests.conftest import HISTORY_ENDS, seeded_sqlite

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
CONVERSATION = "conversation-disputes-1"


def invoices_of(session, customer_id: int) -> list[Invoice]:
    return session.execute(select(Invoice).where(Invoice.customer_id == customer_id)).scalars().all()


def latest_invoice(session, customer_id: int) -> Invoice:
    return max(invoices_of(session, customer_id), key=lambda invoice: (invoice.issue_date, invoice.id))


def count(session, model) -> int:
    """The rows the test stored (the demo history's are from before today)."""
    return session.execute(select(func.count()).select_from(model).where(model.created_at >= HISTORY_ENDS)).scalar_one()


def as_euro_string(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- which bill? ---------------------------------------------------------------------------------

def test_disputable_invoices_are_the_newest_six_not_cancelled_nor_disputed(session, persona_customer):
    louis = persona_customer("disputed")
    everything = invoices_of(session, louis.id)
    seeded_disputed = [i for i in everything if i.status == InvoiceStatus.DISPUTED]
    assert len(seeded_disputed) == 1
    expected = sorted(
        (i for i in everything if i.status not in (InvoiceStatus.CANCELLED, InvoiceStatus.DISPUTED)),
        key=lambda i: (i.issue_date, i.id),
        reverse=True,
    )[:6]
    found = disputable_invoices(session, louis.id)
    assert [i.number for i in found] == [i.number for i in expected]
    assert len(found) == 6
    assert seeded_disputed[0] not in found
    assert all(i.customer_id == louis.id for i in found)


def test_cancelled_and_just_disputed_bills_are_not_offered(session, persona_customer):
    lucas = persona_customer("overdue")
    before = disputable_invoices(session, lucas.id)
    before[0].status = InvoiceStatus.CANCELLED
    open_dispute(session, lucas.id, before[1].number, "Too high", CONVERSATION, NOW)
    after = [i.number for i in disputable_invoices(session, lucas.id)]
    assert before[0].number not in after
    assert before[1].number not in after
    assert len(after) == 6


def test_a_bill_with_an_open_dispute_is_not_offered_even_once_paid(session, persona_customer):
    lucas = persona_customer("overdue")
    latest = latest_invoice(session, lucas.id)
    open_dispute(session, lucas.id, latest.number, "Too high", CONVERSATION, NOW)
    latest.status = InvoiceStatus.PAID  # paid in full while the dispute is still open
    session.flush()
    assert latest.number not in [i.number for i in disputable_invoices(session, lucas.id)]


def test_nobody_has_no_disputable_bills(session):
    assert disputable_invoices(session, -1) == []


# --- opening a dispute ---------------------------------------------------------------------------

def test_a_dispute_of_the_latest_bill_puts_it_on_hold_and_asks_a_person(session, persona_customer):
    lucas = persona_customer("overdue")
    latest = latest_invoice(session, lucas.id)
    assert latest.status == InvoiceStatus.OPEN

    dispute = open_dispute(session, lucas.id, None, "  I was  not home\nin October ", CONVERSATION, NOW)

    assert re.fullmatch(r"DSP-[A-Z0-9]{6}", dispute.reference)
    assert (dispute.invoice_id, dispute.customer_id) == (latest.id, lucas.id)
    assert dispute.reason == "I was not home in October"
    assert dispute.status == "open"
    assert dispute.previous_invoice_status == InvoiceStatus.OPEN
    assert dispute.created_at == NOW
    session.expire_all()
    assert session.get(Invoice, latest.id).status == InvoiceStatus.DISPUTED
    stored = session.execute(select(Dispute).where(Dispute.invoice_id == latest.id)).scalar_one()
    assert stored.previous_invoice_status == InvoiceStatus.OPEN

    escalation = session.execute(select(Escalation).where(Escalation.conversation_id == CONVERSATION)).scalar_one()
    assert (escalation.reason, escalation.customer_id, escalation.status) == ("dispute", lucas.id, "waiting")
    assert escalation.created_at == NOW
    assert json.loads(escalation.context_json) == {
        "invoice_number": latest.number,
        "amount": as_euro_string(latest.total_cents),
        "due_date": latest.due_date.isoformat(),
        "dispute_reference": dispute.reference,
        "reason": "I was not home in October",
    }


def test_the_invoice_number_is_matched_without_case(session, persona_customer):
    lucas = persona_customer("overdue")
    older = sorted(invoices_of(session, lucas.id), key=lambda i: i.issue_date)[-2]
    dispute = open_dispute(session, lucas.id, f" {older.number.lower()} ", "Wrong meter", CONVERSATION, NOW)
    assert dispute.invoice_id == older.id


def test_a_paid_bill_can_be_disputed_and_keeps_paid_as_its_previous_status(session, persona_customer):
    arthur = persona_customer("all_paid")
    latest = latest_invoice(session, arthur.id)
    assert latest.status == InvoiceStatus.PAID
    dispute = open_dispute(session, arthur.id, latest.number, "Charged twice", CONVERSATION, NOW)
    assert dispute.previous_invoice_status == InvoiceStatus.PAID
    assert latest.status == InvoiceStatus.DISPUTED


def test_a_partly_paid_bill_keeps_its_previous_status(session, persona_customer):
    noor = persona_customer("partly_paid")
    latest = latest_invoice(session, noor.id)
    dispute = open_dispute(session, noor.id, None, "Wrong tariff", CONVERSATION, NOW)
    assert dispute.invoice_id == latest.id
    assert dispute.previous_invoice_status == InvoiceStatus.PARTIALLY_PAID


def test_another_customers_bill_is_not_found_and_nothing_changes(session, persona_customer):
    lucas, emma = persona_customer("overdue"), persona_customer("usage_up")
    emmas = latest_invoice(session, emma.id)
    status = emmas.status
    with pytest.raises(InvoiceNotFound):
        open_dispute(session, lucas.id, emmas.number, "Not mine", CONVERSATION, NOW)
    assert emmas.status == status
    assert count(session, Dispute) == 0
    assert count(session, Escalation) == 0


def test_an_unknown_number_is_not_found(session, persona_customer):
    lucas = persona_customer("overdue")
    with pytest.raises(InvoiceNotFound):
        open_dispute(session, lucas.id, "INV-1999-999999", "Too high", CONVERSATION, NOW)


def test_a_customer_without_bills_has_no_latest_bill(session):
    with pytest.raises(InvoiceNotFound):
        open_dispute(session, -1, None, "Too high", CONVERSATION, NOW)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t  \r\n"])
def test_an_empty_reason_is_refused_and_nothing_is_stored(session, persona_customer, reason):
    lucas = persona_customer("overdue")
    latest = latest_invoice(session, lucas.id)
    with pytest.raises(ValueError):
        open_dispute(session, lucas.id, None, reason, CONVERSATION, NOW)
    assert latest.status == InvoiceStatus.OPEN
    assert count(session, Dispute) == 0
    assert count(session, Escalation) == 0


def test_a_very_long_reason_is_cut_to_1000_characters(session, persona_customer):
    lucas = persona_customer("overdue")
    dispute = open_dispute(session, lucas.id, None, "x" * 1500, CONVERSATION, NOW)
    assert dispute.reason == "x" * 1000
    session.expire_all()
    assert session.get(Dispute, dispute.id).reason == "x" * 1000
    context = json.loads(session.execute(select(Escalation.context_json).where(Escalation.created_at >= HISTORY_ENDS)).scalar_one())
    assert context["reason"] == "x" * 1000


def test_a_long_reason_with_spaces_is_collapsed_before_it_is_cut(session, persona_customer):
    lucas = persona_customer("overdue")
    words = "meter   " * 300  # 2400 characters, 2099 once collapsed
    dispute = open_dispute(session, lucas.id, None, words, CONVERSATION, NOW)
    assert len(dispute.reason) <= 1000
    assert dispute.reason == ("meter " * 200)[:1000].rstrip()


def test_a_second_dispute_of_the_same_bill_gives_the_first_reference(session, persona_customer):
    lucas = persona_customer("overdue")
    first = open_dispute(session, lucas.id, None, "Too high", CONVERSATION, NOW)
    with pytest.raises(AlreadyDisputed) as raised:
        open_dispute(session, lucas.id, None, "Still too high", "another-conversation", NOW)
    assert raised.value.reference == first.reference
    assert count(session, Dispute) == 1
    assert count(session, Escalation) == 1


def test_a_bill_with_an_open_dispute_stays_disputed_after_payment(session, persona_customer):
    lucas = persona_customer("overdue")
    latest = latest_invoice(session, lucas.id)
    first = open_dispute(session, lucas.id, latest.number, "Too high", CONVERSATION, NOW)
    latest.status = InvoiceStatus.PAID
    session.flush()
    with pytest.raises(AlreadyDisputed) as raised:
        open_dispute(session, lucas.id, latest.number, "Too high", CONVERSATION, NOW)
    assert raised.value.reference == first.reference


def test_a_bill_disputed_without_a_record_is_already_disputed_without_reference(session, persona_customer):
    louis = persona_customer("disputed")
    seeded = next(i for i in invoices_of(session, louis.id) if i.status == InvoiceStatus.DISPUTED)
    with pytest.raises(AlreadyDisputed) as raised:
        open_dispute(session, louis.id, seeded.number, "Too high", CONVERSATION, NOW)
    assert raised.value.reference is None


def test_references_are_unique(session, persona_customer, monkeypatch):
    lucas = persona_customer("overdue")
    newest, older = sorted(invoices_of(session, lucas.id), key=lambda i: i.issue_date, reverse=True)[:2]
    first = open_dispute(session, lucas.id, newest.number, "Too high", CONVERSATION, NOW)
    # The next draw repeats the first reference, then draws a new one: the repeat must be skipped.
    draws = iter(first.reference.removeprefix("DSP-") + "Q7Q7Q7")
    monkeypatch.setattr(disputes.secrets, "choice", lambda alphabet: next(draws))
    second = open_dispute(session, lucas.id, older.number, "Also too high", CONVERSATION, NOW)
    assert second.reference == "DSP-Q7Q7Q7"


def test_two_disputes_in_one_conversation_are_two_cases_for_the_agents(session):
    from datetime import datetime, timezone

    from sqlalchemy import select as query

    from settle.models import Customer as C
    from settle.models import Escalation as E
    from settle.tooling.seed import PERSONAS as P

    emma = session.execute(query(C).where(C.customer_number == P[0].customer_number)).scalar_one()
    newest, older = sorted(emma.invoices, key=lambda i: i.issue_date, reverse=True)[:2]
    now = datetime(2026, 11, 22, 10, tzinfo=timezone.utc)
    open_dispute(session, emma.id, newest.number, "too high", "same-chat", now)
    open_dispute(session, emma.id, older.number, "also wrong", "same-chat", now)
    cases = session.execute(query(E).where(E.conversation_id == "same-chat", E.reason == "dispute")).scalars().all()
    import json

    assert len(cases) == 2 and {json.loads(c.context_json)["invoice_number"] for c in cases} == {newest.number, older.number}


# --- the reason ----------------------------------------------------------------------------------

@pytest.mark.parametrize("reason, problem", [
    ("charged twice on 4111 1111 1111 1111", "card_number"),
    ("my card 4111-1111-1111-1111 was charged", "card_number"),
    ("no", "too_short"),
    ("  ab  ", "too_short"),
    ("", "too_short"),
])
def test_a_reason_with_a_card_number_or_under_three_characters_is_refused(reason, problem):
    with pytest.raises(UnusableDisputeReason) as refused:
        check_reason(reason)
    assert refused.value.problem == problem


@pytest.mark.parametrize("reason", ["abc", "  I was away all month  ", "meter 12345678 reads 4111"])
def test_a_usable_reason_is_kept_as_typed(reason):
    assert check_reason(reason) == reason
    assert services.check_dispute_reason(reason) == reason


def test_a_card_number_is_never_stored_even_when_the_form_was_skipped(session, persona_customer):
    lucas = persona_customer("overdue")
    with pytest.raises(UnusableDisputeReason):
        open_dispute(session, lucas.id, None, "paid with 4111 1111 1111 1111", CONVERSATION, NOW)
    assert count(session, Dispute) == count(session, Escalation) == 0


# --- which bill the customer typed ---------------------------------------------------------------

@pytest.mark.parametrize("typed, found", [
    ("INV-2026-000002", "INV-2026-000002"),
    (" inv-2026-000001 ", "INV-2026-000001"),
    ("the one INV-2026-000002 please", "INV-2026-000002"),
    ("INV-1999-000000", None),
    ("", None),
])
def test_the_bill_typed_is_found_among_the_disputable_ones(typed, found):
    assert matching_invoice_number(["INV-2026-000002", "INV-2026-000001"], typed) == found


# --- the use cases -------------------------------------------------------------------------------

@pytest.fixture
def fresh_uow(tmp_path) -> UnitOfWork:
    """A unit of work on a database of its own, since the use cases commit."""
    url = seeded_sqlite(tmp_path / "settle.db", customers=10)
    return UnitOfWork(replace(Settings.from_environment(), database_url=url), FixedClock(NOW))


def emma_id(uow: UnitOfWork) -> int:
    with session_factory(uow.settings.database_url)() as session:
        number = next(p for p in PERSONAS if p.shape == "usage_up").customer_number
        return session.execute(select(Customer.id).where(Customer.customer_number == number)).scalar_one()


def test_the_bills_offered_and_typed_are_the_customers_own(fresh_uow):
    customer_id = emma_id(fresh_uow)
    bills = services.disputable_bills(fresh_uow, customer_id)
    assert bills and all(bill.number.startswith("INV-") and bill.total > 0 for bill in bills)
    assert services.match_disputable_bill(fresh_uow, customer_id, bills[0].number.lower()) == bills[0].number
    assert services.disputable_bills(fresh_uow, None) == []
    assert services.match_disputable_bill(fresh_uow, None, bills[0].number) is None


def test_a_dispute_is_kept_and_a_second_one_gives_its_reference(fresh_uow):
    customer_id = emma_id(fresh_uow)
    number = services.disputable_bills(fresh_uow, customer_id)[0].number
    reference = services.open_dispute(fresh_uow, customer_id, number, "The meter reading is wrong", CONVERSATION)
    with pytest.raises(AlreadyDisputed) as again:
        services.open_dispute(fresh_uow, customer_id, number, "Still wrong", CONVERSATION)
    assert again.value.reference == reference
    with session_factory(fresh_uow.settings.database_url)() as session:
        assert session.execute(select(Invoice.status).where(Invoice.number == number)).scalar_one() == InvoiceStatus.DISPUTED
        assert count(session, Escalation) == 1


@pytest.mark.parametrize("said, kept", [
    ("my last bill is wrong, you charged me for a meter replacement i never had", True),
    ("the bill is wrong because i was away all of october", True),
    ("mijn factuur klopt niet, de meterstand is veel te hoog", True),
    ("ma facture est fausse car je n'habite plus là depuis août", True),
    ("i think my bill is wrong", False),
    ("this bill is not right, why?", False),
    ("je conteste ma facture", False),
])
def test_what_is_wrong_said_with_the_request_is_kept_as_the_reason(said, kept):
    assert reason_in_request(said) == (said if kept else None)


@pytest.mark.parametrize("said, asks", [
    ("whats happening with my complaint about the bill?", True),
    ("any news on my dispute?", True),
    ("hoe staat het met mijn klacht?", True),
    ("où en est ma réclamation ?", True),
    ("I want to file a complaint", False),
    ("my complaint is that you charged me twice", False),
])
def test_a_question_about_a_complaint_already_made_is_told_apart(said, asks):
    assert disputes.asks_how_a_dispute_stands(said) is asks
