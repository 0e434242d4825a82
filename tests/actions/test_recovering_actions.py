"""Conversations that recover (issue 17), as the action server runs them: bills named by month or number for a
copy, a link, an explanation and a dispute, a follow-up naming another month, two questions in one message, and
"ok go back to the plan"."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from actions.arrangements import ActionOfferPlan, ValidateDisputeForm
from actions.invoices import ActionExplainBill, ActionTellBalance
from actions.payments import ActionSendInvoiceCopy, ActionSendPaymentLink
from settle.clock import format_month
from settle.db import session_factory
from settle.models import Customer, Invoice, InvoiceStatus
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events

PERSONA = {persona.shape: persona for persona in PERSONAS}


def bills_of(url: str, shape: str) -> tuple[int, list[Invoice]]:
    """The customer's id and bills, newest first, read straight from the table."""
    with session_factory(url).begin() as session:
        customer_id = session.execute(select(Customer.id).where(Customer.customer_number == PERSONA[shape].customer_number)).scalar_one()
        bills = session.execute(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status != InvoiceStatus.CANCELLED)
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        ).scalars().all()
        session.expunge_all()
    return customer_id, list(bills)


def month_word(bill: Invoice, language: str = "en") -> str:
    """The bill's month as a customer types it: "september", "augustus", "août"."""
    return format_month(bill.period_start, language).split()[0].lower()


def asked(customer_id: int, text: str, intent: str, earlier: list[dict] | None = None, **slots):
    return make_tracker(
        slots={"verification": "verified", "verified_customer_id": str(customer_id), **slots},
        text=text, intent=intent, earlier_events=earlier,
    )


def answered(text: str, intent: str, action: str) -> list[dict]:
    """The events of a question and the bot's answer to it, before the next message."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return [{"event": "user", "text": text, "parse_data": parse}, {"event": "action", "name": "action_extract_slots"},
            {"event": "action", "name": action}, {"event": "action", "name": "action_listen"}]


async def test_a_copy_of_the_bill_of_a_named_month(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "one_off")
    wanted = bills[1]
    await ActionSendInvoiceCopy().run(dispatcher, asked(customer_id, f"send me my invoice from {month_word(wanted)}", "request_invoice_copy"), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_invoice_copy" and message["invoice_number"] == wanted.number


async def test_a_copy_by_number_and_the_one_from_last_month(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "one_off")
    await ActionSendInvoiceCopy().run(dispatcher, asked(customer_id, f"can i get {bills[2].number}", "request_invoice_copy"), domain)
    october = next(bill for bill in bills if bill.period_start.replace(day=1) == date(2026, 10, 1))  # NOW is in November
    await ActionSendInvoiceCopy().run(dispatcher, asked(customer_id, "the one from last month", "request_invoice_copy"), domain)
    assert [message["invoice_number"] for message in dispatcher.messages] == [bills[2].number, october.number]


async def test_and_the_august_one_after_a_copy_sends_that_month_s_copy(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "one_off")
    earlier = answered("send me a copy of my invoice", "request_invoice_copy", "action_send_invoice_copy")
    tracker = asked(customer_id, f"and the {month_word(bills[3])} one?", "inform", earlier)
    await ActionSendInvoiceCopy().run(dispatcher, tracker, domain)
    assert [(m["response"], m["invoice_number"]) for m in dispatcher.messages] == [("utter_invoice_copy", bills[3].number)]


async def test_a_dutch_follow_up_after_verification_is_not_read_as_a_month(actions_database, dispatcher, domain):
    """After verification the latest message is the date of birth: the request's own words choose the bill."""
    customer_id, bills = bills_of(actions_database, "one_off")
    earlier = answered(f"de factuur van {month_word(bills[1], 'nl')}", "request_invoice_copy", "verify_customer_form")
    tracker = asked(customer_id, "14 maart 1985", "inform", earlier, language="nl")
    await ActionSendInvoiceCopy().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["invoice_number"] == bills[1].number


