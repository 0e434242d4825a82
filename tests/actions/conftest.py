"""Action tests: real rasa-sdk Trackers and a CollectingDispatcher, against the seeded test database."""
from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete

from settle.db import session_factory
from settle.models import (
    Conversation,
    ConversationMessage,
    Escalation,
    EscalationMessage,
    MessageMark,
    PaymentLink,
    VerificationFailure,
    VerificationLockout,
    payment_link_invoices,
)
from tests.conftest import NOW, seeded_sqlite

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text())


@pytest.fixture
def actions_database(database_url, monkeypatch):
    """Points the actions at the shared test database; forgets verification attempts, links, the chats
    noted for the figures and the review, and the agents' queue afterwards."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SETTLE_LINK_SECRET", "action-tests-link-secret")
    monkeypatch.setenv("SETTLE_NOW", NOW.isoformat())
    yield database_url
    with session_factory(database_url).begin() as session:
        session.execute(delete(VerificationFailure))
        session.execute(delete(VerificationLockout))
        session.execute(delete(payment_link_invoices))
        session.execute(delete(PaymentLink))
        session.execute(delete(EscalationMessage))
        session.execute(delete(Escalation))
        session.execute(delete(MessageMark))
        session.execute(delete(ConversationMessage))
        session.execute(delete(Conversation))


@pytest.fixture
def fresh_actions_database(tmp_path, monkeypatch):
    """A database of its own, for tests that record payments the shared one must not see."""
    url = seeded_sqlite(tmp_path / "settle.db", customers=10)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SETTLE_LINK_SECRET", "action-tests-link-secret")
    monkeypatch.setenv("SETTLE_NOW", NOW.isoformat())
    return url


@pytest.fixture
def domain() -> dict:
    return DOMAIN


class CheckingDispatcher(CollectingDispatcher):
    """Collects like rasa-sdk's dispatcher, and fails the test at once when a response is sent without a value
    one of its texts needs (Rasa would show the customer the raw `{placeholder}`)."""

    def utter_message(self, text=None, image=None, json_message=None, template=None, response=None,
                      attachment=None, buttons=None, elements=None, **kwargs):
        if response is not None:
            for variation in DOMAIN["responses"][response]:
                missing = placeholders(variation.get("text") or "") - set(kwargs) - set(DOMAIN["slots"])
                assert not missing, f"{response} was sent without {sorted(missing)}"
        super().utter_message(text, image, json_message, template, response, attachment, buttons, elements, **kwargs)


def placeholders(text: str) -> set[str]:
    """The names a response text fills in: {amount}, {due_date}, ..."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CheckingDispatcher()


def make_tracker(
    sender_id: str = "conversation-1",
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    metadata: dict | None = None,
    just_set: dict[str, Any] | None = None,
    active_loop: str | None = None,
    earlier_events: list[dict] | None = None,
) -> Tracker:
    """A tracker as the action server receives it: the latest user message, then the slots it set."""
    just_set = just_set or {}
    all_slots = {name: None for name in DOMAIN["slots"]} | (slots or {}) | just_set
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [], "metadata": metadata or {}}
    events = (earlier_events or []) + [{"event": "user", "text": text, "parse_data": message, "metadata": metadata or {}}]
    events += [{"event": "slot", "name": name, "value": value} for name, value in just_set.items()]
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    """The names of the responses an action sent, in order."""
    return [message["response"] for message in dispatcher.messages]


def slot_events(events: list[dict]) -> dict[str, Any]:
    """The slots an action set, last value wins."""
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
