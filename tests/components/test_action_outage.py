"""An action server that can't be reached gets the customer an apology in their language, once a turn."""
from __future__ import annotations

import asyncio

from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from components.action_outage import APOLOGY, run_or_apologise
from settle.outreach import texts
from tests.conftest import free_port

DOMAIN = Domain.load("domain.yml")


def run_unreachable_action(tracker: DialogueStateTracker) -> list:
    action = RemoteAction("action_show_balance", EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook"))
    return asyncio.run(run_or_apologise(action, CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses),
                                        tracker, DOMAIN))


def test_a_customer_whose_action_server_is_down_is_asked_to_try_again_in_a_moment():
    tracker = DialogueStateTracker.from_events("someone", [UserUttered("how much do I owe?")], slots=DOMAIN.slots)

    said = run_unreachable_action(tracker)

    assert [type(event) for event in said] == [BotUttered]
    assert said[0].text == texts.render(APOLOGY, {}) and said[0].metadata["utter_action"] == APOLOGY


def test_in_the_conversations_language():
    tracker = DialogueStateTracker.from_events("someone", [SlotSet("language", "nl"), UserUttered("wat moet ik betalen?")],
                                               slots=DOMAIN.slots)

    assert run_unreachable_action(tracker)[0].text == texts.render(APOLOGY, {}, language="nl")


def test_only_once_a_turn_however_many_actions_fail():
    tracker = DialogueStateTracker.from_events("someone", [UserUttered("hi")], slots=DOMAIN.slots)
    tracker.update(run_unreachable_action(tracker)[0])

    assert run_unreachable_action(tracker) == []
    tracker.update(UserUttered("and now?"))
    assert len(run_unreachable_action(tracker)) == 1