@pytest.mark.parametrize("language, said, month", [
    ("en", "send me my invoice from march 2025", "March 2025"),
    ("nl", "de factuur van maart 2025", "maart 2025"),
    ("fr", "la facture de mars 2025", "mars 2025"),
])
async def test_a_month_without_a_bill_names_the_months_there_are(actions_database, dispatcher, domain, language, said, month):
    customer_id, bills = bills_of(actions_database, "one_off")
    await ActionSendInvoiceCopy().run(dispatcher, asked(customer_id, said, "request_invoice_copy", language=language), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_no_bill_for_month" and message["month"] == month
    assert message["months"].startswith(format_month(bills[0].period_start, language))


async def test_the_link_for_a_named_month_s_open_bill(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "overdue")
    open_bill = next(bill for bill in bills if bill.status == InvoiceStatus.OPEN)
    await ActionSendPaymentLink().run(dispatcher, asked(customer_id, f"i want to pay the {month_word(open_bill)} bill", "pay_bill"), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_payment_link" and message["invoices"] == open_bill.number


async def test_a_named_month_s_bill_is_explained_against_the_one_before(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "one_off")
    await ActionExplainBill().run(dispatcher, asked(customer_id, f"why was my {month_word(bills[1])} bill so high", "explain_bill"), domain)
    first = dispatcher.messages[0]
    assert first["response"].startswith("utter_explain_named_bill_") and first["invoice_number"] == bills[1].number
    assert first["period"] == format_month(bills[1].period_start, "en")


async def test_the_october_one_in_the_dispute_form(actions_database, dispatcher, domain):
    customer_id, bills = bills_of(actions_database, "one_off")
    october = next(bill for bill in bills if bill.period_start.replace(day=1) == date(2026, 10, 1))
    tracker = asked(customer_id, "the october one", "inform", requested_slot="dispute_invoice")
    assert ValidateDisputeForm().validate_dispute_invoice("the october one", dispatcher, tracker, domain) == {"dispute_invoice": october.number}
    assert ValidateDisputeForm().validate_dispute_invoice("the one from march 2024", dispatcher, tracker, domain) == {"dispute_invoice": None}
    assert responses(dispatcher) == ["utter_no_bill_for_month"]


@pytest.mark.parametrize("language, said, answered_by, then", [
    ("en", "i want to pay and also know why its so high", ActionExplainBill, "utter_payment_link"),
    ("fr", "je veux payer et savoir pourquoi c'est si cher", ActionExplainBill, "utter_payment_link"),
    ("en", "what do I owe and when is it due", ActionTellBalance, "utter_due_date_overdue"),
])
async def test_two_questions_in_one_message_get_both_answers(actions_database, dispatcher, domain, language, said, answered_by, then):
    customer_id, _ = bills_of(actions_database, "overdue")
    await answered_by().run(dispatcher, asked(customer_id, said, answered_by.question, language=language), domain)
    sent = responses(dispatcher)
    second = sent.index("utter_and_your_other_question")
    assert second > 0 and then in sent[second + 1:]


async def test_one_question_gets_one_answer(actions_database, dispatcher, domain):
    customer_id, _ = bills_of(actions_database, "overdue")
    await ActionExplainBill().run(dispatcher, asked(customer_id, "why is my bill so high", "explain_bill"), domain)
    assert "utter_and_your_other_question" not in responses(dispatcher)


@pytest.mark.parametrize("said", ["ok go back to the plan", "terug naar het plan", "revenons au plan"])
async def test_back_to_the_plan_keeps_what_was_given(fresh_actions_database, dispatcher, domain, said):
    customer_id, _ = bills_of(fresh_actions_database, "overdue")
    tracker = asked(customer_id, said, "request_instalment_plan", plan_months="3", plan_start="2026-12-04")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_going_on"]
    assert slot_events(events) == {
        "plan_eligible": True, "plan_months": "3", "plan_start": "2026-12-04", "plan_confirmed": None, "plan_total_cents": None,
    }


async def test_a_new_plan_request_is_offered_afresh(fresh_actions_database, dispatcher, domain):
    customer_id, _ = bills_of(fresh_actions_database, "overdue")
    tracker = asked(customer_id, "can i pay in instalments", "request_instalment_plan", plan_months="3", plan_start="2026-12-04")
    events = await ActionOfferPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_possible"]
    assert slot_events(events)["plan_start"] is None
