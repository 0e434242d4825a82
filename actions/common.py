"""What every action needs: a unit of work for its use case, and the verified customer, if any."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from settle.billing.requests import other_questions
from settle.clock import format_month
from settle.errors import NoBillForMonth
from settle.locales import format_list
from settle.unit_of_work import UnitOfWork, unit_of_work

#: Months with bills named when the month asked for has none, newest first.
MONTHS_SAID = 6
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


def follows_bill_answer(tracker: Tracker) -> bool:
    """Whether the latest message is an `inform` ("and the august one?") right after an answer about one bill,
    so it names another bill for the same question."""
    events = tracker.events
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    if not users or _intent_of(events[users[-1]]) != "inform":
        return False
    actions = [event.get("name") for event in events[:users[-1]] if event.get("event") == "action" and event.get("name") != "action_listen"]
    return bool(actions) and actions[-1] in BILL_ANSWERS


def bill_words(tracker: Tracker, intent: str) -> str:
    """Where to read which bill is meant: a follow-up's own words, else the request's (it may precede verification)."""
    if follows_bill_answer(tracker):
        return tracker.latest_message.get("text") or ""
    return text_of_last(tracker, intent)


def _intent_of(event: dict) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")


def say_no_bill_for_month(dispatcher: CollectingDispatcher, missing: NoBillForMonth, language: str) -> list[EventType]:
    """No bill for the month the customer named: say so, and which months they do have bills for."""
    if missing.months:
        dispatcher.utter_message(
            response="utter_no_bill_for_month", month=format_month(missing.month, language),
            months=format_list([format_month(month, language) for month in missing.months[:MONTHS_SAID]], language),
        )
    else:
        dispatcher.utter_message(response="utter_no_invoices")
    return []


#: The answers about one bill that a follow-up naming another month repeats for that month.
BILL_ANSWERS = ("action_send_invoice_copy", "action_explain_bill", "action_send_payment_link")


class AccountAction(Action, ABC):
    """An answer about account data: refuses, whatever the dialogue predicted, unless verified. A message that
    also asks another account question ("i want to pay and also know why its so high") gets both answers."""

    #: The account question this action answers (the intent), so another action can answer it when it is asked second.
    question: ClassVar[str | None] = None
    _answering: ClassVar[dict[str, type[AccountAction]]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.question is not None:
            AccountAction._answering[cls.question] = cls

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        customer_id = verified_customer_id(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_need_verification")
            return []
        events = self.answer(dispatcher, unit_of_work(), customer_id, tracker) or []
        if self.question is None or follows_bill_answer(tracker):
            return events
        for other in other_questions(text_of_last(tracker, self.question), self.question):
            answering = self._answering.get(other)
            if answering is not None:
                dispatcher.utter_message(response="utter_and_your_other_question")
                events += answering().answer(dispatcher, unit_of_work(), customer_id, tracker) or []
        return events

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, uow: UnitOfWork, customer_id: int, tracker: Tracker) -> list[EventType] | None:
        """Calls the use case for this verified customer and says its result; returns any events."""
