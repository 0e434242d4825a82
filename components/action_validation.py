"""Rasa 3.6 checks every action-server answer with `jsonschema.validate`, which first re-checks the schema
itself against its meta-schema: about 60 ms of CPU per action call on the server's event loop, half of
its time under load. Here the answers are checked with a validator built once: same schema, same errors.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction


@lru_cache(maxsize=1)
def _validator():
    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)
    return validator_class(spec)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _validator().validate(result)
    except ValidationError as error:  # the same exception and hint as Rasa's own check
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            "Action endpoint is valid."
        )
        raise
    return True


def install() -> None:
    """Replaces RemoteAction's check; called once when the Rasa server starts (components/rasa_main.py)."""
    RemoteAction._validate_action_result = _validate_action_result
