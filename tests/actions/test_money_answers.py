"""Every answer about money knows about plans, disputes and extensions, and says so in plain words
(issue 17: due dates that ignored an agreed plan, "pay the rest" without saying it was a part, a balance
with a disputed bill in it and no word that it was on hold)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from actions.arrangements import ActionFinishExtension, ActionFinishPlan, ActionOfferExtension
from actions.invoices import ActionTellBalance, ActionTellDueDates
from actions.payments import ActionSendPaymentLink
from settle.clock import format_date
from settle.db import session_factory
from settle.models import Customer, Instalment, InstalmentPlan, Invoice
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses
from tests.conftest import TODAY

PERSONA = {persona.shape: persona for persona in PERSONAS}


def verified(url: str, shape: str, **slots):
    with session_factory(url).begin() as session:
        customer_id = session.execute(select(Customer.id).where(Customer.customer_number == PERSONA[shape].customer_number)).scalar_one()
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id), **slots}), customer_id


async def agree_a_plan(url, dispatcher, domain, shape="overdue", months="2") -> tuple:
    start = TODAY + timedelta(days=5)
    tracker, customer_id = verified(url, shape, plan_months=months, plan_start=start.isoformat(), plan_confirmed=True)
    await ActionFinishPlan().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_plan_created"]
    dispatcher.messages.clear()
    with session_factory(url).begin() as session:
        first = session.execute(
            select(Instalment).join(InstalmentPlan).where(InstalmentPlan.customer_id == customer_id, Instalment.number == 1)
        ).scalar_one()
        return tracker, first.amount_cents, start


def said(dispatcher, response: str) -> list[dict]:
    return [message for message in dispatcher.messages if message["response"] == response]


async def test_after_a_plan_due_dates_say_the_next_part_not_the_bills_old_dates(fresh_actions_database, dispatcher, domain):
    tracker, first_cents, start = await agree_a_plan(fresh_actions_database, dispatcher, domain)
    await ActionTellDueDates().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_due_date_plan_next"]
    [part] = dispatcher.messages
    assert (part["number"], part["amount"], part["due_date"]) == (1, f"€{first_cents / 100:.2f}", format_date(start))


async def test_after_a_plan_the_balance_says_what_is_in_it_and_the_next_part(fresh_actions_database, dispatcher, domain):
    tracker, first_cents, start = await agree_a_plan(fresh_actions_database, dispatcher, domain)
    await ActionTellBalance().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_balance_total", "utter_balance_plan_next"]
    total, part = dispatcher.messages
    assert part["plan_left"] == total["total"] and part["due_date"] == format_date(start)


async def test_pay_the_rest_during_a_plan_says_it_is_the_first_part(fresh_actions_database, dispatcher, domain):
    tracker, first_cents, start = await agree_a_plan(fresh_actions_database, dispatcher, domain)
    await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    [link] = dispatcher.messages
    assert link["response"] == "utter_payment_link_instalment"
    assert (link["number"], link["amount"], link["due_date"]) == (1, f"€{first_cents / 100:.2f}", format_date(start))


async def test_a_disputed_bill_is_said_to_be_on_hold_in_the_balance_due_dates_and_link(actions_database, dispatcher, domain):
    tracker, customer_id = verified(actions_database, "disputed")
    with session_factory(actions_database).begin() as session:
        disputed = session.execute(
            select(Invoice.number).where(Invoice.customer_id == customer_id, Invoice.status == "disputed")
        ).scalar_one()
    await ActionTellBalance().run(dispatcher, tracker, domain)
    assert [m["invoice_number"] for m in said(dispatcher, "utter_balance_on_hold")] == [disputed]
    assert disputed not in [m["invoice_number"] for m in said(dispatcher, "utter_balance_invoice")]

    dispatcher.messages.clear()
    await ActionTellDueDates().run(dispatcher, tracker, domain)
    assert [m["invoice_number"] for m in said(dispatcher, "utter_due_date_on_hold")] == [disputed]

    dispatcher.messages.clear()
    await ActionSendPaymentLink().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_payment_link", "utter_payment_link_leaves_out_on_hold"]
    assert disputed not in dispatcher.messages[0]["invoices"] and dispatcher.messages[1]["invoices"] == disputed


async def test_after_an_extension_due_dates_say_the_new_date_and_the_old_one(fresh_actions_database, dispatcher, domain):
    tracker, customer_id = verified(fresh_actions_database, "usage_up")
    with session_factory(fresh_actions_database).begin() as session:
        number, old_due = session.execute(
            select(Invoice.number, Invoice.due_date).where(Invoice.customer_id == customer_id, Invoice.status == "open")
        ).one()
    new_due: date = old_due + timedelta(days=5)
    tracker.slots.update(invoice_number=number, extension_date=new_due.isoformat(), extension_confirmed=True)
    await ActionFinishExtension().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_extension_granted"]

    dispatcher.messages.clear()
    tracker, _ = verified(fresh_actions_database, "usage_up")
    await ActionTellDueDates().run(dispatcher, tracker, domain)
    [moved] = said(dispatcher, "utter_due_date_moved")
    assert (moved["invoice_number"], moved["due_date"], moved["original_due_date"]) == (
        number, format_date(new_due), format_date(old_due)
    )


async def test_more_time_for_a_partly_paid_bill_names_what_is_still_open(actions_database, dispatcher, domain):
    tracker, customer_id = verified(actions_database, "partly_paid")
    await ActionOfferExtension().run(dispatcher, tracker, domain)
    [offer] = dispatcher.messages
    with session_factory(actions_database).begin() as session:
        invoice = session.execute(select(Invoice).where(Invoice.number == offer["invoice_number"])).scalar_one()
        still_open = invoice.total_cents - sum(payment.amount_cents for payment in invoice.payments)
    assert offer["response"] == "utter_extension_possible" and offer["amount"] == f"€{still_open / 100:.2f}"
