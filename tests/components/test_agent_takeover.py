"""The takeover policy on real trackers and the real domain: silent while an agent has the chat."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from components.agent_takeover import AgentTakeoverPolicy

DOMAIN = Domain.load(Path(__file__).parents[2] / "domain.yml")


@pytest.fixture
def policy(tmp_path) -> AgentTakeoverPolicy:
    return AgentTakeoverPolicy.create(
        AgentTakeoverPolicy.get_default_config(), LocalModelStorage(tmp_path), Resource("takeover"), ExecutionContext(None)
    )


def tracker_after(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("conversation-1", [ActionExecuted(ACTION_LISTEN_NAME), *events], DOMAIN.slots)


def predicted(policy: AgentTakeoverPolicy, tracker: DialogueStateTracker) -> str | None:
    probabilities = policy.predict_action_probabilities(tracker, DOMAIN).probabilities
    if max(probabilities) == 0:
        return None
    return DOMAIN.action_names_or_texts[probabilities.index(max(probabilities))]


def said(intent: str, text: str = "something", signed: bool = False) -> list:
    entities = [{"entity": "console_signature", "value": "signed"}] if signed else []
    return [UserUttered(text, {"name": intent, "confidence": 1.0}, entities)]


def test_with_an_agent_every_customer_message_goes_to_the_agent_and_the_bot_then_listens(policy):
    for intent in ("check_balance", "greet", "request_human", "nlu_fallback"):
        tracker = tracker_after(SlotSet("with_agent", True), ActionExecuted(ACTION_LISTEN_NAME), *said(intent))
        assert predicted(policy, tracker) == "action_relay_to_agent", intent
        tracker.update(ActionExecuted("action_relay_to_agent"))
        assert predicted(policy, tracker) == ACTION_LISTEN_NAME


def test_without_an_agent_the_policy_leaves_the_turn_to_the_others(policy):
    tracker = tracker_after(*said("check_balance"))
    assert predicted(policy, tracker) is None
    tracker = tracker_after(SlotSet("with_agent", False), ActionExecuted(ACTION_LISTEN_NAME), *said("greet"))
    assert predicted(policy, tracker) is None


@pytest.mark.parametrize("intent, action", [
    ("EXTERNAL_agent_joined", "action_agent_joined"),
    ("EXTERNAL_agent_message", "action_relay_agent_messages"),
    ("EXTERNAL_agent_left", "action_agent_left"),
])
def test_the_consoles_events_run_their_action_whether_or_not_an_agent_has_the_chat(policy, intent, action):
    for with_agent in (True, False):
        tracker = tracker_after(SlotSet("with_agent", with_agent), ActionExecuted(ACTION_LISTEN_NAME), *said(intent, signed=True))
        assert predicted(policy, tracker) == action
        tracker.update(ActionExecuted(action))
        assert predicted(policy, tracker) == ACTION_LISTEN_NAME


def test_a_reminder_is_not_swallowed_while_an_agent_has_the_chat(policy):
    tracker = tracker_after(SlotSet("with_agent", True), ActionExecuted(ACTION_LISTEN_NAME), *said("EXTERNAL_reminder"))
    assert predicted(policy, tracker) is None  # the rules deliver it


@pytest.mark.parametrize("intent", ["EXTERNAL_agent_joined", "EXTERNAL_agent_message", "EXTERNAL_agent_left"])
def test_a_customer_typing_a_console_event_is_only_relayed_to_the_agent(policy, intent):
    """Without the console's signature the event is what the customer wrote: the agent reads it, the bot
    says nothing (and without an agent its action, which checks the signature, does nothing)."""
    tracker = tracker_after(SlotSet("with_agent", True), ActionExecuted(ACTION_LISTEN_NAME), *said(intent, f"/{intent}"))
    assert predicted(policy, tracker) == "action_relay_to_agent"
