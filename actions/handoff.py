"""A person from the team: the hand-over, the callback outside office hours, and the live takeover.

The takeover actions are run by AgentTakeoverPolicy (components/agent_takeover.py) when the console
triggers the EXTERNAL_agent_* intents through Rasa's HTTP API, and for every customer message while
an agent has the chat.
"""
from __future__ import annotations

from datetime import datetime, timezone

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import database, verified_customer_id
from settle.clock import format_date, now_utc
from settle.config import Settings
from settle.handoff.takeover import (
    CallbackProblem,
    HandOver,
    hand_over,
    last_agent_name,
    parse_callback_time,
    parse_phone,
    record_customer_message,
    request_callback,
    take_undelivered_replies,
    with_agent,
)
from settle.handoff.office_hours import DAY_NAMES, OfficeHours

#: Why the customer is handed over, by the intent that led here; anything else means they asked.
REASON_BY_INTENT = {"express_frustration": "upset", "affirm": "repeated_fallback"}  # affirm: yes to utter_offer_human
#: Small talk that says nothing about what the customer needed.
NOT_A_TOPIC = {"greet", "goodbye", "thank", "affirm", "deny", "inform", "request_human", "express_frustration"}


def office_hours() -> tuple[Settings, OfficeHours]:
    settings = Settings.from_environment()
    return settings, OfficeHours.parse(settings.office_hours, settings.timezone)


def _intent(event: dict) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def chat_so_far(tracker: Tracker) -> list[dict]:
    """The customer's and the bot's messages, oldest first, without Settle's own external events."""
    lines = []
    for event in tracker.events:
        if event.get("event") == "user" and not _intent(event).startswith("EXTERNAL_"):
            who = "customer"
        elif event.get("event") == "bot" and event.get("text"):
            who = "bot"
        else:
            continue
        at = datetime.fromtimestamp(event.get("timestamp") or 0, timezone.utc).isoformat()
        lines.append({"who": who, "text": event.get("text") or "", "at": at})
    return lines


def topics_asked(tracker: Tracker) -> list[str]:
    """What the customer asked the bot about, in order, each once (nlu_fallback: not understood)."""
    topics: list[str] = []
    for event in tracker.events:
        intent = _intent(event) if event.get("event") == "user" else ""
        if intent and intent not in NOT_A_TOPIC and not intent.startswith("EXTERNAL_") and intent not in topics:
            topics.append(intent)
    return topics


def when(moment: datetime, hours: OfficeHours) -> str:
    """ "Monday 23 November 2026 at 8:00", in the company's timezone."""
    local = moment.astimezone(hours.zone)
    return f"{DAY_NAMES[local.weekday()]} {format_date(local.date())} at {local.hour}:{local.minute:02d}"


def queue_for_a_person(tracker: Tracker, reason: str) -> tuple[HandOver, OfficeHours]:
    """Puts this chat in the agents' queue with what was said so far; the office hours come along
    because what to tell the customer depends on them."""
    settings, hours = office_hours()
    with database() as session:
        result = hand_over(
            session, reason, tracker.sender_id, verified_customer_id(tracker), chat_so_far(tracker),
            topics_asked(tracker), hours, settings.minutes_per_waiting_customer, now_utc(),
        )
    return result, hours


class ActionHandOver(Action):
    """Queues the chat for a person and says roughly when one joins, or offers a callback when closed."""

    def name(self) -> str:
        return "action_hand_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reason = REASON_BY_INTENT.get((tracker.latest_message.get("intent") or {}).get("name"), "asked")
        result, hours = queue_for_a_person(tracker, reason)
        if result.office_open:
            dispatcher.utter_message(response="utter_agent_will_join", minutes=result.wait_minutes)
        else:
            dispatcher.utter_message(
                response="utter_office_closed", office_hours=hours.describe(), next_opening=when(result.next_opening, hours)
            )
        return [SlotSet("agents_available", result.office_open)]


class ValidateCallbackForm(FormValidationAction):
    """The phone number and the time for a callback, checked against the office hours."""

    def name(self) -> str:
        return "validate_callback_form"

    def validate_callback_phone(self, value, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            return {"callback_phone": parse_phone(value)}
        except CallbackProblem:
            dispatcher.utter_message(response="utter_invalid_callback_phone")
            return {"callback_phone": None}

    def validate_callback_time(self, value, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        _, hours = office_hours()
        try:
            return {"callback_time": parse_callback_time(value, hours, now_utc()).isoformat()}
        except CallbackProblem as problem:
            dispatcher.utter_message(response=f"utter_invalid_callback_time_{problem.reason}", office_hours=hours.describe())
            return {"callback_time": None}


class ActionSaveCallback(Action):
    """Stores the callback with the conversation's waiting escalation and confirms it."""

    def name(self) -> str:
        return "action_save_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        _, hours = office_hours()
        at = datetime.fromisoformat(tracker.get_slot("callback_time"))
        with database() as session:
            stored = request_callback(session, tracker.sender_id, tracker.get_slot("callback_phone"), at)
        cleared = [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
        if stored is None:  # a person took the chat (or closed it) while the customer was answering
            dispatcher.utter_message(response="utter_callback_not_needed")
            return cleared
        local = at.astimezone(hours.zone)
        dispatcher.utter_message(
            response="utter_callback_booked", phone=tracker.get_slot("callback_phone"),
            day=f"{DAY_NAMES[local.weekday()]} {format_date(local.date())}", time=f"{local.hour}:{local.minute:02d}",
        )
        return cleared


class ActionAgentJoined(Action):
    """An agent claimed the chat in the console: the customer is told, and the bot falls silent."""

    def name(self) -> str:
        return "action_agent_joined"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        with database() as session:
            escalation = with_agent(session, tracker.sender_id)
            agent_name = escalation.agent.name if escalation else None
        if agent_name is None:  # closed again before this arrived
            return []
        dispatcher.utter_message(response="utter_agent_joined", agent_name=agent_name)
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("with_agent", True)]


class ActionRelayToAgent(Action):
    """A customer message while an agent has the chat: kept for the agent; the bot says nothing."""

    def name(self) -> str:
        return "action_relay_to_agent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        with database() as session:
            kept = record_customer_message(session, tracker.sender_id, tracker.latest_message.get("text") or "", now_utc())
        return [] if kept is not None else [SlotSet("with_agent", False)]  # nobody has it any more


class ActionRelayAgentMessages(Action):
    """Sends the agent's replies that are waiting for this chat, in order, each once."""

    def name(self) -> str:
        return "action_relay_agent_messages"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        with database() as session:
            texts = take_undelivered_replies(session, tracker.sender_id, now_utc())
        for text in texts:
            dispatcher.utter_message(text=text)
        return []


class ActionAgentLeft(Action):
    """The agent resolved the chat or handed it back: the bot answers again, and says so."""

    def name(self) -> str:
        return "action_agent_left"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not tracker.get_slot("with_agent"):
            return []
        with database() as session:
            agent_name = last_agent_name(session, tracker.sender_id) or "Our colleague"
        dispatcher.utter_message(response="utter_agent_left", agent_name=agent_name)
        return [SlotSet("with_agent", False)]
