"""What every action needs: a unit of work for its use case, and the verified customer, if any."""
from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from settle.unit_of_work import UnitOfWork, unit_of_work

#: The languages Settle answers in (the `language` slot's values; docs/languages.md).
LANGUAGES = ("nl", "fr", "en")


def language_of(tracker: Tracker) -> str:
    """The language this conversation is in, for values the responses show: the `language` slot, else English."""
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else "en"


def verified_customer_id(tracker: Tracker) -> int | None:
    """The customer this conversation proved to be, or None: never trust anything else."""
    if tracker.get_slot("verification") != "verified":
        return None
    customer_id = tracker.get_slot("verified_customer_id")
    return int(customer_id) if customer_id and str(customer_id).isdigit() else None


def form_customer_id(tracker: Tracker) -> int:
    """For forms that start only after a verified offer: the customer, or 0 (nobody), who owns nothing, so
    every rule then says no rather than answering for someone."""
    return verified_customer_id(tracker) or 0


def text_of_last(tracker: Tracker, intent: str) -> str:
    """What the customer typed when they last asked this (it may have come before verification), else the latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == intent:
            return event.get("text") or ""
    return tracker.latest_message.get("text") or ""


def said_this_turn(tracker: Tracker, *responses: str) -> bool:
    """Whether the bot already sent one of these responses since the customer's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in responses:
            return True
    return False


class AccountAction(Action, ABC):
    """An answer about account data: refuses, whatever the dialogue predicted, unless verified."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_need_verification")
            return []
        return self.answer(dispatcher, unit_of_work(), customer_id, tracker) or []

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, uow: UnitOfWork, customer_id: int, tracker: Tracker) -> list[EventType] | None:
        """Calls the use case for this verified customer and says its result; returns any events."""
