"""Each customer message as the bot understood it, kept for the designers' review and the understanding
figures: noted by the action that runs after every message, with personal data replaced by placeholders
before it is stored (settle/identity/privacy.py). Nothing here knows Rasa: the action passes plain values."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from settle.identity.privacy import PLACEHOLDERS, mask_personal_data
from settle.models import Conversation, ConversationMessage, Customer


@dataclass(frozen=True)
class Understood:
    """What NLU made of one customer message, and what the bot did about the one before."""

    text: str
    intent: str | None
    confidence: float | None
    #: As NLU gives them: {"entity": "amount", "value": ..., "start": 12, "end": 20}.
    entities: tuple[dict[str, Any], ...] = ()
    #: The conversation's language after this message.
    language: str | None = None
    #: The message answered a secret verification question (postcode, date of birth): its words are not kept.
    answered_secret: bool = False
    #: The bot's actions in reply to the conversation's previous customer message (None: not known).
    actions_before: tuple[str, ...] | None = None
    #: The customer the chat proved to be, whose names are masked too.
    customer_id: int | None = None


def note_understood(session: Session, conversation_id: str, now: datetime, understood: Understood, this_year: int) -> None:
    """Keeps the message (the conversation's row counts it already) masked, and the previous message's actions;
    the conversation's language becomes the message's."""
    position = session.execute(
        select(Conversation.messages).where(Conversation.conversation_id == conversation_id)
    ).scalar_one()
    if understood.actions_before is not None and position > 1:
        session.execute(
            update(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation_id, ConversationMessage.position == position - 1,
                   ConversationMessage.actions.is_(None))
            .values(actions=list(understood.actions_before))
            .execution_options(synchronize_session=False)
        )
    if understood.language:
        session.execute(
            update(Conversation).where(Conversation.conversation_id == conversation_id)
            .values(language=understood.language).execution_options(synchronize_session=False)
        )
    names = _names(session, understood.customer_id)
    if understood.answered_secret:
        text, entities = PLACEHOLDERS["verification_answer"], []
    else:
        text = mask_personal_data(understood.text, this_year, names)
        entities = [_masked_entity(entity, understood.text, this_year, names) for entity in understood.entities
                    if isinstance(entity, dict) and entity.get("entity")]
    session.add(ConversationMessage(
        conversation_id=conversation_id, position=position, received_at=now, text=text, language=understood.language,
        intent=understood.intent or None, confidence=understood.confidence, entities=entities, actions=None,
    ))
    session.flush()


def _names(session: Session, customer_id: int | None) -> tuple[str, ...]:
    if customer_id is None:
        return ()
    found = session.execute(select(Customer.first_name, Customer.last_name).where(Customer.id == customer_id)).one_or_none()
    return tuple(found) if found else ()


def _masked_entity(entity: dict[str, Any], text: str, this_year: int, names: tuple[str, ...]) -> dict[str, str]:
    """The entity's name, and the words it was read from (masked like the message), else its value."""
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        words = text[start:end]
    else:
        words = str(entity.get("value", ""))
    return {"entity": str(entity["entity"]), "value": mask_personal_data(words, this_year, names)}
