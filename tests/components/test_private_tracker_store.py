"""The tracker store on real Rasa trackers: what it writes holds no card number and no secret verification
answer. On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set; with the project's domain, and with the
form that asks the postcode and the date of birth in two turns."""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from components.private_tracker_store import ANSWER_SECONDS, AnswersInRedis, PrivateSQLTrackerStore, turn_end
from settle.config import process_settings
from settle.db import session_factory
from settle.identity.privacy import ANSWER_REMOVED, CARD_NUMBER_REMOVED
from settle.insights import services as insights
from settle.models import Conversation
from settle.unit_of_work import unit_of_work
from tests.conftest import postgres_url, seeded_sqlite

ROOT = Path(__file__).parents[2]
PROJECT_DOMAIN = Domain.load(ROOT / "domain.yml")
THREE_QUESTIONS = Domain.from_yaml("""
version: "3.1"
slots:
  customer_number: {type: text, mappings: [{type: custom}]}
  postcode: {type: text, mappings: [{type: custom}]}
  birth_date: {type: text, mappings: [{type: custom}]}
forms:
  verify_customer_form:
    required_slots: [customer_number, postcode, birth_date]
""")
ANSWERS = {"postcode": "3271", "birth_date": "14/02/1985", "postcode_or_birth_date": "3271"}
CARD = "4111 1111 1111 1111"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@dataclass(frozen=True)
class Shape:
    domain: Domain
    #: The verification form's secret questions, in the order it asks them.
    secrets: list[str]


@pytest.fixture(params=["domain.yml", "three questions"])
def shape(request) -> Shape:
    domain = PROJECT_DOMAIN if request.param == "domain.yml" else THREE_QUESTIONS
    has_both = any(slot.name == "birth_date" for slot in domain.slots)
    return Shape(domain, ["postcode", "birth_date"] if has_both else ["postcode_or_birth_date"])


@pytest.fixture(params=BACKENDS)
def options(request, tmp_path):
    """The endpoints.yml options of a fresh store: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "trackers.db")}
        return
    url = make_url(postgres_url())
    yield {"dialect": "postgresql", "host": url.host, "port": url.port, "db": url.database, "username": url.username,
           "password": url.password}
    with create_engine(url).begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS events"))


def verification(sender: str, shape: Shape) -> DialogueStateTracker:
    """A card number typed, then the verification form answered, as Rasa's tracker holds it mid-turn."""
    events = [
        UserUttered(f"my card is {CARD}", {"name": "inform", "confidence": 0.9}),
        BotUttered("Please don't type card numbers in the chat."),
        UserUttered("what is my balance", {"name": "check_balance", "confidence": 0.9}),
        ActiveLoop("verify_customer_form"),
        SlotSet("requested_slot", "customer_number"),
        UserUttered("50000017", {"name": "inform", "confidence": 0.9},
                    [{"entity": "customer_number", "value": "50000017", "start": 0, "end": 8}]),
        SlotSet("customer_number", "50000017"),
    ]
    for name in shape.secrets:
        answer = ANSWERS[name]
        events += [SlotSet("requested_slot", name), UserUttered(answer, {"name": "inform", "confidence": 0.9}), SlotSet(name, answer)]
    return DialogueStateTracker.from_events(sender, events, shape.domain.slots)


def stored_rows(store: PrivateSQLTrackerStore, sender: str) -> list[str]:
    with store.session_scope() as session:
        return [row.data for row in session.query(store.SQLEvent).filter_by(sender_id=sender).order_by(store.SQLEvent.id)]


def test_rasa_loads_the_store_from_endpoints_yml_with_its_options(tmp_path, monkeypatch):
    monkeypatch.setenv("SETTLE_ACTION_TOKEN", "endpoints-test-token")  # endpoints.yml names it; Rasa expands it
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(tmp_path / "trackers.db")

    store = create_tracker_store(config, PROJECT_DOMAIN)

    assert isinstance(store, PrivateSQLTrackerStore)  # not the in-memory store Rasa falls back to
    assert store.engine.url.database == str(tmp_path / "trackers.db")


