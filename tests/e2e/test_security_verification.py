"""Attacks on the website's identity check, against the real servers (issue 14).

The servers' clock stands still (SETTLE_NOW), so failures never leave the throttling window by themselves:
each test starts and ends with no failed checks and no pause for everyone, whatever ran before or after.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import delete, select

from settle.db import session_factory
from settle.models import ChatConversation, Customer, Escalation, VerificationFailure, VerificationLockout
from settle.tooling.seed import PERSONAS
from tests.e2e.conftest import signed

EMMA = next(p for p in PERSONAS if p.shape == "usage_up")
EMMA_BORN = EMMA.date_of_birth.strftime("%d/%m/%Y")
FOUND = "I've found your account"
PAUSED = "paused checks"
TOO_MANY = "too many attempts"
#: The attacker's guesses: the most common postcode in the data, a plausible date of birth.
COMMON_POSTCODE = "1000"
GUESSED_BIRTH_DATE = date(1980, 1, 1)
SPRAYED_NUMBERS = 40


@pytest.fixture(autouse=True)
def no_failed_checks(stack):
    def forget() -> None:
        with session_factory(stack.database_url).begin() as session:
            session.execute(delete(VerificationFailure))
            session.execute(delete(VerificationLockout))

    forget()
    yield
    forget()


def escalations_of(stack, senders: list[str]) -> list[Escalation]:
    with session_factory(stack.database_url).begin() as session:
        return session.execute(select(Escalation).where(Escalation.conversation_id.in_(senders))).scalars().all()


def reminder_chat_of(stack, customer_number: str) -> str | None:
    with session_factory(stack.database_url).begin() as session:
        return session.execute(
            select(ChatConversation.conversation_id).join(Customer, Customer.id == ChatConversation.customer_id)
            .where(Customer.customer_number == customer_number)
        ).scalar_one_or_none()


def check(stack, sender: str, customer_number: str, postcode: str, born: str, client: str | None = None) -> list[str]:
    """An account question, then the three answers; stops early when the bot refuses to check at all."""
    replies: list[str] = []
    for text in ("how much do I owe?", customer_number, postcode, born):
        replies += stack.say(sender, text, client=client)
        if any(TOO_MANY in reply or PAUSED in reply for reply in replies):
            break
    return replies


def test_the_real_customer_still_verifies_after_an_attacker_tried_her_number(stack):
    attacker = signed(f"e2e-attacker-{uuid.uuid4()}")
    stack.say(attacker, "how much do I owe?")
    for _ in range(3):
        stack.say(attacker, EMMA.customer_number)
        stack.say(attacker, EMMA.postcode)  # the postcode is easy to find out ...
        replies = stack.say(attacker, GUESSED_BIRTH_DATE.strftime("%d/%m/%Y"))  # ... the date of birth less so
    assert any(PAUSED in reply for reply in replies), replies
    assert not any(FOUND in reply for reply in replies)

    emma = signed(f"e2e-real-emma-{uuid.uuid4()}")
    replies = check(stack, emma, EMMA.customer_number, EMMA.postcode, EMMA_BORN)
    assert any(FOUND in reply for reply in replies), replies
    assert any("In total you have" in reply for reply in replies)
    assert reminder_chat_of(stack, EMMA.customer_number) == emma  # never the attacker's chat
    assert escalations_of(stack, [attacker, emma]) == []  # a lockout queues nothing for the agents


def test_a_common_postcode_sprayed_over_forty_customer_numbers_verifies_no_one(stack):
    with session_factory(stack.database_url).begin() as session:
        targets = session.execute(
            select(Customer.customer_number, Customer.date_of_birth)
            .order_by((Customer.postcode != COMMON_POSTCODE), Customer.id).limit(SPRAYED_NUMBERS)
        ).all()
        chats_before = session.execute(select(ChatConversation.conversation_id)).scalars().all()
    assert len(targets) == SPRAYED_NUMBERS
    assert all(born != GUESSED_BIRTH_DATE for _, born in targets)  # so a success would be the check's fault

    senders, refused, said = [], 0, []
    for number, _ in targets:
        sender = signed(f"e2e-spray-{uuid.uuid4()}")  # a new conversation for every try
        senders.append(sender)
        replies = check(stack, sender, number, COMMON_POSTCODE, GUESSED_BIRTH_DATE.strftime("%d/%m/%Y"))
        refused += any(TOO_MANY in reply for reply in replies)
        said += replies

    assert not any(FOUND in reply or "€" in reply for reply in said)
    with session_factory(stack.database_url).begin() as session:
        assert session.execute(select(ChatConversation.conversation_id)).scalars().all() == chats_before
        failed = session.execute(select(VerificationFailure.id)).all()
    # More than 20 failures everywhere within 10 minutes pause every check: the 21st is answered with the pause,
    # and the rest are refused politely before anything is checked.
    assert len(failed) == 21 and refused == SPRAYED_NUMBERS - 20, (len(failed), refused)
    assert any("try again in 5 minutes" in reply for reply in said)
    assert escalations_of(stack, senders) == []


def test_a_spray_from_one_address_is_paused_after_ten_tries(stack):
    attacker_address = "2001:db8:bad::1"
    with session_factory(stack.database_url).begin() as session:
        numbers = session.execute(select(Customer.customer_number).order_by(Customer.id).limit(SPRAYED_NUMBERS)).scalars().all()
    said, paused = [], 0
    for number in numbers:  # a new conversation for every try, all from one machine
        replies = check(stack, signed(f"e2e-one-source-{uuid.uuid4()}"), number, COMMON_POSTCODE,
                        GUESSED_BIRTH_DATE.strftime("%d/%m/%Y"), client=attacker_address)
        paused += any(PAUSED in reply for reply in replies)
        said += replies
    with session_factory(stack.database_url).begin() as session:
        failed = len(session.execute(select(VerificationFailure.id)).all())
    assert not any(FOUND in reply or "€" in reply for reply in said)
    assert failed == 10 and paused == SPRAYED_NUMBERS - 9, (failed, paused)  # the tenth failure pauses the address

    emma = signed(f"e2e-real-emma-{uuid.uuid4()}")  # from her own address, she is not paused
    assert any(FOUND in reply for reply in check(stack, emma, EMMA.customer_number, EMMA.postcode, EMMA_BORN))


def test_a_customer_arriving_during_a_pause_is_told_when_to_come_back(stack):
    now = datetime.fromisoformat(stack.env["SETTLE_NOW"])
    with session_factory(stack.database_url).begin() as session:  # twenty failures just now, as a spray leaves them
        session.add_all(
            VerificationFailure(conversation_id=f"spray-{i}", source=f"spray-{i}", customer_number="51000000", failed_at=now)
            for i in range(20)
        )
    last = check(stack, f"e2e-spray-{uuid.uuid4()}", "51000001", COMMON_POSTCODE, GUESSED_BIRTH_DATE.strftime("%d/%m/%Y"))
    assert any(TOO_MANY in reply for reply in last), last

    replies = check(stack, f"e2e-customer-{uuid.uuid4()}", EMMA.customer_number, EMMA.postcode, EMMA_BORN)
    assert any(TOO_MANY in reply and "call 0800 12 345" in reply for reply in replies), replies
    assert not any(FOUND in reply for reply in replies)


def test_number_and_postcode_in_one_message_are_not_asked_again(stack):
    me = signed(f"e2e-both-{uuid.uuid4()}")
    stack.say(me, "how much do I owe?")
    asked = stack.say(me, f"{EMMA.customer_number}, postcode {EMMA.postcode}")
    assert any("date of birth" in reply for reply in asked) and not any("postcode" in reply for reply in asked), asked
    assert any(FOUND in reply for reply in stack.say(me, EMMA_BORN))
