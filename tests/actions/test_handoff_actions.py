"""A person from the team, as the action server runs it: hand-over, callback, and the live takeover."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, func, select

from actions.handoff import (
    ActionAgentJoined,
    ActionAgentLeft,
    ActionHandOver,
    ActionRelayAgentMessages,
    ActionRelayToAgent,
    ActionSaveCallback,
    ValidateCallbackForm,
)
from settle.clock import DAY_NAMES
from settle.config import Settings
from settle.db import session_factory
from settle.handoff.agents import create_agent
from settle.handoff.console_events import CONSOLE_EVENT_LIFETIME, signed_entities
from settle.handoff.office_hours import OfficeHours
from settle.handoff.takeover import add_note, claim, close, hand_over, messages, reply, transcript
from settle.models import Agent, Customer, Escalation, EscalationMessage, EscalationReason, EscalationStatus
from settle.tooling.seed import PERSONAS
from tests.actions.conftest import make_tracker, responses, slot_events
from tests.conftest import NOW

BRUSSELS = ZoneInfo("Europe/Brussels")
#: The moment the actions see (SETTLE_NOW), in the company's timezone.
LOCAL_NOW = NOW.astimezone(BRUSSELS)
ALWAYS_OPEN = "Mon-Sun 00:00-24:00"
CONVERSATION_PREFIX = "handoff-action-test-"
AGENT_DOMAIN = "@handoff-action-tests.example"
LUCAS = next(p for p in PERSONAS if p.shape == "overdue")


def closed_today() -> tuple[str, int]:
    """Office hours on one day only, two days from today in Brussels: closed now whatever the time."""
    weekday = (LOCAL_NOW.weekday() + 2) % 7
    return f"{DAY_NAMES[weekday][:3]} 08:00-18:00", weekday


@pytest.fixture
def handoff_database(actions_database, monkeypatch):
    """The shared test database (the queue is emptied afterwards), without the agents these tests made."""
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", ALWAYS_OPEN)
    monkeypatch.setenv("SETTLE_MINUTES_PER_WAITING_CUSTOMER", "5")
    yield actions_database
    with session_factory(actions_database).begin() as session:
        session.execute(delete(EscalationMessage))
        session.execute(delete(Escalation))
        session.execute(delete(Agent).where(Agent.email.endswith(AGENT_DOMAIN)).execution_options(synchronize_session=False))


def from_the_console(tracker, at=NOW, conversation: str | None = None):
    """The tracker as the console's signed event leaves it (for this conversation unless told)."""
    intent = tracker.latest_message["intent"]["name"]
    entities = signed_entities(Settings.from_environment(), at, intent, conversation or tracker.sender_id)
    tracker.latest_message["entities"] = [{"entity": name, "value": value} for name, value in entities.items()]
    return tracker


@pytest.fixture
def conversation() -> str:
    return f"{CONVERSATION_PREFIX}{uuid.uuid4().hex}"


def escalations_of(url: str, conversation_id: str) -> list[Escalation]:
    with session_factory(url).begin() as session:
        return session.execute(
            select(Escalation).where(Escalation.conversation_id == conversation_id).order_by(Escalation.id)
        ).scalars().all()


def waiting_count(url: str) -> int:
    with session_factory(url).begin() as session:
        return session.execute(
            select(func.count()).select_from(Escalation).where(Escalation.status == EscalationStatus.WAITING)
        ).scalar_one()


def lucas_id(url: str) -> int:
    with session_factory(url).begin() as session:
        return session.execute(select(Customer.id).where(Customer.customer_number == LUCAS.customer_number)).scalar_one()


def fills_its_text(domain, message) -> bool:
    domain["responses"][message["response"]][0]["text"].format(**message)
    return True


