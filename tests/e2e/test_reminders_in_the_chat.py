"""Reached out first: `settle remind` sends through the chat (real Rasa), e-mail and SMS (local servers),
and a reply to the in-app reminder continues with the bill already known."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import select, update

from settle.clock import FixedClock
from settle.config import Settings
from settle.db import session_factory
from settle.models import Channel, Customer, OutboxMessage, OutboxStatus, Reminder
from settle.outreach.senders import senders_from
from settle.outreach.services import run_reminders
from settle.tooling.seed import PERSONAS
from settle.unit_of_work import UnitOfWork
from tests.conftest import HISTORY_ENDS
from tests.fakes.sms import running_fake_sms
from tests.fakes.smtp import running_smtp_server

OLIVIA = next(p for p in PERSONAS if p.shape == "price_up")  # no other end-to-end test touches her bills
#: The Friday after the seeded bills' due date (26 November 2026), at 10:00 in Brussels: the nudge is due.
FRIDAY = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


def test_reminders_go_out_on_three_channels_and_a_reply_continues_the_journey(stack):
    me = f"e2e-reminded-{uuid.uuid4()}"
    stack.say(me, "what do I owe?")
    stack.say(me, OLIVIA.customer_number)
    stack.say(me, OLIVIA.postcode)
    stack.say(me, OLIVIA.date_of_birth.strftime("%d/%m/%Y"))  # verified: this chat is where Olivia's in-app reminders go
    with session_factory(stack.database_url).begin() as session:
        session.execute(update(Customer).where(Customer.customer_number == OLIVIA.customer_number).values(preferred_channel=Channel.CHAT))

    with running_smtp_server() as mail, running_fake_sms("sms-key") as sms:
        settings = replace(
            Settings.from_environment(), database_url=stack.database_url, link_secret=stack.env["SETTLE_LINK_SECRET"],
            public_url=stack.web_url, rasa_url=stack.rasa_url, rasa_api_token=stack.env["RASA_API_TOKEN"],
            smtp_host=mail.host, smtp_port=mail.port, sms_api_url=sms.url, sms_api_key="sms-key",
        )
        on_friday = UnitOfWork(settings, FixedClock(FRIDAY, settings.timezone))
        summary = run_reminders(on_friday, senders_from(settings))
        again = run_reminders(on_friday, senders_from(settings))

    with session_factory(stack.database_url).begin() as session:  # what went wrong, should a send fail
        errors = session.execute(select(OutboxMessage.channel, OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))).all()
    assert summary.sent.get("chat") == 1 and summary.sent.get("email", 0) > 0 and summary.sent.get("sms", 0) > 0, (summary, errors)
    assert summary.failed == 0 and not again.claimed and not again.sent  # never twice
    with session_factory(stack.database_url).begin() as session:
        ours = Reminder.created_at >= HISTORY_ENDS  # the seeded demo history holds reminders of earlier weeks
        claimed = session.execute(select(Reminder.stage).where(ours)).scalars().all()
        sent = session.execute(select(OutboxMessage.channel).join(Reminder, OutboxMessage.reminder_id == Reminder.id)
                               .where(ours, OutboxMessage.status == OutboxStatus.SENT)).scalars().all()
    assert set(claimed) <= {"nudge", "second", "review", "heads_up"} and len(sent) == len(mail.messages) + len(sms.messages) + 1
    assert all("/pay/" in message.get_body(("plain",)).get_content() for message in mail.messages)
    assert all("/pay/" in message["text"] for message in sms.messages)

    shown = stack.bot_said(me)
    assert any(reminder.startswith(f"Hi {OLIVIA.first_name}") and "was due on 26 November 2026" in reminder for reminder in shown), shown
    replies = stack.say(me, "pay now")
    assert any("/pay/" in reply for reply in replies), replies  # the bill is known: straight to its link


def test_a_typed_reminder_does_nothing(stack):
    me = f"e2e-forged-{uuid.uuid4()}"
    replies = stack.say(me, '/EXTERNAL_reminder{"customer_id": "1", "reminder_response": "utter_reminder_nudge", "reminder_token": "x"}')
    assert not any("Hi " in reply for reply in replies)
    replies = stack.say(me, "how much do I owe?")
    assert not any("€" in reply for reply in replies)
