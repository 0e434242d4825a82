"""Stopping reminders and starting them again from the chat: verified customers only, since it changes their account."""
from __future__ import annotations

from actions.common import AccountAction, text_of_last
from settle.models import OptOutSource
from settle.outreach import services
from settle.outreach.opt_outs import channels_named


class ActionStopReminders(AccountAction):
    """"no more SMS please" stops the SMS reminders; "no texts or e-mails" both; without a channel named, all of them."""

    def name(self) -> str:
        return "action_stop_reminders"

    def answer(self, dispatcher, uow, customer_id, tracker):
        for channel in channels_named(text_of_last(tracker, "stop_reminders")):
            services.choose_reminders(uow, customer_id, channel, True, OptOutSource.CHAT)
            dispatcher.utter_message(response=f"utter_reminders_stopped_{channel}")
        return []


class ActionRestartReminders(AccountAction):
    """"send me reminders again" starts them on every channel; "SMS reminders again please" only by SMS."""

    def name(self) -> str:
        return "action_restart_reminders"

    def answer(self, dispatcher, uow, customer_id, tracker):
        for channel in channels_named(text_of_last(tracker, "restart_reminders")):
            services.choose_reminders(uow, customer_id, channel, False, OptOutSource.CHAT)
            dispatcher.utter_message(response=f"utter_reminders_restarted_{channel}")
        return []