def agent_has_the_chat(url: str, conversation_id: str, name: str = "Dana") -> tuple[int, int]:
    """Queues the conversation and lets a new agent claim it; returns (escalation id, agent id)."""
    hours = OfficeHours.parse(ALWAYS_OPEN, "Europe/Brussels")
    with session_factory(url).begin() as session:
        agent = create_agent(session, f"{name.lower()}-{uuid.uuid4().hex[:8]}{AGENT_DOMAIN}", name, "agent-password-1", NOW)
        result = hand_over(session, EscalationReason.ASKED, conversation_id, None, [], [], hours, 5, NOW)
        claim(session, result.escalation_id, agent.id, NOW)
        return result.escalation_id, agent.id


def user_event(text: str, intent: str, timestamp: float) -> dict:
    return {"event": "user", "text": text, "timestamp": timestamp,
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}}


def bot_event(text: str, timestamp: float) -> dict:
    return {"event": "bot", "text": text, "timestamp": timestamp}


# The hand-over

async def test_asking_for_a_person_queues_the_chat_with_what_was_said(handoff_database, conversation, dispatcher, domain):
    earlier = [
        user_event("hi", "greet", 1795000000.0),
        bot_event("Hello, I'm Settle.", 1795000001.0),
        {"event": "action", "name": "action_listen", "timestamp": 1795000001.5},
        user_event("why is my bill so high", "explain_bill", 1795000002.0),
        bot_event("Your latest bill is higher because you used more.", 1795000003.0),
        user_event("/EXTERNAL_reminder", "EXTERNAL_reminder", 1795000004.0),
    ]
    tracker = make_tracker(sender_id=conversation, text="I want to talk to a person", intent="request_human",
                           earlier_events=earlier)
    expected_minutes = 5 * (waiting_count(handoff_database) + 1)

    events = await ActionHandOver().run(dispatcher, tracker, domain)

    [message] = dispatcher.messages
    assert message["response"] == "utter_agent_will_join" and fills_its_text(domain, message)
    assert message["minutes"] == expected_minutes
    assert slot_events(events) == {"agents_available": True}
    [escalation] = escalations_of(handoff_database, conversation)
    assert (escalation.reason, escalation.status, escalation.customer_id) == ("asked", "waiting", None)
    assert [(line["who"], line["text"]) for line in transcript(escalation)] == [
        ("customer", "hi"),
        ("bot", "Hello, I'm Settle."),
        ("customer", "why is my bill so high"),
        ("bot", "Your latest bill is higher because you used more."),
        ("customer", "I want to talk to a person"),
    ]
    assert datetime.fromisoformat(transcript(escalation)[1]["at"]).timestamp() == 1795000001.0
    assert '"bot_tried": ["explain_bill"]' in escalation.context_json


@pytest.mark.parametrize("intent, reason", [("express_frustration", "upset"), ("affirm", "repeated_fallback"), ("request_human", "asked")])
async def test_the_reason_follows_what_led_to_the_hand_over(handoff_database, conversation, dispatcher, domain, intent, reason):
    await ActionHandOver().run(dispatcher, make_tracker(sender_id=conversation, text="...", intent=intent), domain)
    [escalation] = escalations_of(handoff_database, conversation)
    assert escalation.reason == reason


async def test_repeated_frustration_in_one_chat_queues_it_once(handoff_database, conversation, dispatcher, domain):
    """Random texts classified as express_frustration must not fill the queue: the waiting escalation is reused."""
    before = waiting_count(handoff_database)
    for text in ("asdfgh", "this is useless", "!!!!"):
        await ActionHandOver().run(dispatcher, make_tracker(sender_id=conversation, text=text, intent="express_frustration"), domain)
    [escalation] = escalations_of(handoff_database, conversation)
    assert (escalation.reason, escalation.status) == ("upset", "waiting")
    assert waiting_count(handoff_database) == before + 1
    assert transcript(escalation)[-1]["text"] == "!!!!"  # the agent sees the latest words


async def test_a_verified_customer_is_named_on_the_escalation(handoff_database, conversation, dispatcher, domain):
    customer_id = lucas_id(handoff_database)
    tracker = make_tracker(sender_id=conversation, intent="request_human",
                           slots={"verification": "verified", "verified_customer_id": str(customer_id)})
    await ActionHandOver().run(dispatcher, tracker, domain)
    [escalation] = escalations_of(handoff_database, conversation)
    assert escalation.customer_id == customer_id


