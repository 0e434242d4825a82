"""Stopping reminders and starting them again from the chat: only for a verified customer, on the channel named."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.opt_outs import ActionRestartReminders, ActionStopReminders
from settle.db import session_factory
from settle.models import Customer, ReminderChoice
from tests.actions.conftest import make_tracker, responses


def someone(url: str) -> int:
    with session_factory(url)() as session:
        return session.execute(select(Customer.id).order_by(Customer.id).limit(1)).scalar_one()


def kept(url: str) -> list[tuple[str, bool, str]]:
    with session_factory(url)() as session:
        return [(c.channel, c.opted_out, str(c.source)) for c in session.execute(
            select(ReminderChoice).order_by(ReminderChoice.id)).scalars()]


def verified(customer_id: int, text: str, intent: str):
    return make_tracker(slots={"verification": "verified", "verified_customer_id": str(customer_id)}, text=text,
                        intent=intent)


@pytest.mark.parametrize("text, channel", [
    ("no more SMS please", "sms"),
    ("stop met die sms'jes", "sms"),
    ("arrêtez les rappels par e-mail", "email"),
    ("stop sending me reminders", "all"),
])
async def test_a_verified_customer_stops_reminders_on_the_channel_named(fresh_actions_database, dispatcher, domain,
                                                                        text, channel):
    customer_id = someone(fresh_actions_database)
    await ActionStopReminders().run(dispatcher, verified(customer_id, text, "stop_reminders"), domain)
    assert responses(dispatcher) == [f"utter_reminders_stopped_{channel}"]
    assert kept(fresh_actions_database) == [(channel, True, "chat")]


async def test_two_channels_named_stop_both(fresh_actions_database, dispatcher, domain):
    customer_id = someone(fresh_actions_database)
    await ActionStopReminders().run(dispatcher, verified(customer_id, "no more texts or emails", "stop_reminders"), domain)
    assert sorted(responses(dispatcher)) == ["utter_reminders_stopped_email", "utter_reminders_stopped_sms"]


async def test_send_reminders_again_starts_them_everywhere(fresh_actions_database, dispatcher, domain):
    customer_id = someone(fresh_actions_database)
    await ActionStopReminders().run(dispatcher, verified(customer_id, "stop all reminders", "stop_reminders"), domain)
    await ActionRestartReminders().run(dispatcher, verified(customer_id, "send reminders again", "restart_reminders"), domain)
    assert responses(dispatcher) == ["utter_reminders_stopped_all", "utter_reminders_restarted_all"]
    assert kept(fresh_actions_database) == [("all", True, "chat"), ("all", False, "chat")]


@pytest.mark.parametrize("action, intent", [(ActionStopReminders, "stop_reminders"),
                                            (ActionRestartReminders, "restart_reminders")])
async def test_nobody_unverified_changes_anyones_reminders(fresh_actions_database, dispatcher, domain, action, intent):
    tracker = make_tracker(slots={"verified_customer_id": str(someone(fresh_actions_database))}, text="no more sms",
                           intent=intent)
    await action().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_need_verification"]
    assert kept(fresh_actions_database) == []
