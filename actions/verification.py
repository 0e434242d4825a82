"""Checking who the customer is: the form on the website, the signed token in the app."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import language_of, verified_customer_id
from actions.understanding import understood
from settle.clock import format_moment
from settle.handoff import services as handoff
from settle.identity import language, services
from settle.identity.verification import Answers, Lockout, Outcome, parse_customer_number
from settle.insights import services as insights
from settle.outreach import texts
from settle.unit_of_work import unit_of_work

FINISHED = ("verified", "locked")
ANSWERS = ("customer_number", "postcode", "birth_date")


def _say_paused(dispatcher: CollectingDispatcher, paused: Lockout, language: str) -> None:
    """A pause for everyone says how many minutes; a pause of this chat says until when, and offers a person
    now only while the team is there (else when it will be)."""
    uow = unit_of_work()
    if paused.everyone:
        dispatcher.utter_message(response="utter_verification_busy", minutes=services.minutes_left(uow, paused))
        return
    until = format_moment(paused.until, paused.until.tzinfo, "time", language)
    team = handoff.team_hours(uow, language)
    if team.open_now:
        dispatcher.utter_message(response="utter_verification_locked", locked_until=until)
    else:
        dispatcher.utter_message(
            response="utter_verification_locked_office_closed", locked_until=until,
            office_hours=team.office_hours, next_opening=team.next_opening,
        )


def _say_verified(dispatcher: CollectingDispatcher, first_name: str, switched_to: str | None) -> None:
    """The thank-you, already in the customer's own language when verifying switches to it: Rasa would fill the
    response in from the slots as they were before this action, so then the same wording is filled in here."""
    if switched_to is None:
        dispatcher.utter_message(response="utter_verified", first_name=first_name)
    else:
        dispatcher.utter_message(text=texts.render("utter_verified", {"first_name": first_name}, language=switched_to))


def _typed(value: Any) -> str | None:
    """What was typed or extracted, when it is text or a number; None for anything else (a dict, a list, ...)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)


def _said_since_form_started(tracker: Tracker, response: str) -> bool:
    """Whether the bot sent this response since the verification form last started."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == "verify_customer_form":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in (response, f"{response}_again"):
            return True
    return False


def _metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = tracker.latest_message.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def language_slots(tracker: Tracker, customer_id: int | None) -> dict[str, str]:
    """The conversation's language after the latest message (the `language` slot the responses follow), when it
    changed: from what was typed, the page's or app's `language` in the metadata and the customer's preference."""
    current = language.current_language(tracker.get_slot("language"), tracker.get_slot("language_basis"))
    text = tracker.latest_message.get("text") or ""
    decided = services.conversation_language(unit_of_work(), current, text, _metadata(tracker).get("language"), customer_id)
    if decided == current:
        return {}
    return {"language": decided.language, "language_basis": decided.basis.value}


def source_of(tracker: Tracker) -> str:
    """Where the message came from: the client address a channel passes in the metadata, else the conversation."""
    client = _metadata(tracker).get("client")
    return client if isinstance(client, str) and client else tracker.sender_id


class ActionCheckMessage(Action):
    """Runs after every message, as the custom mapping of the identity and language slots: notes a customer's
    message for the figures and, masked, for the conversation review (settle/insights/messages.py), a valid
    signed app token in the metadata verifies without questions, and the conversation's language follows the
    message. (Card numbers are masked, with a warning, by the channels before a message gets here: channels/door.py.)"""

    def name(self) -> str:
        return "action_check_message"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if intent.startswith("EXTERNAL_"):  # Settle's own events (reminders, the console) are no messages
            return []
        events: list[EventType] = []
        customer_id = verified_customer_id(tracker)
        token = _metadata(tracker).get("auth_token")
        customer = services.verify_by_app_token(unit_of_work(), token, tracker.sender_id) if token else None
        if customer is not None:
            customer_id = customer.customer_id
            events = [SlotSet("verification", "verified"), SlotSet("verified_customer_id", str(customer_id))]
        languages = language_slots(tracker, customer_id)
        spoken = languages.get("language") or language.current_language(tracker.get_slot("language"), None).language
        insights.note_message(unit_of_work(), tracker.sender_id, understood(tracker, spoken, customer_id))
        return events + [SlotSet(slot, value) for slot, value in languages.items()]


