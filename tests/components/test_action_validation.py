"""Settle's check of action-server answers gives Rasa's verdicts, error type and hint."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from components import action_validation

ANSWERS = [
    {"events": [{"event": "slot", "name": "with_agent", "value": True}], "responses": [{"text": "hi"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "active_loop", "name": None}]},
    {},
]
WRONG_ANSWERS = [
    {"events": "not a list"},
    {"responses": [42]},
    {"events": [{"event": "slot", "name": 42}]},
]


@pytest.fixture
def installed(monkeypatch):
    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)  # undone after the test
    action_validation.install()
    return original


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_valid_answer_passes_as_with_rasas_own_check(installed, answer):
    action = RemoteAction("action_relay_to_agent", None)
    assert installed(action, answer) is True
    assert action._validate_action_result(answer) is True


@pytest.mark.parametrize("answer", WRONG_ANSWERS)
def test_a_wrong_answer_is_refused_as_rasa_refuses_it(installed, answer):
    action = RemoteAction("action_relay_to_agent", None)
    with pytest.raises(ValidationError):
        installed(action, answer)
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result(answer)
    assert "Failed to validate Action server response" in refused.value.message
