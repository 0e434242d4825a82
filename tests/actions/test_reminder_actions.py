"""A reminder shows in the chat only when the reminder engine signed it."""
from __future__ import annotations

import time

import pytest

from actions.reminders import ActionDeliverReminder
from settle.config import Settings
from settle.signing import link_secret, sign
from tests.actions.conftest import make_tracker, slot_events

VALUES = {"customer_id": "3", "first_name": "Noor", "invoice_number": "INV-2026-000031", "amount": "€58.45",
          "due_date": "26 November 2026", "link": "http://127.0.0.1:8000/pay/x.y", "stage": "nudge",
          "expires": str(int(time.time()) + 3600)}
CONVERSATION = "conversation-1"


@pytest.fixture(autouse=True)
def link_secret_for_tests(monkeypatch):
    monkeypatch.setenv("SETTLE_LINK_SECRET", "reminder-tests-secret")


def reminder_tracker(token: str, response: str = "utter_reminder_nudge", **changes):
    entities = {**VALUES, **changes, "reminder_token": token, "reminder_response": response}
    tracker = make_tracker(intent="EXTERNAL_reminder")
    tracker.latest_message["entities"] = [{"entity": k, "value": v} for k, v in entities.items()]
    return tracker


def good_token(conversation: str = CONVERSATION, expires: str = VALUES["expires"]) -> str:
    return sign(
        link_secret(Settings.from_environment()), "reminder",
        VALUES["customer_id"], VALUES["invoice_number"], VALUES["stage"], conversation, expires,
    )


async def test_a_signed_reminder_is_shown_and_the_chat_knows_the_bill(dispatcher, domain):
    events = await ActionDeliverReminder().run(dispatcher, reminder_tracker(good_token()), domain)
    assert [message["text"] for message in dispatcher.messages] == [
        domain["responses"]["utter_reminder_nudge"][0]["text"].format(**VALUES)
    ]
    assert slot_events(events)["invoice_number"] == "INV-2026-000031"
    assert "verification" not in slot_events(events)  # the bill, never a verification


@pytest.mark.parametrize("language, says", [
    ("nl", "Dag Noor, factuur INV-2026-000031 van € 58,45 moest betaald zijn tegen 26 november 2026."),
    ("fr", "Bonjour Noor, la facture INV-2026-000031 de 58,45 € était à payer pour le 26 novembre 2026."),
    ("en", "Hi Noor, bill INV-2026-000031 of €58.45 was due on 26 November 2026."),
])
async def test_a_reminder_speaks_the_customers_language_and_the_chat_goes_on_in_it(dispatcher, domain, language, says):
    formatted = {"nl": ("€ 58,45", "26 november 2026"), "fr": ("58,45 €", "26 novembre 2026"),
                 "en": ("€58.45", "26 November 2026")}[language]
    tracker = reminder_tracker(good_token(), amount=formatted[0], due_date=formatted[1], language=language)
    events = await ActionDeliverReminder().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].replace("\xa0", " ").startswith(says)
    assert slot_events(events)["language"] == language
    assert slot_events(events)["language_basis"] == "stored"


async def test_a_language_the_customer_asked_for_in_the_chat_wins_over_the_stored_one(dispatcher, domain):
    tracker = reminder_tracker(good_token(), language="nl")
    tracker.slots.update({"language": "fr", "language_basis": "requested"})
    events = await ActionDeliverReminder().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].startswith("Bonjour Noor")
    assert "language" not in slot_events(events)


@pytest.mark.parametrize("changes", [{"customer_id": "4"}, {"invoice_number": "INV-2026-000001"}, {"stage": "review"},
                                     {"expires": str(int(time.time()) + 7200)}])
async def test_a_reminder_with_changed_values_is_ignored(dispatcher, domain, changes):
    assert await ActionDeliverReminder().run(dispatcher, reminder_tracker(good_token(), **changes), domain) == []
    assert dispatcher.messages == []


async def test_a_typed_reminder_without_signature_is_ignored(dispatcher, domain):
    assert await ActionDeliverReminder().run(dispatcher, reminder_tracker("forged"), domain) == []
    assert await ActionDeliverReminder().run(dispatcher, reminder_tracker(good_token(), response="utter_iamabot"), domain) == []
    assert dispatcher.messages == []


async def test_a_reminder_replayed_in_another_conversation_or_late_is_ignored(dispatcher, domain):
    elsewhere = reminder_tracker(good_token(conversation="someone-elses-chat"))
    assert await ActionDeliverReminder().run(dispatcher, elsewhere, domain) == []
    past = str(int(time.time()) - 1)
    late = reminder_tracker(good_token(expires=past), expires=past)
    assert await ActionDeliverReminder().run(dispatcher, late, domain) == []
    assert dispatcher.messages == []