async def test_an_unverified_customer_id_is_not_trusted(handoff_database, conversation, dispatcher, domain):
    customer_id = lucas_id(handoff_database)
    tracker = make_tracker(sender_id=conversation, intent="request_human",
                           slots={"verification": "pending", "verified_customer_id": str(customer_id)})
    await ActionHandOver().run(dispatcher, tracker, domain)
    [escalation] = escalations_of(handoff_database, conversation)
    assert escalation.customer_id is None


async def test_when_the_office_is_closed_the_customer_hears_the_hours_and_the_next_opening(
    handoff_database, conversation, dispatcher, domain, monkeypatch
):
    office, weekday = closed_today()
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", office)

    events = await ActionHandOver().run(dispatcher, make_tracker(sender_id=conversation, intent="request_human"), domain)

    [message] = dispatcher.messages
    assert message["response"] == "utter_office_closed" and fills_its_text(domain, message)
    assert message["office_hours"] == f"{DAY_NAMES[weekday]} 8:00 to 18:00"
    assert message["next_opening"].startswith(DAY_NAMES[weekday] + " ")
    assert message["next_opening"].endswith(" at 8:00")
    assert slot_events(events) == {"agents_available": False}
    [escalation] = escalations_of(handoff_database, conversation)
    assert escalation.status == "waiting"


# The callback

@pytest.mark.parametrize("typed, kept", [("0470 12 34 56", "0470123456"), ("+32 470 12 34 56", "+32470123456")])
def test_a_phone_number_is_accepted_tidied(handoff_database, dispatcher, domain, typed, kept):
    result = ValidateCallbackForm().validate_callback_phone(typed, dispatcher, make_tracker(), domain)
    assert result == {"callback_phone": kept}
    assert dispatcher.messages == []


@pytest.mark.parametrize("typed", ["abc", "123", "call me maybe"])
def test_an_invalid_phone_number_is_explained(handoff_database, dispatcher, domain, typed):
    result = ValidateCallbackForm().validate_callback_phone(typed, dispatcher, make_tracker(), domain)
    assert result == {"callback_phone": None}
    assert responses(dispatcher) == ["utter_invalid_callback_phone"]


def test_a_time_given_where_the_number_was_asked_is_kept_and_the_number_asked_again(handoff_database, dispatcher, domain):
    result = ValidateCallbackForm().validate_callback_phone("tomorrow morning around 10", dispatcher, make_tracker(), domain)
    at = datetime.fromisoformat(result["callback_time"]).astimezone(BRUSSELS)
    assert result["callback_phone"] is None and (at.date(), at.hour) == (LOCAL_NOW.date() + timedelta(days=1), 10)
    assert responses(dispatcher) == ["utter_callback_time_noted"]


def test_a_time_in_office_hours_is_kept(handoff_database, dispatcher, domain):
    result = ValidateCallbackForm().validate_callback_time("tomorrow at 15:00", dispatcher, make_tracker(), domain)
    at = datetime.fromisoformat(result["callback_time"]).astimezone(BRUSSELS)
    assert (at.date(), at.hour, at.minute) == (LOCAL_NOW.date() + timedelta(days=1), 15, 0)
    assert dispatcher.messages == []