async def test_no_card_number_and_no_secret_answer_is_written(options, shape):
    store, sender = PrivateSQLTrackerStore(domain=shape.domain, **options), f"storage-test-{uuid.uuid4().hex}"
    tracker = verification(sender, shape)

    await store.save(tracker)

    rows = stored_rows(store, sender)
    assert len(rows) == len(tracker.events)
    written = "\n".join(rows)
    for secret in [CARD, CARD.replace(" ", ""), *(ANSWERS[name] for name in shape.secrets)]:
        assert secret not in written
    events = [json.loads(row) for row in rows]
    assert [event["text"] for event in events if event["event"] == "user"] == (
        [f"my card is {CARD_NUMBER_REMOVED}", "what is my balance", "50000017"] + [ANSWER_REMOVED] * len(shape.secrets)
    )
    assert {event["name"]: event["value"] for event in events if event["event"] == "slot"} == {
        "requested_slot": shape.secrets[-1], "customer_number": "50000017", **{name: ANSWER_REMOVED for name in shape.secrets},
    }


async def test_the_file_holds_no_secret_either(tmp_path, shape):
    path = tmp_path / "trackers.db"
    store = PrivateSQLTrackerStore(domain=shape.domain, dialect="sqlite", db=str(path))

    await store.save(verification("conversation-1", shape))

    written = path.read_bytes()
    for secret in [CARD, CARD.replace(" ", ""), *(ANSWERS[name] for name in shape.secrets)]:
        assert secret.encode() not in written


async def test_the_answers_come_back_for_the_next_turn_in_this_process_only(options, shape):
    store, sender = PrivateSQLTrackerStore(domain=shape.domain, **options), f"storage-test-{uuid.uuid4().hex}"
    await store.save(verification(sender, shape))

    retrieved = await store.retrieve(sender)
    assert retrieved is not None
    assert {name: retrieved.get_slot(name) for name in shape.secrets} == {name: ANSWERS[name] for name in shape.secrets}
    assert retrieved.latest_message.text == ANSWER_REMOVED  # what the customer typed stays masked
    assert retrieved.get_slot("customer_number") == "50000017"

    # Rasa's form validates on a tracker it rebuilds from the events: the answers must be there too.
    rebuilt = DialogueStateTracker.from_events(sender, list(retrieved.events), shape.domain.slots)
    assert {name: rebuilt.get_slot(name) for name in shape.secrets} == {name: ANSWERS[name] for name in shape.secrets}

    restarted = await PrivateSQLTrackerStore(domain=shape.domain, **options).retrieve(sender)  # the form asks again
    assert restarted is not None
    assert {name: restarted.get_slot(name) for name in shape.secrets} == {name: None for name in shape.secrets}


async def test_later_turns_are_appended_once_and_cleared_answers_are_forgotten(options, shape):
    store, sender = PrivateSQLTrackerStore(domain=shape.domain, **options), f"storage-test-{uuid.uuid4().hex}"
    await store.save(verification(sender, shape))
    tracker = await store.retrieve(sender)
    assert tracker is not None
    for name in shape.secrets:
        tracker.update(SlotSet(name, None))
    tracker.update(SlotSet("requested_slot", None))
    tracker.update(UserUttered("my other card is 5555-5555-5555-4444", {"name": "inform", "confidence": 0.9}))

    await store.save(tracker)

    rows = [json.loads(row) for row in stored_rows(store, sender)]
    assert len(rows) == len(tracker.events)
    assert rows[-1]["text"] == f"my other card is {CARD_NUMBER_REMOVED}"
    again = await store.retrieve(sender)
    assert again is not None and all(again.get_slot(name) is None for name in shape.secrets)


async def test_with_redis_another_rasa_process_takes_the_next_turn_with_the_answers_for_a_few_minutes(
    options, shape, redis_place, monkeypatch
):
    monkeypatch.setenv("REDIS_URL", redis_place.url)
    process_settings.cache_clear()
    replica_a, replica_b = (PrivateSQLTrackerStore(domain=shape.domain, **options) for _ in range(2))
    sender = f"{redis_place.prefix}-{uuid.uuid4().hex}"
    await replica_a.save(verification(sender, shape))

    tracker = await replica_b.retrieve(sender)

    assert tracker is not None
    assert {name: tracker.get_slot(name) for name in shape.secrets} == {name: ANSWERS[name] for name in shape.secrets}
    kept = redis.Redis.from_url(redis_place.url)
    key = AnswersInRedis.KEY_PREFIX + sender
    assert 0 < kept.ttl(key) <= ANSWER_SECONDS
    written = "\n".join(stored_rows(replica_a, sender))
    assert all(ANSWERS[name] not in written for name in shape.secrets)

    for name in shape.secrets:  # the form checked them and clears them
        tracker.update(SlotSet(name, None))
    await replica_b.save(tracker)

    assert kept.exists(key) == 0
    again = await replica_a.retrieve(sender)
    assert again is not None and all(again.get_slot(name) is None for name in shape.secrets)


class CollectingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


async def test_an_event_broker_gets_the_masked_events_once(tmp_path, shape):
    broker = CollectingBroker()
    store = PrivateSQLTrackerStore(domain=shape.domain, event_broker=broker, dialect="sqlite", db=str(tmp_path / "trackers.db"))
    tracker = verification("conversation-1", shape)

    await store.save(tracker)
    await store.save(tracker)  # nothing new

    assert len(broker.published) == len(tracker.events)
    published = json.dumps(broker.published)
    for secret in [CARD, *(ANSWERS[name] for name in shape.secrets)]:
        assert secret not in published
    assert [event["text"] for event in broker.published if event["event"] == "user"][-1] == ANSWER_REMOVED


# How the bot's turn ended, for the abandoned conversations (settle/insights)

def message(intent: str) -> UserUttered:
    return UserUttered("…", {"name": intent, "confidence": 0.9})


def after_a_greeting(*events) -> DialogueStateTracker:
    """A conversation greeted and answered, then the events of one more turn."""
    return DialogueStateTracker.from_events("turn-test", [
        message("greet"), ActionExecuted("action_extract_slots"), ActionExecuted("utter_greet"), ActionExecuted("action_listen"),
        *events], PROJECT_DOMAIN.slots)


FORM_ASKS = [message("check_balance"), ActionExecuted("action_extract_slots"), ActionExecuted("verify_customer_form"),
             ActiveLoop("verify_customer_form"), SlotSet("requested_slot", "customer_number"),
             BotUttered("What is your customer number?"), ActionExecuted("action_listen")]


@pytest.mark.parametrize("events, ended", [
    (FORM_ASKS, (True, "verify_customer_form:customer_number")),
    ([message("check_balance"), ActionExecuted("action_extract_slots"), ActionExecuted("action_tell_balance"),
      BotUttered("You owe €84.20."), ActionExecuted("action_listen")], (True, None)),
    ([message("nlu_fallback"), ActionExecuted("action_extract_slots"), ActionExecuted("action_handle_fallback"),
      BotUttered("Could you say that differently?"), ActionExecuted("action_listen")], (True, "rephrase")),
    ([message("nlu_fallback"), ActionExecuted("action_extract_slots"), ActionExecuted("action_handle_fallback"),
      ActionExecuted("utter_offer_human"), BotUttered("Shall I get a person?"), ActionExecuted("action_listen")], (True, "offer_human")),
    (FORM_ASKS[:-1] + [message("inform"), ActionExecuted("action_extract_slots"), ActionExecuted("verify_customer_form"),
                       ActiveLoop(None), SlotSet("requested_slot", None), ActionExecuted("action_listen")], (True, None)),
    ([message("EXTERNAL_reminder"), ActionExecuted("action_deliver_reminder"), ActionExecuted("action_listen")], (False, None)),
    ([message("check_balance"), ActionExecuted("action_extract_slots")], (False, None)),
    ([message("check_balance")], (False, None)),
], ids=["form asks", "plain answer", "rephrase", "offer a person", "form done", "Settle's own event", "mid-turn", "just logged"])
def test_the_end_of_the_bots_turn_says_what_it_waits_for(events, ended):
    assert turn_end(after_a_greeting(*events)) == ended


async def test_saving_the_turn_notes_how_it_ended_for_the_figures(tmp_path, monkeypatch):
    url = seeded_sqlite(tmp_path / "settle.db", customers=0, history=False)
    monkeypatch.setenv("DATABASE_URL", url)
    process_settings.cache_clear()
    insights.note_message(unit_of_work(), "turn-test")
    store = PrivateSQLTrackerStore(domain=PROJECT_DOMAIN, dialect="sqlite", db=str(tmp_path / "trackers.db"))

    await store.save(after_a_greeting(*FORM_ASKS))

    with session_factory(url).begin() as session:
        noted = session.get(Conversation, "turn-test")
        assert noted.waiting_for == "verify_customer_form:customer_number" and noted.turn_ended_at is not None
