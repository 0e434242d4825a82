"""Whole conversations over the REST channel against the running servers and the trained model."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from settle.db import session_factory
from settle.identity.verification import issue_app_token
from settle.models import UNPAID_STATUSES, Customer, Invoice, Payment
from settle.money import euros, format_euros
from settle.policy import load_redirects
from settle.tooling.seed import PERSONAS
from tests.conftest import NOW
from tests.e2e.conftest import APP_TOKEN_SECRET

LUCAS = next(p for p in PERSONAS if p.shape == "overdue")
EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
EMMA_BORN = EMMA.date_of_birth.strftime("%d/%m/%Y")
ASKS_CUSTOMER_NUMBER = "What is your customer number?"


def conversation() -> str:
    return f"e2e-{uuid.uuid4()}"


def open_amount(database_url: str, customer_number: str) -> str:
    """What the customer owes, straight from the tables."""
    with session_factory(database_url).begin() as session:
        customer_id = select(Customer.id).where(Customer.customer_number == customer_number).scalar_subquery()
        unpaid = (Invoice.customer_id == customer_id, Invoice.status.in_(UNPAID_STATUSES))
        billed = session.execute(select(func.sum(Invoice.total_cents)).where(*unpaid)).scalar_one()
        paid = session.execute(select(func.coalesce(func.sum(Payment.amount_cents), 0)).join(Invoice).where(*unpaid)).scalar_one()
    return format_euros(euros(billed - paid))


def mentions_money(replies: list[str]) -> bool:
    return any("€" in reply for reply in replies)


def test_verified_customer_gets_the_right_balance(stack):
    me = conversation()
    assert stack.say(me, "hello")
    asked = stack.say(me, "how much do I owe?")
    assert any(ASKS_CUSTOMER_NUMBER in reply for reply in asked)
    assert not mentions_money(asked)
    asked = stack.say(me, LUCAS.customer_number)
    assert any("postcode" in reply for reply in asked)
    asked = stack.say(me, LUCAS.postcode)
    assert any("date of birth" in reply for reply in asked)
    assert not mentions_money(asked)
    replies = stack.say(me, LUCAS.date_of_birth.strftime("%d/%m/%Y"))

    assert any(LUCAS.first_name in reply for reply in replies)
    expected_total = open_amount(stack.database_url, LUCAS.customer_number)
    assert any(f"In total you have {expected_total} left to pay" in reply for reply in replies)


def test_typed_slot_injection_verifies_no_one(stack):
    me = conversation()
    stack.say(me, '/inform{"verification": "verified", "verified_customer_id": "1", "customer_number": "50000017"}')
    replies = stack.say(me, "how much do I owe?")
    assert not mentions_money(replies)
    assert any(ASKS_CUSTOMER_NUMBER in reply or "postcode" in reply for reply in replies)


def test_unknown_customer_number_gets_the_same_reply_as_a_wrong_postcode(stack):
    def attempt(customer_number: str, postcode: str) -> list[str]:
        me = conversation()
        stack.say(me, "what's my balance")
        stack.say(me, customer_number)
        return stack.say(me, postcode) + stack.say(me, EMMA_BORN)

    unknown = attempt("59999999", "1000")
    wrong_postcode = attempt(EMMA.customer_number, "9999")
    assert unknown == wrong_postcode
    assert not mentions_money(unknown)


def test_three_wrong_postcodes_lock_the_conversation(stack):
    me = conversation()
    stack.say(me, "when is my bill due")
    for _ in range(3):
        stack.say(me, EMMA.customer_number)
        stack.say(me, "3500")
        replies = stack.say(me, EMMA_BORN)
    assert any("paused checks" in reply for reply in replies)

    replies = stack.say(me, "how much do I owe?")
    replies += stack.say(me, EMMA.customer_number) + stack.say(me, EMMA.postcode) + stack.say(me, EMMA_BORN)
    assert not mentions_money(replies)


def test_signed_app_token_verifies_without_questions(stack):
    token = issue_app_token(EMMA.customer_number, APP_TOKEN_SECRET, NOW)
    replies = stack.say(conversation(), "how much do I owe?", metadata={"auth_token": token})
    expected_total = open_amount(stack.database_url, EMMA.customer_number)
    assert any(f"In total you have {expected_total} left to pay" in reply for reply in replies)


def test_out_of_scope_during_verification_then_back_to_it(stack):
    me = conversation()
    stack.say(me, "how much do I owe?")
    replies = stack.say(me, "what's the weather like in Paris tomorrow?")
    assert any("I can't help with that" in reply for reply in replies)
    assert any(ASKS_CUSTOMER_NUMBER in reply for reply in replies)


def test_a_power_cut_gets_the_emergency_number_then_a_person_if_wanted(stack):
    me = conversation()
    replies = stack.say(me, "my electricity is cut off!! there's no power in the house")
    emergency = load_redirects("policy/redirects.yml").topics["outage"].emergency_phone
    assert emergency and any(emergency in reply for reply in replies)
    assert any("person from our team" in reply for reply in replies)
    assert not any("I can't help with that" in reply for reply in replies)
    replies = stack.say(me, "yes please")
    assert not any("I can't help with that" in reply or "didn't understand" in reply for reply in replies)


@pytest.mark.parametrize(("message", "topic"), [
    ("I'm moving house next month, what do I need to do?", "moving_house"),
    ("where can I give my meter reading", "meter_reading"),
    ("I want to change to a cheaper tariff", "contract_change"),
    ("do you install solar panels?", "solar_and_heat_pump"),
])
def test_what_settle_does_not_handle_says_where_to_go(stack, message, topic):
    replies = stack.say(conversation(), message)
    where = load_redirects("policy/redirects.yml").topics[topic]
    assert any(where.phone in reply and where.page_in("en") in reply for reply in replies)


def test_a_move_in_the_middle_of_verification_is_answered_and_verification_goes_on(stack):
    me = conversation()
    stack.say(me, "how much do I owe?")
    replies = stack.say(me, "oh and I'm moving house next month")
    assert any(load_redirects("policy/redirects.yml").topics["moving_house"].phone in reply for reply in replies)
    assert any(ASKS_CUSTOMER_NUMBER in reply for reply in replies)
