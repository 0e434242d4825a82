"""Can't pay now in a real chat: a plan set up alone, a dispute filed, hardship answered with care."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer, Dispute, InstalmentPlan, InvoiceStatus
from settle.tooling.seed import PERSONAS

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
MARIE = next(p for p in PERSONAS if p.shape == "one_off")
ARTHUR = next(p for p in PERSONAS if p.shape == "all_paid")


def verified_conversation(stack, persona, first_message: str) -> tuple[str, list[str]]:
    me = f"e2e-{uuid.uuid4()}"
    stack.say(me, first_message)
    stack.say(me, persona.customer_number)
    stack.say(me, persona.postcode)
    return me, stack.say(me, persona.date_of_birth.strftime("%d/%m/%Y"))


def test_an_instalment_plan_set_up_alone(stack):
    me, replies = verified_conversation(stack, LUCAS, "can I pay in instalments?")
    assert any("monthly parts, over 2 to 3 months" in reply for reply in replies), replies
    assert any("how many months" in reply for reply in replies)

    replies = stack.say(me, "six")
    assert any("from 2 to 3" in reply for reply in replies), replies  # out of range, explained
    replies = stack.say(me, "3")
    assert any("first part" in reply for reply in replies), replies
    replies = stack.say(me, "next Friday")
    parts = [reply for reply in replies if reply.startswith("Part ")]
    assert len(parts) == 3 and any("Shall I set this up?" in reply for reply in replies), replies

    replies = stack.say(me, "yes")
    created = next(reply for reply in replies if reply.startswith("Done: your payment plan is"))
    assert "/pay/" in created
    reference = re.search(r"PLAN-\w+", created).group()
    with session_factory(stack.database_url).begin() as session:
        plan = session.execute(select(InstalmentPlan).where(InstalmentPlan.reference == reference)).scalar_one()
        assert len(plan.instalments) == 3 and {i.status for i in plan.invoices} == {InvoiceStatus.IN_PLAN}
        assert sum(i.amount_cents for i in plan.instalments) == plan.total_cents

    replies = stack.say(me, "I'd like a payment plan")
    assert any(f"You already have payment plan {reference}" in reply for reply in replies), replies


def test_months_from_the_first_message_and_a_change_at_the_confirmation(stack):
    me, replies = verified_conversation(stack, MARIE, "can I pay it in 2 months?")
    assert any("first part" in reply for reply in replies), replies  # months already known
    replies = stack.say(me, "tomorrow")
    assert sum(reply.startswith("Part ") for reply in replies) == 2, replies
    replies = stack.say(me, "make it 3 months")
    assert sum(reply.startswith("Part ") for reply in replies) == 3, replies
    replies = stack.say(me, "no")
    assert any("I haven't set up a plan" in reply for reply in replies), replies


def test_never_mind_in_the_middle_of_a_plan(stack):
    me, _ = verified_conversation(stack, MARIE, "I want to pay in parts")
    replies = stack.say(me, "never mind")
    assert any("I've stopped there" in reply for reply in replies), replies


def test_a_dispute_gets_a_reference_and_puts_the_bill_on_hold(stack):
    me, replies = verified_conversation(stack, MARIE, "this bill is wrong")
    assert any("Which bill is it about?" in reply for reply in replies), replies
    with session_factory(stack.database_url).begin() as session:
        customer = session.execute(select(Customer).where(Customer.customer_number == MARIE.customer_number)).scalar_one()
        latest = max(customer.invoices, key=lambda invoice: invoice.issue_date).number
    replies = stack.say(me, latest)
    assert any("in your own words" in reply for reply in replies), replies
    replies = stack.say(me, "I never had a meter replacement, nobody came to my house")
    opened = next(reply for reply in replies if "I've passed it on as" in reply)
    reference = re.search(r"DSP-\w+", opened).group()
    with session_factory(stack.database_url).begin() as session:
        dispute = session.execute(select(Dispute).where(Dispute.reference == reference)).scalar_one()
        assert dispute.invoice.number == latest and dispute.invoice.status == InvoiceStatus.DISPUTED
        assert "meter replacement" in dispute.reason


def test_hardship_is_answered_with_care_and_local_help(stack):
    me, _ = verified_conversation(stack, ARTHUR, "hello")
    replies = stack.say(me, "I lost my job and I can't pay my bills anymore")
    assert any("I'm sorry you're going through this" in reply for reply in replies), replies
    assert any("OCMW Brugge" in reply for reply in replies), replies  # Arthur lives in 8000 Brugge
