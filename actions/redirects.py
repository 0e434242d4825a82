"""Near-domain requests Settle does not handle (moving house, outages, meter readings...): where to go,
from the operator's file, then the offer of a person."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import language_of
from settle.policy import REDIRECT_TOPICS
from settle.unit_of_work import unit_of_work

INTENT_PREFIX = "redirect_"


class ActionRedirect(Action):
    """Says where to go for the topic the customer asked about (an outage's emergency number first), then offers a
    person, except in the middle of a form, whose question comes next."""

    def name(self) -> str:
        return "action_redirect"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        topic = (tracker.latest_message.get("intent") or {}).get("name", "").removeprefix(INTENT_PREFIX)
        if topic not in REDIRECT_TOPICS:
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        where = unit_of_work().redirects.topics[topic]
        dispatcher.utter_message(
            response=f"utter_redirect_{topic}",
            phone=where.phone,
            web_page=where.page_in(language_of(tracker)),
            emergency_phone=where.emergency_phone or where.phone,
        )
        if not tracker.active_loop.get("name"):  # in a form, the form's own question comes next
            dispatcher.utter_message(response="utter_redirect_offer_human")
        return []
