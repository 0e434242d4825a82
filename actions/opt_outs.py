"""Stopping reminders and starting them again from the chat: verified customers only, since it changes their account."""
from __future__ import annotations

from abc import abstractmethod

from actions.common import AccountAction, text_of_last
from settle.models import OptOutSource
from settle.outreach import services
from settle.outreach.opt_outs import channels_named


class ReminderChoiceAction(AccountAction):
    """Records the customer's choice for each channel their message names (all of them when it names none)."""

    intent = ""
    stop = True
    response_prefix = ""

    @abstractmethod
    def name(self) -> str:
        """Abstract here, so that the action server registers only the two actions below."""

    def answer(self, dispatcher, uow, customer_id, tracker):
        for channel in channels_named(text_of_last(tracker, self.intent)):
            services.choose_reminders(uow, customer_id, channel, self.stop, OptOutSource.CHAT)
            dispatcher.utter_message(response=f"{self.response_prefix}{channel}")
        return []


class ActionStopReminders(ReminderChoiceAction):
    """"no more SMS please" stops the SMS reminders; "no texts or e-mails" both; without a channel named, all of them."""

    intent, stop, response_prefix = "stop_reminders", True, "utter_reminders_stopped_"

    def name(self) -> str:
        return "action_stop_reminders"


class ActionRestartReminders(ReminderChoiceAction):
    """"send me reminders again" starts them on every channel; "SMS reminders again please" only by SMS."""

    intent, stop, response_prefix = "restart_reminders", False, "utter_reminders_restarted_"

    def name(self) -> str:
        return "action_restart_reminders"
