"""A reminder from the reminder engine, shown in the customer's chat, which then knows the bill."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.types import DomainDict

from settle.outreach import services
from settle.unit_of_work import unit_of_work

#: The values the engine sends with a reminder; the text's placeholders are filled from them.
REMINDER_VALUES = ("first_name", "invoice_number", "amount", "due_date", "link", "stage", "bill_count", "bills")


class ActionDeliverReminder(Action):
    """Shows the reminder only when the engine signed it for this very conversation and it has not expired.

    The reminder never verifies anyone: the chat learns which bill it is about, and a conversation
    that is not verified (any more) is asked to verify before account details are shown.
    """

    def name(self) -> str:
        return "action_deliver_reminder"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        sent = {entity["entity"]: str(entity["value"]) for entity in tracker.latest_message.get("entities") or []}
        response = sent.get("reminder_response", "")
        genuine = services.genuine_reminder(unit_of_work(), tracker.sender_id, sent, sent.get("reminder_token", ""))
        if not genuine or not response.startswith("utter_reminder_"):
            return []
        dispatcher.utter_message(response=response, **{key: sent.get(key, "") for key in REMINDER_VALUES})
        return [SlotSet("invoice_number", sent.get("invoice_number"))]
