"""What Settle keeps of a conversation: no card numbers, no answers to the verification's secret questions.

Card numbers are masked wherever customer text is kept (the tracker store, escalation transcripts,
messages relayed to an agent); a postcode or date of birth typed to prove who one is serves once and
is never stored, since together with a customer number it opens the account to whoever reads it.
"""
from __future__ import annotations

import re
from typing import Any

from settle.identity.card_numbers import luhn_valid

DIGITS = re.compile(r"\d+")
#: What may stand between two groups of a card number's digits.
SEPARATOR = re.compile(r"[\s.\-]{1,3}")
CARD_NUMBER_REMOVED = "[card number removed]"
ANSWER_REMOVED = "[verification answer removed]"
APP_TOKEN_REMOVED = "[app token removed]"
#: Where an app puts its signed token in a message's metadata: it verifies anyone who holds it until it expires.
APP_TOKEN_KEY = "auth_token"
#: The verification form's secret questions (`postcode_or_birth_date`: the single question asked before
#: the form asked for both).
SECRET_SLOTS = frozenset({"postcode", "birth_date", "postcode_or_birth_date"})


def mask_card_numbers(text: str) -> tuple[str, bool]:
    """The text with each card number replaced by "[card number removed]", and whether there was one.

    A card number is 13 to 19 digits that pass the Luhn check, typed in groups separated by spaces, dashes
    or dots in any number ("4111 1111 1111 1111", "3782-822463-10005", "4111  1111.1111 1111"), also when
    more digits follow ("4111 1111 1111 1111 12/27"): every run of groups is tried from each group on, the
    longest card number first.
    """
    text = text or ""
    groups = list(DIGITS.finditer(text))
    found: list[tuple[int, int]] = []
    start = 0
    while start < len(groups):
        end = _card_ending_at(text, groups, start)
        if end is None:
            start += 1
            continue
        found.append((groups[start].start(), groups[end].end()))
        start = end + 1
    for begin, finish in reversed(found):
        text = text[:begin] + CARD_NUMBER_REMOVED + text[finish:]
    return text, bool(found)


def _card_ending_at(text: str, groups: list[re.Match[str]], start: int) -> int | None:
    """The last group of the longest card number that begins with groups[start], if one does."""
    digits, index, longest = groups[start].group(), start, None
    while len(digits) <= 19:
        if len(digits) >= 13 and luhn_valid(digits):
            longest = index
        following = index + 1
        if following == len(groups) or not SEPARATOR.fullmatch(text[groups[index].end():groups[following].start()]):
            break
        digits, index = digits + groups[following].group(), following
    return longest


def private_events(events: list[dict]) -> list[dict]:
    """Rasa's serialized events as they may be kept: a user message that answered a secret verification
    question reads "[verification answer removed]", those slots' values too, and card numbers are masked
    in every user message and slot value. An app's token in a message's metadata (also as Rasa copies it to
    the session's start) reads "[app token removed]". The events given are not changed; the result has one
    per event.

    A message answered a secret question when the form was asking one as it arrived, or when a secret slot
    was filled from it (a postcode typed with the customer number).
    """
    answers = _answers(events)
    answered = False  # the latest user message answered a secret question
    kept = []
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            answered = index in answers
            event = _masked_message(event, answered)
        elif kind == "entities":
            event = {**event, "entities": _masked_entities(event.get("entities"), answered)}
        elif kind == "slot" and event.get("name") != "requested_slot":
            secret = event.get("name") in SECRET_SLOTS and event.get("value") is not None
            event = {**event, "value": ANSWER_REMOVED if secret else _without_token(_without_cards(event.get("value")))}
        if "metadata" in event:
            event = {**event, "metadata": _without_token(event["metadata"])}
        kept.append(event)
    return kept


def _answers(events: list[dict]) -> set[int]:
    """The positions of the user messages that answered a secret verification question."""
    asking: Any = None  # the slot the form asks for
    latest: int | None = None  # the latest user message
    answers = set()
    for index, event in enumerate(events):
        kind, name = event.get("event"), event.get("name")
        if kind == "user":
            latest = index
            if asking in SECRET_SLOTS:
                answers.add(index)
        elif kind == "slot" and name == "requested_slot":
            asking = event.get("value")
        elif kind == "slot" and name in SECRET_SLOTS and event.get("value") is not None and latest is not None:
            answers.add(latest)
        elif kind in ("restart", "session_started"):
            asking, latest = None, None
        elif kind == "active_loop" and not name:
            asking = None
    return answers


def _masked_message(event: dict, answered: bool) -> dict:
    """A user event with its text (and what NLU read from it) masked."""
    def text(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return ANSWER_REMOVED if answered else mask_card_numbers(value)[0]

    masked = {**event, "text": text(event.get("text"))}
    parse_data = event.get("parse_data")
    if isinstance(parse_data, dict):
        masked["parse_data"] = {
            **parse_data,
            "text": text(parse_data.get("text")),
            "entities": _masked_entities(parse_data.get("entities"), answered),
        }
        if "metadata" in parse_data:
            masked["parse_data"]["metadata"] = _without_token(parse_data["metadata"])
    return masked


def _masked_entities(entities: Any, answered: bool) -> Any:
    """Entities with their values masked: wholly for a secret answer, else only card numbers."""
    if not isinstance(entities, list):
        return entities
    return [
        {**entity, "value": ANSWER_REMOVED if answered else _without_cards(entity.get("value"))}
        if isinstance(entity, dict) and "value" in entity else entity
        for entity in entities
    ]


def _without_token(metadata: Any) -> Any:
    """Metadata (or the slot Rasa copies it to) without the app's token."""
    if isinstance(metadata, dict) and metadata.get(APP_TOKEN_KEY):
        return {**metadata, APP_TOKEN_KEY: APP_TOKEN_REMOVED}
    return metadata


def _without_cards(value: Any) -> Any:
    """A slot or entity value (text, or lists and dicts of it) with card numbers masked."""
    if isinstance(value, str):
        return mask_card_numbers(value)[0]
    if isinstance(value, list):
        return [_without_cards(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_cards(item) for key, item in value.items()}
    return value