class ValidateVerifyCustomerForm(FormValidationAction):
    """Asks customer number, postcode and date of birth, and checks them together once all three are known,
    so the reply never tells whether the number exists. Too many wrong answers pause checks for a while.

    The form ends as soon as `verification` is verified or locked. The answers themselves are
    cleared either way, so no postcode or date of birth stays in the conversation's slots.
    """

    def name(self) -> str:
        return "validate_verify_customer_form"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("verification") == "verified":
            return [SlotSet("requested_slot", None)]
        paused = services.lockout(unit_of_work(), tracker.sender_id, source_of(tracker))
        if paused:
            _say_paused(dispatcher, paused, language_of(tracker))
            return [SlotSet(slot, None) for slot in ANSWERS] + [SlotSet("verification", "locked"), SlotSet("requested_slot", None)]
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
        """The number from what was extracted or, when that is only a part of it ("5000" of "5000 0066"), from the
        whole message; a postcode typed beside it is kept too, so it isn't asked again."""
        typed, message = _typed(value), tracker.latest_message.get("text") or ""
        number = (parse_customer_number(typed) if typed is not None else None) or parse_customer_number(message)
        if number is None:
            # Said once; after that, how to get out: a person, or stopping, instead of the same words again.
            again = _said_since_form_started(tracker, "utter_invalid_customer_number")
            dispatcher.utter_message(response="utter_invalid_customer_number_again" if again else "utter_invalid_customer_number")
            return {"customer_number": None}
        beside = services.read_postcode_beside_number(message)
        return {"customer_number": number, **({"postcode": beside} if beside else {})}

    def validate_postcode(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        typed = _typed(value)
        if tracker.get_slot("requested_slot") != "postcode":
            # Picked up with the customer number: kept only when the message clearly holds both, else asked later.
            return {"postcode": services.read_postcode_beside_number(tracker.latest_message.get("text") or "")}
        postcode = services.read_postcode(typed) if typed is not None else None
        if postcode is None:
            dispatcher.utter_message(response="utter_invalid_postcode")
        return {"postcode": postcode}

    def validate_birth_date(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        uow = unit_of_work()
        typed = _typed(value)
        born = services.read_birth_date(uow, typed) if typed is not None else None
        if born is None:
            dispatcher.utter_message(response="utter_invalid_birth_date")
            return {"birth_date": None}
        customer_number, postcode = tracker.get_slot("customer_number"), tracker.get_slot("postcode")
        if customer_number is None or postcode is None:  # asked for again once the others are known
            return {"birth_date": None}
        result = services.check_answers(uow, tracker.sender_id, source_of(tracker), customer_number, Answers(postcode, born))
        cleared = {slot: None for slot in ANSWERS}
        if result.outcome == Outcome.VERIFIED and result.customer is not None:
            customer_id = result.customer.customer_id
            switched = language_slots(tracker, customer_id)
            new_language = switched.get("language", language_of(tracker))
            _say_verified(dispatcher, result.customer.first_name, new_language if new_language != language_of(tracker) else None)
            return {**cleared, **switched, "verification": "verified", "verified_customer_id": str(customer_id)}
        if result.outcome == Outcome.LOCKED and result.lockout is not None:
            _say_paused(dispatcher, result.lockout, language_of(tracker))
            return {**cleared, "verification": "locked"}
        last_try = result.attempts_left == 1  # "(1 tries left)" reads wrong in all three languages
        dispatcher.utter_message(response="utter_verification_failed_last_try" if last_try else "utter_verification_failed",
                                 attempts_left=result.attempts_left)
        return cleared
