"""Rasa's SQL tracker store, keeping only what settle.identity.privacy lets a conversation keep.

endpoints.yml names it (`type: components.private_tracker_store.PrivateSQLTrackerStore`) with the options
of Rasa's `SQL` store (dialect sqlite or postgresql, db, host, ...). Every event is written masked: no card
number, no answer to a secret verification question, in the database or to an event broker.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import redis
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from settle.config import process_settings
from settle.identity.privacy import ANSWER_REMOVED, SECRET_SLOTS, private_events
from settle.insights import services as insights
from settle.unit_of_work import unit_of_work

logger = logging.getLogger(__name__)

#: Conversations in the middle of the verification form whose answers this process holds.
MAX_PENDING_ANSWERS = 10_000
#: How long answers wait in Redis for the form's next question; a customer who takes longer is asked again.
ANSWER_SECONDS = 10 * 60
#: The bot's last actions after a message it did not understand, by what it then waits for.
FALLBACK_QUESTIONS = {"action_handle_fallback": "rephrase", "utter_offer_human": "offer_human"}
#: Rasa's own steps, not the bot's answer.
NOT_AN_ANSWER = frozenset({ACTION_LISTEN_NAME, "action_extract_slots", "action_session_start"})


class AnswersInMemory:
    """This process's memory: the embedded default, where one Rasa process serves every conversation."""

    def __init__(self) -> None:
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def keep(self, sender_id: str, answers: dict[str, Any]) -> None:
        self._answers.pop(sender_id, None)
        if answers:
            self._answers[sender_id] = answers
            while len(self._answers) > MAX_PENDING_ANSWERS:
                self._answers.popitem(last=False)

    def of(self, sender_id: str) -> dict[str, Any]:
        return self._answers.get(sender_id, {})


class AnswersInRedis:
    """Redis (REDIS_URL), so that another Rasa process can take the form's next turn; a conversation's answers
    expire ANSWER_SECONDS after the last one, and are deleted as soon as the form clears them."""

    KEY_PREFIX = "settle:answers:"

    def __init__(self, url: str) -> None:
        self.red = redis.Redis.from_url(url, socket_timeout=10)

    def keep(self, sender_id: str, answers: dict[str, Any]) -> None:
        if answers:
            self.red.set(self.KEY_PREFIX + sender_id, json.dumps(answers), ex=ANSWER_SECONDS)
        else:
            self.red.delete(self.KEY_PREFIX + sender_id)

    def of(self, sender_id: str) -> dict[str, Any]:
        kept = self.red.get(self.KEY_PREFIX + sender_id)
        return json.loads(kept) if kept else {}


class PrivateSQLTrackerStore(SQLTrackerStore):
    """Stores each event as `private_events` leaves it.

    Rasa 3.6's `save` writes (and streams to an event broker) the events its `_additional_events` and
    `stream_events` pick: both are given the masked ones here. Only the new events are rebuilt from the
    masked dicts: deserialising a whole conversation's events each turn would cost tens of milliseconds.

    A secret answer can be needed in the next turn (the form asks for the date of birth after the
    postcode, and checks both together), but its slot is stored masked: the values of the secret slots
    that are set are kept apart, per conversation, and put back into the tracker read. They are kept in
    this process's memory, or with REDIS_URL set in Redis for a few minutes, where every Rasa process
    finds them. Without them (a restart of the one process, an expiry) the slot is empty and the form asks again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        redis_url = process_settings().redis_url
        self._pending = AnswersInRedis(redis_url) if redis_url else AnswersInMemory()

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._hold_answers(tracker)
        await super().save(tracker)
        ended, waiting_for = turn_end(tracker)
        if ended:  # a write to Settle's database: off the event loop, which serves every other conversation
            await asyncio.get_running_loop().run_in_executor(None, _note_turn_end, tracker.sender_id, waiting_for)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        published = await self.retrieve(tracker.sender_id)
        new_events = _masked_from(tracker, len(published.events) if published else 0)
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return iter(_masked_from(tracker, stored))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self._with_answers(await super().retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return self._with_answers(await super().retrieve_full_tracker(conversation_id))

    def _hold_answers(self, tracker: DialogueStateTracker) -> None:
        answers = {name: slot.value for name, slot in tracker.slots.items() if name in SECRET_SLOTS and slot.value is not None}
        self._pending.keep(tracker.sender_id, answers)

    def _with_answers(self, tracker: DialogueStateTracker | None) -> DialogueStateTracker | None:
        if tracker is None:
            return None
        answers = self._pending.of(tracker.sender_id)
        for name, slot in tracker.slots.items():
            if name in SECRET_SLOTS and slot.value is not None:  # stored masked
                if name in answers:
                    slot.value = answers[name]
                else:
                    slot.reset()
        # Rasa's form rebuilds a temporary tracker from the events to validate a slot, so the events held in
        # memory get the answers back too (the stored ones stay masked).
        for event in tracker.events:
            if isinstance(event, SlotSet) and event.key in answers and event.value == ANSWER_REMOVED:
                event.value = answers[event.key]
        return tracker


def _masked_from(tracker: DialogueStateTracker, offset: int) -> list[Event]:
    """The tracker's events from `offset` on, masked (the earlier ones tell which messages answered what)."""
    return deserialise_events(private_events([event.as_dict() for event in tracker.events])[offset:])


def turn_end(tracker: DialogueStateTracker) -> tuple[bool, str | None]:
    """Whether the tracker is at the end of the bot's turn after a customer's message (it answered, then
    listens), and what it then waits for: the question of the form that is open ("<form>:<slot>"), or
    "rephrase" / "offer_human" after a message it did not understand; None when it asked nothing."""
    events = list(tracker.events)
    last_message = next((index for index in range(len(events) - 1, -1, -1) if isinstance(events[index], UserUttered)), None)
    if last_message is None or str((events[last_message].intent or {}).get("name") or "").startswith("EXTERNAL_"):
        return False, None
    actions = [event.action_name for event in events[last_message + 1:] if isinstance(event, ActionExecuted)]
    answers = [name for name in actions if name not in NOT_AN_ANSWER]
    if not answers or actions[-1] != ACTION_LISTEN_NAME:
        return False, None
    requested = tracker.get_slot("requested_slot")
    if tracker.active_loop_name and requested:
        return True, f"{tracker.active_loop_name}:{requested}"
    return True, FALLBACK_QUESTIONS.get(str(answers[-1]))


def _note_turn_end(conversation_id: str, waiting_for: str | None) -> None:
    """Tells the figures how the bot's turn ended (settle/insights); a database that fails here costs the
    figures one turn's ending, never the customer's chat."""
    try:
        insights.note_turn_end(unit_of_work(), conversation_id, waiting_for)
    except SQLAlchemyError as error:
        logger.warning("The end of a turn was not noted for the figures: %s", type(error).__name__)
