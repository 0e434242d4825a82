"""A reminder from the reminder engine, shown in the customer's chat, which then knows the bill."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.types import DomainDict

from settle.config import Settings
from settle.signing import link_secret, signature_matches

#: The values the engine sends with a reminder; the text's placeholders are filled from them.
REMINDER_VALUES = ("first_name", "invoice_number", "amount", "due_date", "link", "stage")


class ActionDeliverReminder(Action):
    """Shows the reminder only when the engine signed it: EXTERNAL_reminder typed by hand does nothing."""

    def name(self) -> str:
        return "action_deliver_reminder"

    async def run(self, dispatcher, tracker: Tracker, domain: DomainDict):
        sent = {entity["entity"]: str(entity["value"]) for entity in tracker.latest_message.get("entities") or []}
        response, token = sent.get("reminder_response", ""), sent.get("reminder_token", "")
        signed = signature_matches(
            link_secret(Settings.from_environment()), token,
            "reminder", sent.get("customer_id"), sent.get("invoice_number"), sent.get("stage"),
        )
        if not signed or not response.startswith("utter_reminder_"):
            return []
        dispatcher.utter_message(response=response, **{key: sent.get(key, "") for key in REMINDER_VALUES})
        return [
            SlotSet("verification", "verified"),
            SlotSet("verified_customer_id", sent["customer_id"]),
            SlotSet("invoice_number", sent.get("invoice_number")),
        ]