def test_a_time_when_the_office_is_closed_is_explained_with_the_hours(handoff_database, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", "Mon-Sun 09:00-10:00")
    result = ValidateCallbackForm().validate_callback_time("tomorrow at 15:00", dispatcher, make_tracker(), domain)
    assert result == {"callback_time": None}
    [message] = dispatcher.messages
    assert message["response"] == "utter_invalid_callback_time_closed" and fills_its_text(domain, message)
    assert message["office_hours"] == "Monday to Sunday 9:00 to 10:00"


@pytest.mark.parametrize("typed, response", [
    ("yesterday", "utter_invalid_callback_time_past"),
    ("in 3 weeks", "utter_invalid_callback_time_too_far"),
    ("blah", "utter_invalid_callback_time_unclear"),
])
def test_other_unusable_times_are_explained(handoff_database, dispatcher, domain, typed, response):
    result = ValidateCallbackForm().validate_callback_time(typed, dispatcher, make_tracker(), domain)
    assert result == {"callback_time": None}
    assert responses(dispatcher) == [response]
    assert response in domain["responses"]


async def test_the_callback_is_saved_on_the_escalation_and_confirmed(handoff_database, conversation, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("SETTLE_OFFICE_HOURS", closed_today()[0])
    await ActionHandOver().run(CollectingDispatcher(), make_tracker(sender_id=conversation, intent="request_human"), domain)
    at = (LOCAL_NOW + timedelta(days=2)).replace(hour=10, minute=30, second=0, microsecond=0)
    tracker = make_tracker(sender_id=conversation, slots={"callback_phone": "0470123456", "callback_time": at.isoformat()})

    events = await ActionSaveCallback().run(dispatcher, tracker, domain)

    [escalation] = escalations_of(handoff_database, conversation)
    assert (escalation.callback_phone, escalation.callback_at) == ("0470123456", at)
    [message] = dispatcher.messages
    assert message["response"] == "utter_callback_booked" and fills_its_text(domain, message)
    assert message["phone"] == "0470123456"
    assert message["day"] == f"{DAY_NAMES[at.weekday()]} {at.day} {at:%B %Y}"
    assert message["time"] == "10:30"
    assert slot_events(events) == {"callback_phone": None, "callback_time": None}


async def test_no_callback_is_promised_when_nothing_could_be_stored(handoff_database, conversation, dispatcher, domain):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation)
    with session_factory(handoff_database).begin() as session:
        close(session, escalation_id, agent_id, EscalationStatus.RESOLVED, NOW)
    at = (LOCAL_NOW + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    tracker = make_tracker(sender_id=conversation, slots={"callback_phone": "0470123456", "callback_time": at.isoformat()})

    await ActionSaveCallback().run(dispatcher, tracker, domain)

    assert escalations_of(handoff_database, conversation)[0].callback_phone is None
    assert responses(dispatcher) == ["utter_callback_not_needed"]


# The live takeover

async def test_the_customer_is_told_who_joined_and_the_bot_steps_back(handoff_database, conversation, dispatcher, domain):
    agent_has_the_chat(handoff_database, conversation, name="Dana")
    tracker = from_the_console(make_tracker(sender_id=conversation, intent="EXTERNAL_agent_joined", active_loop="callback_form",
                                            slots={"requested_slot": "callback_time"}))

    events = await ActionAgentJoined().run(dispatcher, tracker, domain)

    [message] = dispatcher.messages
    assert message["response"] == "utter_agent_joined" and fills_its_text(domain, message)
    assert message["agent_name"] == "Dana"
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events)["with_agent"] is True
    assert slot_events(events)["requested_slot"] is None


async def test_no_one_joins_when_no_agent_has_the_chat(handoff_database, conversation, dispatcher, domain):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation)
    with session_factory(handoff_database).begin() as session:
        close(session, escalation_id, agent_id, EscalationStatus.RESOLVED, NOW)
    tracker = from_the_console(make_tracker(sender_id=conversation, intent="EXTERNAL_agent_joined"))
    events = await ActionAgentJoined().run(dispatcher, tracker, domain)
    assert events == [] and dispatcher.messages == []


async def test_what_the_customer_writes_goes_to_the_agent_and_the_bot_stays_silent(handoff_database, conversation, dispatcher, domain):
    escalation_id, _ = agent_has_the_chat(handoff_database, conversation)
    tracker = make_tracker(sender_id=conversation, text="my meter reads 12345", slots={"with_agent": True})

    events = await ActionRelayToAgent().run(dispatcher, tracker, domain)

    assert events == [] and dispatcher.messages == []
    with session_factory(handoff_database).begin() as session:
        assert [(m.author, m.text) for m in messages(session, escalation_id)] == [("customer", "my meter reads 12345")]


