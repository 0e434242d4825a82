"""The action after every message keeps it, masked, with what NLU made of it and what the bot did before,
for the conversation review and the understanding figures."""
from __future__ import annotations

from sqlalchemy import select

from actions.verification import ActionCheckMessage
from settle.db import session_factory
from settle.models import ConversationMessage, Customer
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker

EMMA = PERSONAS[0]


def kept(database_url: str, sender: str) -> list[tuple]:
    with session_factory(database_url)() as session:
        return [
            (m.position, m.text, m.intent, m.confidence, m.language, m.entities, m.actions)
            for m in session.execute(select(ConversationMessage).where(ConversationMessage.conversation_id == sender)
                                     .order_by(ConversationMessage.position)).scalars()
        ]


def customer_message(text: str, intent: str = "inform") -> dict:
    return {"event": "user", "text": text, "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}}}


async def test_each_message_is_kept_masked_with_the_bots_actions_in_reply(actions_database, dispatcher, domain):
    await ActionCheckMessage().run(dispatcher, make_tracker(sender_id="kept-chat", text="my number is 50000017"), domain)
    earlier = [
        customer_message("my number is 50000017"),
        {"event": "action", "name": "action_extract_slots"},
        {"event": "action", "name": "verify_customer_form"},
        {"event": "bot", "text": "What is the postcode?"},
        {"event": "action", "name": "action_listen"},
    ]
    await ActionCheckMessage().run(dispatcher, make_tracker(
        sender_id="kept-chat", text="1000", slots={"requested_slot": "postcode"}, earlier_events=earlier), domain)
    assert kept(actions_database, "kept-chat") == [
        (1, "my number is <customer_number>", "inform", 0.9, "en", [], ["verify_customer_form"]),
        (2, "<verification_answer>", "inform", 0.9, "en", [], None),
    ]


async def test_a_verified_customers_name_is_masked_and_reminders_do_not_count_as_the_previous_message(
    actions_database, dispatcher, domain
):
    with session_factory(actions_database)() as session:
        emma = session.execute(select(Customer.id).where(Customer.customer_number == EMMA.customer_number)).scalar_one()
    verified = {"verification": "verified", "verified_customer_id": str(emma), "language": "en"}
    await ActionCheckMessage().run(dispatcher, make_tracker(sender_id="emma-chat", text="hi", slots=verified, intent="greet"), domain)
    earlier = [
        customer_message("hi", "greet"),
        {"event": "action", "name": "utter_greet"},
        {"event": "action", "name": "action_listen"},
        customer_message("", "EXTERNAL_reminder"),
        {"event": "action", "name": "action_send_reminder"},
    ]
    tracker = make_tracker(sender_id="emma-chat", text=f"this is {EMMA.first_name}, can I pay later", slots=verified,
                           intent="request_payment_extension", earlier_events=earlier)
    await ActionCheckMessage().run(dispatcher, tracker, domain)
    assert [(position, text, actions) for position, text, _, _, _, _, actions in kept(actions_database, "emma-chat")] == [
        (1, "hi", ["utter_greet"]),
        (2, "this is <name>, can I pay later", None),
    ]
