"""An action server that can't answer (killed mid-turn, restarting, every replica down) gets the customer a polite
"one moment, ask again" instead of silence.

Rasa 3.6 logs a failed call to the action server and goes on with the action's events lost: the customer hears
nothing, or a reply that makes no sense without them. Behind HAProxy a call that reached a dying action server
is sent to another (`retry-on conn-failure empty-response`, settle/tooling/replicas.py); what still fails (no
action server up, an answer that is an error) ends here. The words are domain.yml's `utter_try_again_shortly`,
in the conversation's language, read as the door reads its own (the trained model need not know them); they are
said once per turn, however many of the turn's actions fail.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from settle.identity import language as languages
from settle.outreach import texts

logger = logging.getLogger(__name__)

APOLOGY = "utter_try_again_shortly"
_run_remote_action = RemoteAction.run


async def run_or_apologise(self: RemoteAction, output_channel: Any, nlg: Any, tracker: DialogueStateTracker, domain: Any) -> list[Event]:
    """RemoteAction.run; when the action server fails, the apology (once a turn) in place of the action's events."""
    try:
        return await _run_remote_action(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:  # a form's validation said no: Rasa's own business
        raise
    except Exception as error:  # noqa: BLE001 - whatever the failure, the customer gets the same words
        logger.warning("The action server did not run %s for conversation %s (%s): said %s", self.name(),
                       tracker.sender_id, error, APOLOGY)
        if apologised_this_turn(tracker):
            return []
        return [apology(tracker)]


def apologised_this_turn(tracker: DialogueStateTracker) -> bool:
    """Whether the apology was already said since the customer's last message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and event.metadata.get("utter_action") == APOLOGY:
            return True
    return False


def apology(tracker: DialogueStateTracker) -> BotUttered:
    language = languages.supported(tracker.get_slot("language")) or languages.DEFAULT_LANGUAGE
    return BotUttered(texts.render(APOLOGY, {}, language=language), metadata={"utter_action": APOLOGY})


def install() -> None:
    """Replaces RemoteAction.run; called once when the Rasa server starts (components/rasa_main.py)."""
    RemoteAction.run = run_or_apologise  # type: ignore[method-assign]
