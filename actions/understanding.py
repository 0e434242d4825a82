"""What NLU made of the latest message, as plain values for Settle's conversation review (settle never
reads Rasa's trackers)."""
from __future__ import annotations

from rasa_sdk import Tracker

from settle.identity.privacy import SECRET_SLOTS
from settle.insights.messages import Understood

#: Rasa's own steps, not the bot's answer.
NOT_AN_ANSWER = frozenset({"action_listen", "action_extract_slots", "action_session_start"})


def understood(tracker: Tracker, language: str | None, customer_id: int | None) -> Understood:
    """The latest message's text, intent, confidence and entities, and the bot's actions after the message before."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    confidence = intent.get("confidence")
    return Understood(
        text=message.get("text") or "",
        intent=intent.get("name"),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        entities=tuple(entity for entity in message.get("entities") or () if isinstance(entity, dict)),
        language=language,
        answered_secret=tracker.get_slot("requested_slot") in SECRET_SLOTS,
        actions_before=_actions_before(tracker.events),
        customer_id=customer_id,
    )


def _actions_before(events: list[dict]) -> tuple[str, ...] | None:
    """The actions after the previous customer message, up to the next message (a customer's, or one of
    Settle's own events such as a reminder); None when there was no customer message before."""
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    customers = [index for index in users[:-1] if not _intent(events[index]).startswith("EXTERNAL_")]
    if not customers:
        return None
    previous = customers[-1]
    following = next(index for index in users if index > previous)
    return tuple(
        str(event.get("name")) for event in events[previous + 1:following]
        if event.get("event") == "action" and event.get("name") not in NOT_AN_ANSWER
    )


def _intent(event: dict) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")
