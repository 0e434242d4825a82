"""Paying from the chat: the link, ways to pay, payment status, invoice copies (card numbers: tests/unit/test_privacy.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.payments import ActionSendInvoiceCopy, ActionSendPaymentLink, ActionTellPaymentMethods, ActionTellPaymentStatus
from settle.db import session_factory
from settle.models import Customer, Invoice, InvoiceStatus
from settle.payments.incoming import receive_payment
from settle.payments.transfer import structured_communication
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events
from tests.actions.test_invoice_actions import open_amount_in_database
from tests.conftest import NOW

PERSONA = {persona.shape: persona for persona in PERSONAS}


def verified(database_url: str, shape: str, **slots):
    with session_factory(database_url).begin() as session:
        customer_id = session.execute(
            select(Customer.id).where(Customer.customer_number == PERSONA[shape].customer_number)
        ).scalar_one()
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id), **slots}), customer_id


def money(text: str) -> Decimal:
    return Decimal(text.lstrip("€").replace(",", ""))


async def test_payment_link_for_everything_open(actions_database, dispatcher, domain):
    tracker, customer_id = verified(actions_database, "overdue")
    events = await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_payment_link"
    assert "/pay/" in message["link"]
    assert money(message["amount"]) == open_amount_in_database(actions_database, customer_id)
    assert slot_events(events) == {"invoice_number": None}
    domain["responses"]["utter_payment_link"][0]["text"].format(**message)


async def test_asking_twice_gives_the_same_link(actions_database, domain):
    from rasa_sdk.executor import CollectingDispatcher

    first, second = CollectingDispatcher(), CollectingDispatcher()
    tracker, _ = verified(actions_database, "overdue")
    await ActionSendPaymentLink().run(first, tracker, domain)
    await ActionSendPaymentLink().run(second, tracker, domain)
    assert first.messages[0]["link"] == second.messages[0]["link"]


async def test_payment_link_for_a_named_invoice(actions_database, dispatcher, domain):
    tracker, customer_id = verified(actions_database, "overdue")
    with session_factory(actions_database).begin() as session:
        oldest = session.execute(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.OPEN).order_by(Invoice.due_date)
        ).scalars().first()
        number, total = oldest.number, Decimal(oldest.total_cents) / 100
    tracker.slots["invoice_number"] = number.lower()
    await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["invoices"] == number
    assert money(dispatcher.messages[0]["amount"]) == total


async def test_an_invoice_of_someone_else_is_not_found(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, "overdue", invoice_number="INV-2026-000001")
    await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_invoice_not_found"]


async def test_nothing_to_pay(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, "all_paid")
    await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_nothing_to_pay"]


async def test_ways_to_pay_without_verification_reveal_nothing(actions_database, dispatcher, domain):
    await ActionTellPaymentMethods().run(dispatcher, make_tracker(), domain)
    assert responses(dispatcher) == ["utter_payment_methods", "utter_transfer_details_after_verification"]


async def test_ways_to_pay_once_verified_give_the_transfer_details(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, "overdue")
    await ActionTellPaymentMethods().run(dispatcher, tracker, domain)
    details = [m for m in dispatcher.messages if m["response"] == "utter_transfer_details"]
    assert len(details) == 2
    for message in details:
        assert message["communication"] == structured_communication(message["invoice_number"])


async def test_payment_status_confirms_a_payment_and_what_is_left(fresh_actions_database, dispatcher, domain):
    actions_database = fresh_actions_database
    tracker, customer_id = verified(actions_database, "overdue")
    with session_factory(actions_database).begin() as session:
        oldest = session.execute(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.OPEN).order_by(Invoice.due_date)
        ).scalars().first()
        receive_payment(session, external_reference="actions-test:status", source="bank_statement", method="bank_transfer",
                        amount_cents=oldest.total_cents, received_at=NOW, invoices=[oldest], customer_id=customer_id)
        paid_number, paid_total = oldest.number, Decimal(oldest.total_cents) / 100
    await ActionTellPaymentStatus().run(dispatcher, tracker, domain)
    received = dispatcher.messages[0]
    assert received["response"] == "utter_payment_received"
    assert received["invoice_number"] == paid_number and money(received["amount"]) == paid_total
    assert dispatcher.messages[-1]["response"] == "utter_still_open"
    assert money(dispatcher.messages[-1]["total"]) == open_amount_in_database(actions_database, customer_id)


async def test_no_recent_payment_explains_transfer_delays(fresh_actions_database, dispatcher, domain):
    tracker, _ = verified(fresh_actions_database, "overdue")  # last paid two months ago
    await ActionTellPaymentStatus().run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == "utter_no_payment_found"


async def test_invoice_copy_link(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, "one_off")
    await ActionSendInvoiceCopy().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_invoice_copy"
    assert f"/invoices/{message['invoice_number']}." in message["link"] and message["link"].endswith(".pdf")


def asking(tracker, text: str):
    """The same verified tracker, with the customer's question as the latest message."""
    tracker.latest_message.update(text=text, intent={"name": "check_payment_status", "confidence": 0.9})
    tracker.events.append({"event": "user", "text": text, "parse_data": tracker.latest_message})
    return tracker


@pytest.mark.parametrize("shape", ["all_paid", "partly_paid"])
async def test_a_transfer_made_yesterday_is_not_answered_with_a_yes_about_an_older_payment(actions_database, dispatcher, domain, shape):
    tracker, _ = verified(actions_database, shape)
    await ActionTellPaymentStatus().run(dispatcher, asking(tracker, "i paid yesterday by bank transfer, did it arrive"), domain)
    sent = responses(dispatcher)
    assert "utter_payment_received" not in sent and "utter_payment_arrived" not in sent
    assert sent[0] in ("utter_payment_not_seen_since_last_was", "utter_payment_not_seen_since")
    assert dispatcher.messages[0]["day"] == "21 November 2026"  # yesterday, as NOW sees it
    assert sent[1] == "utter_transfer_takes_days"
    assert "1 to 2 working days" in domain["responses"]["utter_transfer_takes_days"][0]["text"]


async def test_a_payment_that_arrived_since_the_day_said_is_a_yes(fresh_actions_database, dispatcher, domain):
    tracker, customer_id = verified(fresh_actions_database, "overdue")
    with session_factory(fresh_actions_database).begin() as session:
        oldest = session.execute(
            select(Invoice).where(Invoice.customer_id == customer_id, Invoice.status == InvoiceStatus.OPEN).order_by(Invoice.due_date)
        ).scalars().first()
        receive_payment(session, external_reference="actions-test:arrived", source="bank_statement", method="bank_transfer",
                        amount_cents=oldest.total_cents, received_at=NOW, invoices=[oldest], customer_id=customer_id)
    await ActionTellPaymentStatus().run(dispatcher, asking(tracker, "I transferred it yesterday, did you get it?"), domain)
    assert responses(dispatcher)[0] == "utter_payment_arrived"


async def test_a_plain_question_says_what_was_received_without_a_yes(actions_database, dispatcher, domain):
    tracker, _ = verified(actions_database, "all_paid")
    await ActionTellPaymentStatus().run(dispatcher, asking(tracker, "did you get my last payment?"), domain)
    assert responses(dispatcher)[0] in ("utter_payment_received", "utter_no_payment_found")
    assert not domain["responses"]["utter_payment_received"][0]["text"].startswith("Yes")
