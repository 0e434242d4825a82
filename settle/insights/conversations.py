"""Conversations as the figures count them: noted at each customer message, and when the chat proves who it is.

Rasa's tracker store keeps the messages themselves; this is the one row per chat that containment needs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from settle.models import Conversation


def note_message(session: Session, conversation_id: str, now: datetime) -> None:
    """One more customer message in this chat; its first message starts it."""
    counted = session.execute(
        update(Conversation)
        .where(Conversation.conversation_id == conversation_id)
        .values(messages=Conversation.messages + 1, last_message_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted:
        return
    try:
        with session.begin_nested():
            session.add(Conversation(conversation_id=conversation_id, started_at=now, last_message_at=now, messages=1))
    except IntegrityError:  # the same chat's first message noted at the same moment by another process
        note_message(session, conversation_id, now)


def note_verified(session: Session, conversation_id: str, customer_id: int, now: datetime) -> None:
    """The chat proved to be this customer's (the first time counts; a chat not noted yet starts here)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        conversation = Conversation(conversation_id=conversation_id, started_at=now, last_message_at=now, messages=0)
        session.add(conversation)
    if conversation.verified_at is None:
        conversation.customer_id, conversation.verified_at = customer_id, now
    session.flush()


def note_turn_end(session: Session, conversation_id: str, now: datetime, waiting_for: str | None) -> None:
    """The bot's turn after the chat's latest customer message ended, waiting for `waiting_for` (None: for
    nothing); a chat not noted (only Settle's own events so far) has no row to note it on."""
    session.execute(
        update(Conversation)
        .where(Conversation.conversation_id == conversation_id)
        .values(turn_ended_at=now, waiting_for=waiting_for)
        .execution_options(synchronize_session=False)
    )
