"""A message sent again is answered again, never handled twice: exactly once per message id, across replicas.

A Rasa replica that dies after saving a turn but before its answer left (killed, out of memory) leaves the
client without a reply; the client (or HAProxy, `retry-on empty-response`) sends the same message again, and the
other replica would take it as a new one: a second user turn stored, its actions run twice (a second payment
link, a second escalation). Rasa gives every message an id (`UserMessage.message_id`, stored on its `user`
event); Settle's channels take the client's (`message_id` on REST and in a socket.io message's data, checked by
channels/door.py), so a resend carries the same id. Under the conversation's lock, before the message is logged,
the tracker is searched for a `user` event with that id: if there is one, nothing is run or stored and the
replies that followed it are said again. Turns and fallbacks are counted here too (settle/metrics.py), once.

Rasa 3.6's `MessageProcessor.handle_message` is replaced by the same steps with that check between fetching the
tracker and logging the message (`install`, from components/rasa_main.py).
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.data import TrainingType

from settle import metrics

logger = logging.getLogger(__name__)
NLU_FALLBACK = "nlu_fallback"


def replies_already_given(tracker: DialogueStateTracker, message_id: str | None) -> list[BotUttered] | None:
    """What the bot said after the message with this id, if the conversation already holds it; None if it doesn't
    (a new message). Searched from the end: a resend comes right after the message it repeats."""
    if not message_id:
        return None
    events = list(tracker.events)
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        if isinstance(event, UserUttered) and event.message_id == message_id:
            replies = []
            for later in events[position + 1:]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    replies.append(later)
            return replies
    return None


async def handle_message_once(self: MessageProcessor, message: UserMessage) -> list[dict[str, Any]] | None:
    """Rasa 3.6's `MessageProcessor.handle_message`, but a message the conversation already holds is answered with
    the replies it got then, and neither logged nor acted upon again."""
    tracker = await self.fetch_tracker_and_update_session(message.sender_id, message.output_channel, message.metadata)
    replies = replies_already_given(tracker, message.message_id)
    if replies is not None:
        logger.info("Message %s of conversation %s was already handled: its %d replies are said again",
                    message.message_id, message.sender_id, len(replies))
        if message.output_channel is not None:
            for reply in replies:
                await message.output_channel.send_response(message.sender_id, reply.message())
    else:
        await self._handle_message_with_tracker(message, tracker)
        count_turn(tracker, message.input_channel)
        if self.model_metadata.training_type == TrainingType.NLU:
            await self.save_tracker(tracker)
            return None
        tracker = await self.run_action_extract_slots(message.output_channel, tracker)
        await self._run_prediction_loop(message.output_channel, tracker)
        await self.run_anonymization_pipeline(tracker)
        await self.save_tracker(tracker)
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


def count_turn(tracker: DialogueStateTracker, channel: str | None) -> None:
    """Settle's turn and fallback counters (settle/metrics.py), once per message: a resent one is not counted."""
    metrics.TURNS.labels(channel=channel or "unknown").inc()
    if tracker.latest_message is not None and tracker.latest_message.intent.get("name") == NLU_FALLBACK:
        metrics.FALLBACKS.labels(channel=channel or "unknown").inc()


def install() -> None:
    """Replaces the processor's message handling; called once when the Rasa server starts (components/rasa_main.py)."""
    MessageProcessor.handle_message = handle_message_once  # type: ignore[method-assign]
