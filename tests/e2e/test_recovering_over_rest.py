"""Conversations that recover (issue 17), replayed over REST as the issue quotes them: a customer number in
groups, number and postcode in one message, the question asked first answered after verification, a way out
of the rejection loop, an honest payment status, the plan and extension forms that forgive."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from settle.clock import format_date
from settle.db import session_factory
from settle.models import Customer, Extension, InstalmentPlan, Invoice, InvoiceStatus, Payment
from settle.policy import load_redirects
from settle.tooling.seed import PERSONAS
from tests.conftest import TODAY

ARTHUR = next(p for p in PERSONAS if p.shape == "all_paid")
EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
PERSONA_NUMBERS = {persona.customer_number for persona in PERSONAS}


def conversation() -> str:
    return f"e2e-{uuid.uuid4()}"


def born(customer) -> str:
    return customer.date_of_birth.strftime("%d/%m/%Y")


def unused_customer(database_url: str, low: int, high: int, *, overdue_ok: bool = True) -> Customer:
    """A customer no other test uses, with only open bills adding up to between `low` and `high` cents. The
    conversations here are replayed in English as the issue quotes them, so the customer is made to prefer English
    (the demo's customers prefer Dutch or French, which verification would switch to)."""
    with session_factory(database_url).begin() as session:
        paid = select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(Payment.invoice_id == Invoice.id).scalar_subquery()
        for customer in session.execute(select(Customer).order_by(Customer.id)).scalars():
            if customer.customer_number in PERSONA_NUMBERS:
                continue
            unpaid = session.execute(
                select(Invoice, paid).where(Invoice.customer_id == customer.id, Invoice.status != InvoiceStatus.PAID)
            ).all()
            plans = session.execute(select(func.count()).select_from(InstalmentPlan).where(InstalmentPlan.customer_id == customer.id)).scalar_one()
            extended = session.execute(
                select(func.count()).select_from(Extension).join(Invoice).where(Invoice.customer_id == customer.id)
            ).scalar_one()
            if not unpaid or plans or extended or any(invoice.status != InvoiceStatus.OPEN for invoice, _ in unpaid):
                continue
            if not overdue_ok and any(invoice.due_date < TODAY for invoice, _ in unpaid):
                continue
            if low <= sum(invoice.total_cents - cents for invoice, cents in unpaid) <= high:
                customer.language = "en"
                session.flush()
                session.expunge(customer)
                return customer
    raise AssertionError("no unused customer with such bills in the demo data")


def verified(stack, customer, first_message: str) -> tuple[str, list[str]]:
    me = conversation()
    stack.say(me, first_message)
    stack.say(me, customer.customer_number)
    stack.say(me, customer.postcode)
    return me, stack.say(me, born(customer))


def test_a_customer_number_in_groups_is_taken(stack):
    for typed in ("my customer number is 5000 0066", "5000.0066", "5000-0066"):
        me = conversation()
        stack.say(me, "how much do I owe?")
        replies = stack.say(me, typed)
        assert not any("doesn't look like a customer number" in reply for reply in replies), (typed, replies)
        assert any("postcode" in reply for reply in replies), (typed, replies)


def test_number_and_postcode_in_one_message_and_the_question_asked_first_is_answered(stack):
    me = conversation()
    stack.say(me, "did you get my last payment?")
    replies = stack.say(me, f"{ARTHUR.customer_number[:4]} {ARTHUR.customer_number[4:]} {ARTHUR.postcode}")
    assert any("date of birth" in reply for reply in replies), replies  # the postcode isn't asked again
    replies = stack.say(me, born(ARTHUR))
    assert any(ARTHUR.first_name in reply for reply in replies), replies
    assert any("we received" in reply.lower() or "I don't see a payment" in reply for reply in replies), replies


def test_after_a_rejected_number_other_questions_are_not_rejected_again(stack):
    me = conversation()
    stack.say(me, "what's my balance")
    replies = stack.say(me, "my number is 1234")
    assert any("doesn't look like a customer number" in reply for reply in replies), replies
    for question in ("did you get my last payment?", "i want to pay"):
        replies = stack.say(me, question)
        assert not any("doesn't look like a customer number" in reply for reply in replies), (question, replies)
        assert any("as soon as I've checked that it's you" in reply for reply in replies), (question, replies)
    stack.say(me, ARTHUR.customer_number)
    stack.say(me, ARTHUR.postcode)
    replies = stack.say(me, born(ARTHUR))
    assert any("nothing open to pay" in reply for reply in replies), replies  # "i want to pay", answered


def test_a_transfer_made_yesterday_is_not_answered_with_an_older_payment(stack):
    me, _ = verified(stack, ARTHUR, "hello")
    replies = stack.say(me, "i paid yesterday by bank transfer, did it arrive")
    assert not any(reply.startswith("Yes") for reply in replies), replies
    assert any("I don't see a payment from 21 November 2026" in reply for reply in replies), replies
    assert any("1 to 2 working days" in reply for reply in replies), replies


def test_six_months_when_three_are_allowed_then_a_date_then_the_months(stack):
    customer = unused_customer(stack.database_url, 6000, 25000)
    me, replies = verified(stack, customer, "can i pay in 6 months?")
    refusals = [reply for reply in replies if "isn't possible for this amount" in reply or "Please choose" in reply]
    assert len(refusals) == 1 and "from 2 to 3" in refusals[0], replies  # one clear message
    assert not any(reply == "Over how many months would you like to spread it?" for reply in replies), replies
    replies = stack.say(me, "next friday")
    assert not any("Please choose a number of months" in reply for reply in replies), replies
    assert any("how many months" in reply for reply in replies), replies
    replies = stack.say(me, "3")
    parts = [reply for reply in replies if reply.startswith("Part ")]
    assert len(parts) == 3 and "27 November 2026" in parts[0], replies  # the date given before, not lost
    assert any("Shall I set this up?" in reply for reply in replies), replies
    replies = stack.say(me, "yes")
    assert any(reply.startswith("Done: your payment plan is") for reply in replies), replies

    replies = stack.say(me, "when is my bill due?")
    assert any("In your payment plan" in reply and "27 November 2026" in reply for reply in replies), replies
    replies = stack.say(me, "ok i want to pay the rest")
    assert any("part 1 of your payment plan" in reply for reply in replies), replies


def test_the_bots_own_example_date_is_accepted(stack):
    customer = unused_customer(stack.database_url, 6000, 25000)
    me, _ = verified(stack, customer, "can I pay in instalments?")
    stack.say(me, "2")
    asked = stack.bot_said(me)[-1]
    example = asked.split('"')[3]  # When would you like to pay the first part? For example "next Friday" or "<example>".
    replies = stack.say(me, example)
    assert any(reply.startswith("Part 1") and example in reply for reply in replies), (example, replies)


def test_no_wait_the_day_after_corrects_the_extension_instead_of_cancelling(stack):
    customer = unused_customer(stack.database_url, 1000, 30000, overdue_ok=False)
    me, replies = verified(stack, customer, "can i have more time to pay?")
    assert any("I can move that to any day up to" in reply for reply in replies), replies
    with session_factory(stack.database_url).begin() as session:
        due = session.execute(
            select(func.min(Invoice.due_date)).where(Invoice.customer_id == customer.id, Invoice.status == InvoiceStatus.OPEN)
        ).scalar_one()
    first, corrected = due + timedelta(days=2), due + timedelta(days=4)
    replies = stack.say(me, f"{first.day} {first:%B}")
    assert any(f"So the new due date is {format_date(first)}" in reply for reply in replies), replies
    replies = stack.say(me, "no wait")
    assert not any("stays as it was" in reply for reply in replies), replies
    assert any("By which day can you pay?" in reply for reply in replies), replies
    replies = stack.say(me, f"the {corrected.day}th")
    assert any(f"So the new due date is {format_date(corrected)}" in reply for reply in replies), replies
    replies = stack.say(me, "yes")
    assert any(f"is now due on {format_date(corrected)}" in reply for reply in replies), replies
    replies = stack.say(me, "when is it due now?")
    assert any("the new date we agreed" in reply for reply in replies), replies


def test_a_bill_chosen_by_month_then_the_other_month_as_a_follow_up(stack):
    me, replies = verified(stack, EMMA, "send me my invoice from september")
    assert any(reply.startswith("Here is a copy of bill") and "(September 2026)" in reply for reply in replies), replies
    replies = stack.say(me, "and the august one?")
    assert any(reply.startswith("Here is a copy of bill") and "(August 2026)" in reply for reply in replies), replies
    replies = stack.say(me, "and the sept one?")  # a short month name
    assert any("(September 2026)" in reply for reply in replies), replies


def test_two_questions_in_one_message_are_both_answered(stack):
    me, _ = verified(stack, LUCAS, "hello")
    replies = stack.say(me, "i want to pay and also know why its so high")
    assert any("more than the one before" in reply for reply in replies), replies
    assert any("personal link to pay" in reply and "/pay/" in reply for reply in replies), replies


def test_leaving_the_plan_form_and_coming_back_keeps_the_months(stack):
    customer = unused_customer(stack.database_url, 6000, 25000)
    me, replies = verified(stack, customer, "can I pay in instalments?")
    assert any("Over how many months" in reply for reply in replies), replies
    replies = stack.say(me, "3")
    assert any("When would you like to pay the first part?" in reply for reply in replies), replies
    replies = stack.say(me, "how much is it in total?")
    assert any("left to pay" in reply for reply in replies), replies
    replies = stack.say(me, "ok go back to the plan")
    assert not any("Over how many months" in reply for reply in replies), replies  # the 3 months are kept
    assert any("When would you like to pay the first part?" in reply for reply in replies), replies
    replies = stack.say(me, "next friday")
    assert [reply for reply in replies if reply.startswith("Part ")][-1].startswith("Part 3"), replies


def test_where_to_go_is_answered_inside_the_plan_form_and_the_plan_goes_on(stack):
    customer = unused_customer(stack.database_url, 6000, 25000)
    me, _ = verified(stack, customer, "can I pay in instalments?")
    stack.say(me, "2")
    replies = stack.say(me, "oh and i'm moving house next month")
    moving = load_redirects("policy/redirects.yml").topics["moving_house"]
    assert any(moving.phone in reply and moving.page_in("en") in reply for reply in replies), replies
    assert any("When would you like to pay the first part?" in reply for reply in replies), replies
    replies = stack.say(me, "next friday")
    assert sum(reply.startswith("Part ") for reply in replies) == 2, replies


def test_what_is_wrong_said_before_verification_is_not_asked_again_after_it(stack):
    customer = unused_customer(stack.database_url, 3000, 30000)
    me, replies = verified(stack, customer, "my latest bill is wrong, you charged me for a meter replacement i never had")
    assert not any("What seems wrong with it?" in reply or "Which bill" in reply for reply in replies), replies
    assert any("I've passed it on as" in reply and "is on hold" in reply for reply in replies), replies


def test_asking_how_a_complaint_stands_before_verification_gets_the_open_one(stack):
    customer = unused_customer(stack.database_url, 3000, 30000)
    _, filed = verified(stack, customer, "my latest bill is wrong, i was charged twice for the same month")
    assert any("I've passed it on as" in reply for reply in filed), filed
    later = conversation()
    stack.say(later, "whats happening with my complaint about the bill?")
    stack.say(later, customer.customer_number)
    stack.say(later, customer.postcode)
    replies = stack.say(later, born(customer))
    assert not any("Which bill" in reply or "What seems wrong" in reply for reply in replies), replies
    assert any("already" in reply.lower() for reply in replies), replies
