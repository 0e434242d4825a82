"""What every customer channel checks before a message reaches Rasa, the same on REST and socket.io.

Rasa's NLU takes time quadratic in a message's words and stores whatever is typed, so the door cleans
the text (no lone surrogates, control or invisible format characters; a blank message goes no further), refuses messages over 2,000 characters with a polite
answer (Rasa never sees them, nobody else waits for them), and replaces card numbers before anything
stores them, warning the customer every time. It also says whose conversation a client may write into.

What the door says itself comes from domain.yml, in the page's language (the widget sends it with every
message) or else the language the message asks for or is clearly written in; English otherwise. The door
doesn't read the conversation's `language` slot: the message never reaches Rasa.
"""
from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from settle.config import process_settings
from settle.identity import conversations
from settle.identity import language as languages
from settle.identity.privacy import mask_card_numbers
from settle.identity.verification import verify_app_token
from settle.outreach import texts
from settle.unit_of_work import unit_of_work

MAX_MESSAGE_CHARACTERS = 2000
#: The longest message id a client may give (a UUID is 32 to 36 characters).
MAX_MESSAGE_ID_CHARACTERS = 100
#: Lone surrogates (a JSON "\ud800" decodes to one), control characters other than tab and newline, and
#: invisible format characters (zero-width, bidi overrides: "\u200b\u200c" alone reads as "affirm" to the NLU).
UNPRINTABLE_CATEGORIES = ("Cs", "Cc", "Cf")
#: The start of a refused message is plenty to tell its language.
LANGUAGE_SAMPLE_CHARACTERS = 500


@dataclass(frozen=True)
class Checked:
    """A message after the door: `text` goes on to Rasa unless `refused`; `answers` are said first."""

    text: str
    answers: list[str] = field(default_factory=list)
    refused: bool = False


def check_message(text: str, page_language: object = None) -> Checked:
    """The message as Rasa may see it, and what the door answers itself (in the page's language, when given)."""
    if len(text) > MAX_MESSAGE_CHARACTERS:
        language = answer_language(text[:LANGUAGE_SAMPLE_CHARACTERS], page_language)
        return Checked("", [texts.render("utter_message_too_long", {}, language=language)], refused=True)
    cleaned = "".join(
        character for character in text
        if character in "\t\n" or unicodedata.category(character) not in UNPRINTABLE_CATEGORIES
    )
    if not cleaned.strip():  # Rasa's NLU fails on a message with no text at all: nothing to answer
        return Checked("", refused=True)
    masked, found = mask_card_numbers(cleaned)
    if not found:
        return Checked(masked)
    return Checked(masked, [texts.render("utter_no_card_numbers", {}, language=answer_language(masked, page_language))])


def warm_up() -> None:
    """Loads what the door's answers need (the language detector's models, the texts) when a channel starts, so that
    the first refused message neither waits for them nor holds up everyone else's."""
    languages.warm_up()
    texts.render("utter_message_too_long", {}, language=languages.DEFAULT_LANGUAGE)


def answer_language(text: str, page_language: object) -> str:
    """The language of the door's own answer: the page's, else one the message asks for or clearly is, else English."""
    return (
        languages.supported(page_language) or languages.requested_language(text) or languages.detected_language(text)
        or languages.DEFAULT_LANGUAGE
    )


def page_language(metadata: object) -> object:
    """The page's or app's language the client sent with the message (checked by answer_language)."""
    return metadata.get("language") if isinstance(metadata, dict) else None


def message_id(value: object) -> str | None:
    """The client's id for its message, when usable (printable, not too long): a message sent again with the same
    id is answered, not handled twice (components/resent_messages.py). None otherwise: Rasa makes one up."""
    if isinstance(value, str) and 0 < len(value) <= MAX_MESSAGE_ID_CHARACTERS and value.isprintable():
        return value
    return None


def with_client(metadata: dict[str, Any], client: str | None) -> dict[str, Any]:
    """The metadata with the address the message came from (throttling is per source); a client can't set it."""
    return {**metadata, "client": client or "unknown"}


@cache
def _conversation_key() -> bytes:
    return conversations.key_for(process_settings())


def issue_conversation() -> str:
    """A new signed conversation id."""
    return conversations.issue(_conversation_key())


def is_issued(conversation_id: object) -> bool:
    """Whether Settle issued this conversation id."""
    return conversations.is_issued(_conversation_key(), conversation_id)


async def may_write(sender: str, metadata: dict[str, Any]) -> bool:
    """A client may write into a conversation Settle issued, or into its own with a valid app token."""
    if is_issued(sender):
        return True
    token = metadata.get("auth_token")
    return isinstance(token, str) and bool(token) and await asyncio.to_thread(_valid_app_token, token)


def _valid_app_token(token: str) -> bool:
    uow = unit_of_work()
    with uow:
        return verify_app_token(uow.session, token, uow.settings.app_token_secret, uow.clock.now()) is not None
