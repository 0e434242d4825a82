"""A reminder from the reminder engine, shown in the customer's chat, which then knows the bill."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.types import DomainDict

from settle.identity import language as languages
from settle.outreach import services, texts
from settle.unit_of_work import unit_of_work

#: The values the engine sends with a reminder; the text's placeholders are filled from them.
REMINDER_VALUES = ("first_name", "invoice_number", "amount", "due_date", "link", "stage", "bill_count", "bills")


class ActionDeliverReminder(Action):
    """Shows the reminder only when the engine signed it for this very conversation and it has not expired.

    The reminder never verifies anyone: the chat learns which bill it is about, and a conversation
    that is not verified (any more) is asked to verify before account details are shown.

    It speaks the customer's stored language (the engine formatted the amounts and dates in it), unless the
    chat already chose a language more firmly (asked for, or the page's): docs/languages.md. Rasa picks a
    response's variation from the slots as they were before this action, so the text is filled in here,
    from the same domain.yml wording the e-mail and SMS use, and the chat carries on in that language.
    """

    def name(self) -> str:
        return "action_deliver_reminder"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        sent = {entity["entity"]: str(entity["value"]) for entity in tracker.latest_message.get("entities") or []}
        response = sent.get("reminder_response", "")
        genuine = services.genuine_reminder(unit_of_work(), tracker.sender_id, sent, sent.get("reminder_token", ""))
        if not genuine or not response.startswith("utter_reminder_"):
            return []
        current = languages.current_language(tracker.get_slot("language"), tracker.get_slot("language_basis"))
        decided = languages.decide(current, "", None, sent.get("language"))
        values = {key: sent.get(key, "") for key in REMINDER_VALUES}
        dispatcher.utter_message(text=texts.render(response, values, language=decided.language))
        events = [SlotSet("invoice_number", sent.get("invoice_number"))]
        if decided != current:
            events += [SlotSet("language", decided.language), SlotSet("language_basis", decided.basis.value)]
        return events
