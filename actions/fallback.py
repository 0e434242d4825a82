"""What to do when Settle did not understand: ask to rephrase, and offer a person the second time."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.types import DomainDict

#: Misunderstood messages in a row after which a person is offered.
OFFER_HUMAN_AFTER = 2


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages in a row fell below the NLU confidence threshold."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


class ActionHandleFallback(Action):
    """Runs `utter_offer_human` as its own step, so the rules can follow up on the answer to it."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if misunderstood_in_a_row(tracker) >= OFFER_HUMAN_AFTER:
            return [FollowupAction("utter_offer_human")]
        dispatcher.utter_message(response="utter_please_rephrase")
        return []
