"""A person from the team: the hand-over, the callback outside office hours, and the live takeover.

The takeover actions are run by AgentTakeoverPolicy (components/agent_takeover.py) when the console
triggers the EXTERNAL_agent_* intents through Rasa's HTTP API, and for every customer message while
an agent has the chat.
"""
from __future__ import annotations

from datetime import datetime

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import language_of, verified_customer_id
from settle.errors import CallbackProblem
from settle.handoff import services
from settle.handoff.takeover import chat_lines
from settle.models import EscalationReason
from settle.unit_of_work import unit_of_work

#: Why the customer is handed over, by the intent that led here; anything else means they asked.
REASON_BY_INTENT = {  # affirm: yes to utter_offer_human
    "express_frustration": EscalationReason.UPSET,
    "affirm": EscalationReason.REPEATED_FALLBACK,
}
#: Small talk that says nothing about what the customer needed.
NOT_A_TOPIC = {"greet", "goodbye", "thank", "affirm", "deny", "inform", "request_human", "express_frustration"}


def _intent(event: dict) -> str:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""


def chat_so_far(tracker: Tracker) -> list[dict]:
    """The customer's and the bot's messages so far, oldest first, as they may be kept."""
    return chat_lines(tracker.events)


def topics_asked(tracker: Tracker) -> list[str]:
    """What the customer asked the bot about, in order, each once (nlu_fallback: not understood)."""
    topics: list[str] = []
    for event in tracker.events:
        intent = _intent(event) if event.get("event") == "user" else ""
        if intent and intent not in NOT_A_TOPIC and not intent.startswith("EXTERNAL_") and intent not in topics:
            topics.append(intent)
    return topics


def from_the_console(tracker: Tracker) -> bool:
    """Whether the takeover event that started this turn was signed by the console: a customer typing
    `/EXTERNAL_agent_left` sends the intent, not a signature, and then nothing happens."""
    intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
    entities = {entity["entity"]: str(entity["value"]) for entity in tracker.latest_message.get("entities") or []}
    return services.console_event_is_genuine(unit_of_work(), intent, tracker.sender_id, entities)


def queue_for_a_person(tracker: Tracker, reason: EscalationReason) -> services.HandedOver:
    """Puts this chat in the agents' queue with what was said so far; the result says what to tell the customer."""
    return services.hand_over(
        unit_of_work(), reason, tracker.sender_id, verified_customer_id(tracker), chat_so_far(tracker), topics_asked(tracker),
        language_of(tracker),
    )


class ActionHandOver(Action):
    """Queues the chat for a person and says roughly when one joins, or offers a callback when closed."""

    def name(self) -> str:
        return "action_hand_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reason = REASON_BY_INTENT.get((tracker.latest_message.get("intent") or {}).get("name") or "", EscalationReason.ASKED)
        handed = queue_for_a_person(tracker, reason)
        if handed.office_open:
            dispatcher.utter_message(response="utter_agent_will_join", minutes=handed.wait_minutes)
        else:
            dispatcher.utter_message(
                response="utter_office_closed", office_hours=handed.office_hours, next_opening=handed.next_opening
            )
        return [SlotSet("agents_available", handed.office_open)]


class ValidateCallbackForm(FormValidationAction):
    """The phone number and the time for a callback, checked against the office hours."""

    def name(self) -> str:
        return "validate_callback_form"

    def validate_callback_phone(self, value, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            return {"callback_phone": services.check_callback_phone(value)}
        except CallbackProblem:
            pass
        when = services.check_callback_time(unit_of_work(), str(value), language_of(tracker))
        if when.at is not None:  # "tomorrow morning around 10" where the number was asked: kept, not asked again
            dispatcher.utter_message(response="utter_callback_time_noted")
            return {"callback_phone": None, "callback_time": when.at.isoformat()}
        dispatcher.utter_message(response="utter_invalid_callback_phone")
        return {"callback_phone": None}

    def validate_callback_time(self, value, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        checked = services.check_callback_time(unit_of_work(), value, language_of(tracker))
        if checked.at is None:
            dispatcher.utter_message(response=f"utter_invalid_callback_time_{checked.refusal}", office_hours=checked.office_hours)
            return {"callback_time": None}
        return {"callback_time": checked.at.isoformat()}


class ActionSaveCallback(Action):
    """Stores the callback with the conversation's waiting escalation and confirms it."""

    def name(self) -> str:
        return "action_save_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        at = datetime.fromisoformat(tracker.get_slot("callback_time"))
        booked = services.book_callback(
            unit_of_work(), tracker.sender_id, tracker.get_slot("callback_phone"), at, language_of(tracker)
        )
        cleared = [SlotSet("callback_phone", None), SlotSet("callback_time", None)]
        if booked is None:  # a person took the chat (or closed it) while the customer was answering
            dispatcher.utter_message(response="utter_callback_not_needed")
            return cleared
        dispatcher.utter_message(response="utter_callback_booked", phone=booked.phone, day=booked.day, time=booked.time)
        return cleared


class ActionAgentJoined(Action):
    """An agent claimed the chat in the console: the customer is told, and the bot falls silent."""

    def name(self) -> str:
        return "action_agent_joined"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not from_the_console(tracker):
            return []
        agent_name = services.agent_joined(unit_of_work(), tracker.sender_id)
        if agent_name is None:  # closed again before this arrived
            return []
        dispatcher.utter_message(response="utter_agent_joined", agent_name=agent_name)
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("with_agent", True)]


class ActionRelayToAgent(Action):
    """A customer message while an agent has the chat: kept for the agent; the bot says nothing."""

    def name(self) -> str:
        return "action_relay_to_agent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        kept = services.relay_to_agent(unit_of_work(), tracker.sender_id, tracker.latest_message.get("text") or "")
        return [] if kept else [SlotSet("with_agent", False)]  # nobody has it any more


class ActionRelayAgentMessages(Action):
    """Sends the agent's replies that are waiting for this chat, in order, each once, marked with the
    agent's name (`agent_name`): the chat widget shows them as a person's, not the bot's."""

    def name(self) -> str:
        return "action_relay_agent_messages"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not from_the_console(tracker):
            return []
        for reply in services.undelivered_replies(unit_of_work(), tracker.sender_id):
            dispatcher.utter_message(text=reply.text, agent_name=reply.agent_name)
        return []


class ActionAgentLeft(Action):
    """The agent resolved the chat or handed it back: the bot answers again, and says so."""

    def name(self) -> str:
        return "action_agent_left"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if not tracker.get_slot("with_agent") or not from_the_console(tracker):
            return []
        agent_name = services.agent_left(unit_of_work(), tracker.sender_id) or "Our colleague"
        dispatcher.utter_message(response="utter_agent_left", agent_name=agent_name)
        return [SlotSet("with_agent", False)]
