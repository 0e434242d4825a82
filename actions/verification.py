"""Checking who the customer is: the form on the website, the signed token in the app."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import queue_for_a_person
from settle.clock import format_moment
from settle.identity import services
from settle.identity.verification import Outcome, parse_customer_number
from settle.models import EscalationReason
from settle.unit_of_work import unit_of_work

FINISHED = ("verified", "locked")


def _say_locked(dispatcher: CollectingDispatcher, until: datetime) -> None:
    dispatcher.utter_message(response="utter_verification_locked", locked_until=format_moment(until, until.tzinfo, "time"))


class ActionCheckMessage(Action):
    """Runs after every message, as the custom mapping of the identity slots: a valid signed app
    token in the metadata verifies without questions. (Card numbers are masked, with a warning, by the
    channels before a message gets here: channels/door.py.)"""

    def name(self) -> str:
        return "action_check_message"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        token = (tracker.latest_message.get("metadata") or {}).get("auth_token")
        if not token:
            return []
        customer = services.verify_by_app_token(unit_of_work(), token, tracker.sender_id)
        if customer is None:
            return []
        return [SlotSet("verification", "verified"), SlotSet("verified_customer_id", str(customer.customer_id))]


class ValidateVerifyCustomerForm(FormValidationAction):
    """Asks customer number, then postcode or date of birth; too many wrong answers lock for a while.

    The form ends as soon as `verification` is verified or locked. The answers themselves are
    cleared either way, so no postcode or date of birth stays in the conversation's slots.
    """

    def name(self) -> str:
        return "validate_verify_customer_form"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("verification") == "verified":
            return [SlotSet("requested_slot", None)]
        locked = services.lockout_until(unit_of_work(), tracker.sender_id, tracker.get_slot("customer_number"))
        if locked:
            _say_locked(dispatcher, locked)
            return [SlotSet("verification", "locked"), SlotSet("requested_slot", None)]
        events: list[EventType] = []
        if tracker.get_slot("verification") == "locked":  # an earlier lockout has ended
            tracker.slots["verification"] = None
            events.append(SlotSet("verification", None))
        return events + await super().run(dispatcher, tracker, domain)

    async def next_requested_slot(self, dispatcher, tracker: Tracker, domain: DomainDict) -> EventType | None:
        if tracker.get_slot("verification") in FINISHED:
            return SlotSet("requested_slot", None)
        return await super().next_requested_slot(dispatcher, tracker, domain)

    def validate_customer_number(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        number = parse_customer_number(str(value))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_customer_number")
        return {"customer_number": number}

    def validate_postcode_or_birth_date(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        uow = unit_of_work()
        secret = services.read_secret(uow, str(value))
        if secret is None:
            dispatcher.utter_message(response="utter_invalid_postcode_or_birth_date")
            return {"postcode_or_birth_date": None}
        customer_number = tracker.get_slot("customer_number")
        if customer_number is None:  # asked for again once the customer number is known
            return {"postcode_or_birth_date": None}
        result = services.check_answer(uow, tracker.sender_id, customer_number, secret)
        cleared = {"customer_number": None, "postcode_or_birth_date": None}
        if result.outcome == Outcome.VERIFIED and result.customer is not None:
            dispatcher.utter_message(response="utter_verified", first_name=result.customer.first_name)
            return {**cleared, "verification": "verified", "verified_customer_id": str(result.customer.customer_id)}
        if result.outcome == Outcome.LOCKED and result.locked_until is not None:
            _say_locked(dispatcher, result.locked_until)
            queue_for_a_person(tracker, EscalationReason.VERIFICATION_LOCKED)
            return {**cleared, "verification": "locked"}
        dispatcher.utter_message(response="utter_verification_failed", attempts_left=result.attempts_left)
        return cleared
