"""Every way into the agents' queue, over REST against the real servers: asked, upset, locked, hardship."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from settle.db import session_factory
from settle.models import Customer, Escalation
from settle.tooling.seed import PERSONAS
from tests.e2e.conftest import signed
from tests.e2e.test_arrangements_over_rest import verified_conversation

LOUIS = next(p for p in PERSONAS if p.shape == "disputed")
MARIE = next(p for p in PERSONAS if p.shape == "one_off")
WILL_JOIN = "I've asked a person from our team to join this chat"


def queued(stack, conversation_id: str) -> list[Escalation]:
    with session_factory(stack.database_url).begin() as session:
        return session.execute(
            select(Escalation).where(Escalation.conversation_id == signed(conversation_id)).order_by(Escalation.id)
        ).scalars().all()


def customer_id(stack, persona) -> int:
    with session_factory(stack.database_url).begin() as session:
        return session.execute(select(Customer.id).where(Customer.customer_number == persona.customer_number)).scalar_one()


def test_asking_for_a_person_queues_the_chat_with_what_was_said(stack):
    me, _ = verified_conversation(stack, MARIE, "what is my balance")
    replies = stack.say(me, "can I talk to a real person please")
    assert any(WILL_JOIN in reply for reply in replies), replies

    [escalation] = queued(stack, me)
    assert (escalation.reason, escalation.status, escalation.customer_id) == ("asked", "waiting", customer_id(stack, MARIE))
    said = [line["text"] for line in json.loads(escalation.transcript_json)]
    assert "what is my balance" in said and "can I talk to a real person please" in said
    assert any(text.startswith("In total you have") for text in said)  # the bot's answers are in it too
    assert json.loads(escalation.context_json)["bot_tried"] == ["check_balance"]

    stack.say(me, "hello?? I asked for a person")  # asking again updates the same place in the queue
    assert len(queued(stack, me)) == 1


def test_an_upset_customer_is_handed_over_without_asking(stack):
    me = f"e2e-upset-{uuid.uuid4()}"
    replies = stack.say(me, "this is ridiculous, you are useless")
    assert any(WILL_JOIN in reply for reply in replies), replies
    assert [(e.reason, e.customer_id) for e in queued(stack, me)] == [("upset", None)]


def test_a_locked_verification_is_not_queued_for_a_person(stack):
    """Anyone can fail the check on purpose: a lockout tells the customer how to reach us, and agents see a
    counter on the queue page instead of one case per lockout."""
    me = f"e2e-locked-{uuid.uuid4()}"
    stack.say(me, "when is my bill due")
    for _ in range(3):
        stack.say(me, "59999998")
        stack.say(me, "3500")
        replies = stack.say(me, "01/01/1980")
    assert any("paused checks" in reply for reply in replies)
    assert queued(stack, me) == []


def test_hardship_is_queued_so_a_person_can_reach_out(stack):
    me, _ = verified_conversation(stack, LOUIS, "what is my balance")
    stack.say(me, "I lost my job and I can't pay my bills anymore")
    assert [(e.reason, e.customer_id) for e in queued(stack, me)] == [("hardship", customer_id(stack, LOUIS))]