async def test_a_message_after_the_agent_left_gives_the_chat_back_to_the_bot(handoff_database, conversation, dispatcher, domain):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation)
    with session_factory(handoff_database).begin() as session:
        close(session, escalation_id, agent_id, EscalationStatus.HANDED_BACK, NOW)
    tracker = make_tracker(sender_id=conversation, text="hello?", slots={"with_agent": True})

    events = await ActionRelayToAgent().run(dispatcher, tracker, domain)

    assert slot_events(events) == {"with_agent": False}
    with session_factory(handoff_database).begin() as session:
        assert messages(session, escalation_id) == []


async def test_the_agents_replies_reach_the_customer_in_order_and_once(handoff_database, conversation, dispatcher, domain):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation)
    with session_factory(handoff_database).begin() as session:
        reply(session, escalation_id, agent_id, "Hello, I'm Dana.", NOW)
        add_note(session, escalation_id, agent_id, "Customer sounds upset", NOW)
        reply(session, escalation_id, agent_id, "Let me look at your bill.", NOW)
    tracker = from_the_console(make_tracker(sender_id=conversation, intent="EXTERNAL_agent_message", slots={"with_agent": True}))

    events = await ActionRelayAgentMessages().run(dispatcher, tracker, domain)
    again = CollectingDispatcher()
    await ActionRelayAgentMessages().run(again, tracker, domain)

    assert [m["text"] for m in dispatcher.messages] == ["Hello, I'm Dana.", "Let me look at your bill."]
    assert [m["agent_name"] for m in dispatcher.messages] == ["Dana", "Dana"]  # the widget shows a person wrote them
    assert events == []
    assert again.messages == []


async def test_when_the_agent_leaves_the_bot_says_so_and_takes_over(handoff_database, conversation, dispatcher, domain):
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation, name="Dana")
    with session_factory(handoff_database).begin() as session:
        close(session, escalation_id, agent_id, EscalationStatus.HANDED_BACK, NOW)
    tracker = from_the_console(make_tracker(sender_id=conversation, intent="EXTERNAL_agent_left", slots={"with_agent": True}))

    events = await ActionAgentLeft().run(dispatcher, tracker, domain)

    [message] = dispatcher.messages
    assert message["response"] == "utter_agent_left" and fills_its_text(domain, message)
    assert message["agent_name"] == "Dana"
    assert slot_events(events) == {"with_agent": False}


async def test_nothing_is_said_about_leaving_when_no_agent_was_there(handoff_database, conversation, dispatcher, domain):
    tracker = from_the_console(make_tracker(sender_id=conversation, intent="EXTERNAL_agent_left", slots={"with_agent": None}))
    assert await ActionAgentLeft().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


@pytest.mark.parametrize("forged", ["typed", "expired", "other conversation", "other intent"])
async def test_takeover_events_the_console_did_not_sign_do_nothing(handoff_database, conversation, dispatcher, domain, forged):
    """A customer typing /EXTERNAL_agent_left (or replaying a console event) sees no "the agent left"."""
    escalation_id, agent_id = agent_has_the_chat(handoff_database, conversation, name="Dana")
    with session_factory(handoff_database).begin() as session:
        reply(session, escalation_id, agent_id, "Hello, I'm Dana.", NOW)

    for action, intent in ((ActionAgentJoined(), "EXTERNAL_agent_joined"), (ActionRelayAgentMessages(), "EXTERNAL_agent_message"),
                           (ActionAgentLeft(), "EXTERNAL_agent_left")):
        tracker = make_tracker(sender_id=conversation, intent=intent, text=f"/{intent}", slots={"with_agent": True})
        if forged == "expired":
            from_the_console(tracker, at=NOW - CONSOLE_EVENT_LIFETIME - timedelta(seconds=1))
        elif forged == "other conversation":
            from_the_console(tracker, conversation=f"{conversation}-other")
        elif forged == "other intent":
            from_the_console(tracker)
            tracker.latest_message["intent"]["name"] = "EXTERNAL_agent_joined" if intent != "EXTERNAL_agent_joined" else "EXTERNAL_agent_left"
        assert await action.run(dispatcher, tracker, domain) == [], intent

    assert dispatcher.messages == []
