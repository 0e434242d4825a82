"""What agents get to read: the transcript of a hand-over and the messages relayed to them hold no card number
and no answer to a secret verification question."""
from __future__ import annotations

import uuid

from actions.handoff import ActionHandOver, ActionRelayToAgent, chat_so_far
from settle.db import session_factory
from settle.handoff.takeover import add_note, messages, reply, transcript
from settle.identity.privacy import ANSWER_REMOVED, CARD_NUMBER_REMOVED
from tests.actions.conftest import make_tracker
from tests.actions.test_handoff_actions import agent_has_the_chat, bot_event, escalations_of, handoff_database, user_event
from tests.conftest import NOW

__all__ = ["handoff_database"]  # the fixture, shared with the hand-over tests


def slot_event(name: str, value, timestamp: float) -> dict:
    return {"event": "slot", "name": name, "value": value, "timestamp": timestamp}


#: A chat with a card number typed, then the verification form answered, as the action server receives it.
EARLIER = [
    user_event("my card is 4111 1111 1111 1111", "inform", 1795000000.0),
    bot_event("Please don't type card numbers in the chat.", 1795000001.0),
    user_event("what is my balance", "check_balance", 1795000002.0),
    {"event": "active_loop", "name": "verify_customer_form", "timestamp": 1795000002.5},
    slot_event("requested_slot", "customer_number", 1795000002.6),
    bot_event("What is your customer number?", 1795000003.0),
    user_event("50000025", "inform", 1795000004.0),
    slot_event("customer_number", "50000025", 1795000004.5),
    slot_event("requested_slot", "postcode", 1795000004.6),
    bot_event("What is the postcode of the address on your bill?", 1795000005.0),
    user_event("2000", "inform", 1795000006.0),
    slot_event("postcode", "2000", 1795000006.5),
    slot_event("requested_slot", "birth_date", 1795000006.6),
    bot_event("And your date of birth?", 1795000007.0),
    user_event("3/3/1979", "inform", 1795000008.0),
    slot_event("birth_date", "3/3/1979", 1795000008.5),
    slot_event("requested_slot", None, 1795000008.6),
    {"event": "active_loop", "name": None, "timestamp": 1795000008.7},
    bot_event("Thank you, Lucas. I've found your account.", 1795000009.0),
]
SAID = [
    ("customer", f"my card is {CARD_NUMBER_REMOVED}"),
    ("bot", "Please don't type card numbers in the chat."),
    ("customer", "what is my balance"),
    ("bot", "What is your customer number?"),
    ("customer", "50000025"),
    ("bot", "What is the postcode of the address on your bill?"),
    ("customer", ANSWER_REMOVED),
    ("bot", "And your date of birth?"),
    ("customer", ANSWER_REMOVED),
    ("bot", "Thank you, Lucas. I've found your account."),
]


def test_the_chat_so_far_is_masked():
    tracker = make_tracker(text="I want a person, my card 5555-5555-5555-4444 was charged", intent="request_human",
                           earlier_events=EARLIER)

    lines = chat_so_far(tracker)

    assert [(line["who"], line["text"]) for line in lines] == SAID + [("customer", f"I want a person, my card {CARD_NUMBER_REMOVED} was charged")]


def test_the_answer_of_the_form_before_it_asked_both_is_masked_too():
    earlier = [
        slot_event("requested_slot", "postcode_or_birth_date", 1795000000.0),
        user_event("14/02/1985", "inform", 1795000001.0),
        slot_event("requested_slot", None, 1795000002.0),
    ]
    tracker = make_tracker(text="talk to a person", intent="request_human", earlier_events=earlier)

    assert [line["text"] for line in chat_so_far(tracker)] == [ANSWER_REMOVED, "talk to a person"]


async def test_the_escalation_keeps_the_masked_transcript(handoff_database, dispatcher, domain):
    conversation = f"privacy-action-test-{uuid.uuid4().hex}"
    tracker = make_tracker(sender_id=conversation, text="can I talk to someone", intent="request_human", earlier_events=EARLIER)

    await ActionHandOver().run(dispatcher, tracker, domain)

    [escalation] = escalations_of(handoff_database, conversation)
    assert [(line["who"], line["text"]) for line in transcript(escalation)] == SAID + [("customer", "can I talk to someone")]
    for secret in ("4111", "2000", "1979"):
        assert secret not in escalation.transcript_json


async def test_a_card_number_sent_to_the_agent_is_masked(handoff_database, dispatcher, domain):
    conversation = f"privacy-action-test-{uuid.uuid4().hex}"
    escalation_id, _ = agent_has_the_chat(handoff_database, conversation)
    tracker = make_tracker(sender_id=conversation, text="it is 4111-1111-1111-1111 exp 12/27", slots={"with_agent": True})

    await ActionRelayToAgent().run(dispatcher, tracker, domain)

    with session_factory(handoff_database).begin() as session:
        assert [m.text for m in messages(session, escalation_id)] == [f"it is {CARD_NUMBER_REMOVED} exp 12/27"]


def test_an_agent_never_keeps_a_card_number_either(handoff_database):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, f"privacy-action-test-{uuid.uuid4().hex}")
    with session_factory(handoff_database).begin() as session:
        add_note(session, escalation_id, agent_id, "she read out 4111 1111 1111 1111 on the phone", NOW)
        reply(session, escalation_id, agent_id, "Please never send 4111-1111-1111-1111 here.", NOW)
        assert [m.text for m in messages(session, escalation_id)] == [
            f"she read out {CARD_NUMBER_REMOVED} on the phone", f"Please never send {CARD_NUMBER_REMOVED} here.",
        ]
