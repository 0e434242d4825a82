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


# -- Personal data in the messages kept for the designers' review ----------------------------------------

#: What stands in a kept message for each kind of personal data (shown on the review page).
PLACEHOLDERS = {
    "card_number": "<card_number>",
    "email": "<email>",
    "phone": "<phone>",
    "customer_number": "<customer_number>",
    "date_of_birth": "<date_of_birth>",
    "postcode": "<postcode>",
    "name": "<name>",
    "verification_answer": "<verification_answer>",
}
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
#: Belgian phone numbers: +32 or 0032 or 0, then 8 or 9 digits, in groups.
_PHONE = re.compile(r"(?<![\w+])(?:\+32|0032|0)(?:[\s./\-]?\d){8,9}(?!\d)")
#: Eight digits starting with 5, alone or in groups ("50000017", "5000 0017", "5000.0017").
_CUSTOMER_NUMBER = re.compile(r"(?<![\d.\-])5(?:[ .\-]?\d){7}(?![\d]|[.\-]\d)")
#: A day, month and four-digit year: 14/02/1985, 14-2-1985, 14.02.1985, 1985-02-14, 14 februari 1985.
_NUMERIC_DATE = re.compile(r"(?<!\d)(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?P<year>\d{4})|(?P<iso_year>\d{4})-\d{1,2}-\d{1,2})(?!\d)")
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "januari|februari|maart|mei|juni|juli|augustus|oktober|"
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"
)
_WRITTEN_DATE = re.compile(rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th|er)?\s+(?:{_MONTHS})\s+(?P<year>\d{{4}})(?!\d)", re.IGNORECASE)
#: A Belgian postcode: four digits from 1000, not an amount ("1000 euros", "€ 1000") nor part of a longer number.
_POSTCODE = re.compile(r"(?<![\d€$.,/\-])[1-9]\d{3}(?![\d.,]*\s*(?i:€|eur|euro|euros|e\b|%))(?![\d/\-]|[.,]\d)")
#: A year after a month ("december 2025") is no postcode.
_AFTER_MONTH = re.compile(rf"(?i:\b(?:{_MONTHS}))\s+$")
#: "my name is Emma Peeters", "ik ben Emma", "je m'appelle Emma": the capitalised words that follow.
_NAME_GIVEN = re.compile(
    r"(?P<lead>\b(?i:my name is|i am|i'm|ik ben|mijn naam is|ik heet|je suis|je m'appelle|je m’appelle|mon nom est)\s+)"
    r"(?P<name>[A-ZÀ-Ý][\w'’\-]+(?:\s+(?:(?:van|de|der|den|le|la|du|des)\s+)?[A-ZÀ-Ý][\w'’\-]+)*)"
)
#: A date with a year this many years ago or more is taken for a date of birth; a nearer one is kept (a due date).
BIRTH_YEARS_AGO = 14


def mask_personal_data(text: str, this_year: int, names: tuple[str, ...] = ()) -> str:
    """The text with personal data replaced by PLACEHOLDERS: card numbers (also as the chat's door already
    removed them), e-mail addresses, phone numbers, customer numbers, dates of birth (a date whose year is
    BIRTH_YEARS_AGO years ago or more), postcodes, the given `names` (the verified customer's) and a name
    someone gives ("my name is ..."). It errs on the side of masking: "bill 2025" loses its year as a postcode."""
    text, _ = mask_card_numbers(text or "")
    text = text.replace(CARD_NUMBER_REMOVED, PLACEHOLDERS["card_number"])
    text = _EMAIL.sub(PLACEHOLDERS["email"], text)
    text = _PHONE.sub(PLACEHOLDERS["phone"], text)
    text = _CUSTOMER_NUMBER.sub(PLACEHOLDERS["customer_number"], text)

    def birth_date(found: re.Match[str]) -> str:
        year = int(found.group("year") or found.groupdict().get("iso_year") or 0)
        return PLACEHOLDERS["date_of_birth"] if year <= this_year - BIRTH_YEARS_AGO else found.group()

    text = _NUMERIC_DATE.sub(birth_date, text)
    text = _WRITTEN_DATE.sub(birth_date, text)
    text = _POSTCODE.sub(
        lambda found: found.group() if _AFTER_MONTH.search(text[:found.start()]) else PLACEHOLDERS["postcode"], text
    )
    for name in sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", PLACEHOLDERS["name"], text, flags=re.IGNORECASE)
    text = _NAME_GIVEN.sub(lambda found: found.group("lead") + PLACEHOLDERS["name"], text)
    return re.sub(rf"{PLACEHOLDERS['name']}(?:\s+{PLACEHOLDERS['name']})+", PLACEHOLDERS["name"], text)
