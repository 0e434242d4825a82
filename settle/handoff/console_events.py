"""The console's events in a chat (EXTERNAL_agent_joined/message/left) are signed like chat reminders: a
customer who types `/EXTERNAL_agent_left` sends the intent but not a signature, and nothing happens."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from settle.config import Settings
from settle.signing import link_secret, sign, signature_matches

#: How long a console event's signature holds: Rasa runs it at once, or it is stale.
CONSOLE_EVENT_LIFETIME = timedelta(minutes=5)
#: The entities the console sends with each event.
SIGNATURE, EXPIRES = "console_signature", "console_expires"


def signed_entities(settings: Settings, now: datetime, intent: str, conversation_id: str) -> dict[str, str]:
    """The entities that make `intent` in this conversation genuine until the lifetime is over."""
    expires = str(int((now + CONSOLE_EVENT_LIFETIME).timestamp()))
    return {SIGNATURE: _signature(settings, intent, conversation_id, expires), EXPIRES: expires}


def is_genuine(settings: Settings, now: datetime, intent: str, conversation_id: str, entities: Mapping[str, str]) -> bool:
    """Whether the console signed this intent for this very conversation, and not too long ago."""
    expires = entities.get(EXPIRES, "")
    fresh = expires.isdigit() and int(expires) > now.timestamp()
    return fresh and signature_matches(link_secret(settings), entities.get(SIGNATURE, ""), "console", intent, conversation_id, expires)


def _signature(settings: Settings, intent: str, conversation_id: str, expires: str) -> str:
    return sign(link_secret(settings), "console", intent, conversation_id, expires)
